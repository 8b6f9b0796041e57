/**
 * Name@version of every operator. A version enters the content address of everything the
 * operator writes: bump it whenever its output bytes change, and old outputs stay valid
 * under their old addresses.
 */
export const OPERATOR_VERSIONS = {
  plan: 'plan@2',
  index: 'index@1',
  extract: 'extract@2',
  convert: 'convert@2',
  commit: 'commit@1',
} as const;

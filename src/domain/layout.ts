/**
 * Key layout of the derived bucket. Everything under `objects/` is immutable and named by a
 * content address; `manifests/<id>.json` is the commit marker; `quarantine/<id>.json` records
 * input that can never be processed. The admin role also keeps accelerators it can always
 * rebuild from the manifests: `catalog/snapshot.ndjson.gz` (catalog-snapshot.ts) and
 * `similarity/<table>/` (similarity-index.ts).
 */
export type ObjectKind = 'parts' | 'blobs' | 'tables' | 'plans';

export function objectKey(kind: ObjectKind, address: string, ext: string): string {
  if (!/^[0-9a-f]{64}$/.test(address)) throw new Error(`content address must be 64 hex characters, got ${address}`);
  return `objects/${kind}/${address.slice(0, 2)}/${address}.${ext}`;
}

export const MANIFEST_PREFIX = 'manifests/';
export const QUARANTINE_PREFIX = 'quarantine/';

export function manifestKey(recordingId: string): string {
  return `${MANIFEST_PREFIX}${recordingId}.json`;
}

export function quarantineKey(recordingId: string): string {
  return `${QUARANTINE_PREFIX}${recordingId}.json`;
}

export function recordingIdFromManifestKey(key: string): string | undefined {
  const match = /^manifests\/([0-9a-f]{32})\.json$/.exec(key);
  return match?.[1];
}

export function s3Uri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

declare module 'lz4js' {
  /** LZ4 frame compression (pure JS); used by tests to write lz4 chunks. */
  export function compress(data: Uint8Array): Uint8Array;
  export function decompress(data: Uint8Array, maxSize?: number): Uint8Array;
  const lz4: { compress: typeof compress; decompress: typeof decompress };
  export default lz4;
}

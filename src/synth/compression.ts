import zstd from '@foxglove/wasm-zstd';

export type ChunkCompression = 'zstd' | 'none';

export type CompressChunk = (data: Uint8Array) => { compression: string; compressedData: Uint8Array };

// Level 1 is what the MCAP C++ writer (and so rosbag2's default "Zstd" preset) maps its default
// compression level to; it also keeps generation fast.
const ZSTD_LEVEL = 1;

/**
 * McapWriter calls compressChunk synchronously, but the wasm module loads asynchronously, so the
 * load has to be awaited before the writer is created.
 */
export async function loadChunkCompressor(kind: ChunkCompression): Promise<CompressChunk | undefined> {
  if (kind === 'none') return undefined;
  await zstd.isLoaded;
  return (data) => ({ compression: 'zstd', compressedData: zstd.compress(data, ZSTD_LEVEL) });
}

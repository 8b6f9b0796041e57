/**
 * Reads one blob back through the ObjectStore, the way a reader of a derived table would: a
 * blob reference is `[offset, offset + length)` of the object at `uri`, or — when
 * `chunk_offset` is set (a blob left in place inside a compressed chunk of the raw recording) —
 * of the decompressed records of the chunk at that file offset. So:
 *
 * - packs, or in place in stored-as-is bytes: one exact ranged GET;
 * - in place in a compressed chunk: a ranged GET of the whole Chunk record (its offset and
 *   length come from the plan's segments), its header parsed, the records decompressed, and the
 *   slice taken.
 *
 * Either way the bytes are checked against the reference's sha256. The chunk's CRC is not
 * checked: the blob's own sha256 already proves the slice.
 */
import { createHash } from 'node:crypto';
import type { RecordingPlan } from '../src/domain/plan.ts';
import { decompressChunk } from '../src/mcap/decompress.ts';
import { Opcode, parseChunkHeader, RECORD_PREFIX_BYTES } from '../src/mcap/records.ts';
import type { ObjectStore } from '../src/storage/object-store.ts';

export interface BlobReference {
  uri: string;
  offset: number;
  length: number;
  sha256: string;
  chunkOffset: number | null;
}

export interface BlobRead {
  bytes: Uint8Array;
  /** Bytes fetched from the store for this one blob. */
  fetched: number;
  /** Time in the ranged GET and in decompression (0 when there was none), ms. */
  getMs: number;
  decompressMs: number;
}

function parseUri(uri: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (match === null) throw new Error(`not an s3:// uri: ${uri}`);
  return { bucket: match[1]!, key: match[2]! };
}

/** A blob reference as the BLOB_TYPE struct column holds it (Arrow row → plain numbers), or undefined when the blob is inline. */
export function blobReference(
  row: { uri: string | null; offset: bigint | null; length: bigint; sha256: string | null; chunk_offset: bigint | null } | null,
): BlobReference | undefined {
  if (row === null || row.uri === null || row.offset === null || row.sha256 === null) return undefined;
  return {
    uri: row.uri,
    offset: Number(row.offset),
    length: Number(row.length),
    sha256: row.sha256,
    chunkOffset: row.chunk_offset === null ? null : Number(row.chunk_offset),
  };
}

export async function readBlob(store: ObjectStore, ref: BlobReference, plan: RecordingPlan, maxChunkBytes: number): Promise<BlobRead> {
  const { bucket, key } = parseUri(ref.uri);
  let bytes: Uint8Array;
  let fetched: number;
  let getMs: number;
  let decompressMs = 0;
  if (ref.chunkOffset === null) {
    const started = performance.now();
    bytes = await store.getRange(bucket, key, ref.offset, ref.offset + ref.length, ref.uri.startsWith(`s3://${plan.source.bucket}/`) ? 'span' : 'derived');
    getMs = performance.now() - started;
    fetched = bytes.length;
  } else {
    const segment = plan.spans.flatMap((s) => s.segments).find((s) => s.offset === ref.chunkOffset && s.kind === 'chunk');
    if (segment === undefined) throw new Error(`the plan has no chunk at offset ${ref.chunkOffset}`);
    const started = performance.now();
    const record = await store.getRange(bucket, key, segment.offset, segment.offset + segment.length, 'span');
    getMs = performance.now() - started;
    fetched = record.length;
    const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
    if (record[0] !== Opcode.Chunk) throw new Error(`no Chunk record at ${segment.offset} (opcode ${record[0]})`);
    const end = RECORD_PREFIX_BYTES + Number(view.getBigUint64(1, true));
    const header = parseChunkHeader(record, RECORD_PREFIX_BYTES, end);
    const decompressing = performance.now();
    const records = decompressChunk(header.compression, header.records, header.uncompressedSize, maxChunkBytes);
    decompressMs = performance.now() - decompressing;
    bytes = records.subarray(ref.offset, ref.offset + ref.length);
  }
  if (bytes.length !== ref.length) throw new Error(`blob ${ref.uri}@${ref.offset}: read ${bytes.length} bytes, the reference says ${ref.length}`);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== ref.sha256) throw new Error(`blob ${ref.uri}@${ref.offset}: sha256 ${sha256}, the reference says ${ref.sha256}`);
  return { bytes, fetched, getMs, decompressMs };
}

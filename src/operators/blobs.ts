/**
 * Where large byte arrays (images, point clouds) go when their messages are decoded: rows keep
 * a reference (uri, offset, length, sha256) instead of the bytes. Two ways, chosen by
 * MCAPFLOW_BLOB_STORAGE:
 * - `in-place`: the reference points into the raw recording itself — by file offset when the
 *   bytes are stored as they are, or by chunk offset and offset in the decompressed chunk when
 *   they sit in a compressed chunk. Nothing is copied or written.
 * - `packs`: the bytes are copied into content-addressed pack objects in the derived bucket, so
 *   one image reads back with one exact ranged GET and no decompression.
 */
import { createHash } from 'node:crypto';
import { objectKey, s3Uri } from '../domain/layout.ts';
import type { BlobRef, BlobSink } from '../decode/table-builder.ts';
import type { SegmentRecords } from '../mcap/span-reader.ts';

export type BlobStorage = 'in-place' | 'packs';

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A blob sink that follows the walk: it is told each segment's records before their messages. */
export interface SpanBlobSink extends BlobSink {
  segment(records: SegmentRecords): void;
}

/**
 * References into the raw recording; nothing is copied. A decoder that hands over a copy
 * rather than a view of the message (the generic ros1/protobuf/json paths may) cannot be
 * referenced in place: those blobs go to `fallback`.
 */
export class InPlaceBlobs implements SpanBlobSink {
  readonly #uri: string;
  readonly #fallback: PackedBlobs;
  #segment: SegmentRecords | undefined;

  constructor(recordingUri: string, fallback: PackedBlobs) {
    this.#uri = recordingUri;
    this.#fallback = fallback;
  }

  segment(records: SegmentRecords): void {
    this.#segment = records;
  }

  put(bytes: Uint8Array): BlobRef {
    const segment = this.#segment;
    const inRecords = segment === undefined ? -1 : bytes.byteOffset - segment.records.byteOffset;
    // A view of the records, not a copy that happens to share a pooled ArrayBuffer with them.
    if (segment === undefined || bytes.buffer !== segment.records.buffer || inRecords < 0 || inRecords + bytes.length > segment.records.length)
      return this.#fallback.put(bytes);
    const hash = sha256(bytes);
    return segment.recordsFileOffset === null
      ? { uri: this.#uri, offset: inRecords, length: bytes.length, sha256: hash, chunkOffset: segment.offset }
      : { uri: this.#uri, offset: segment.recordsFileOffset + inRecords, length: bytes.length, sha256: hash, chunkOffset: null };
  }
}

/** A pack is closed at this size and the next one started, bounding what one object holds. */
const BLOB_PACK_BYTES = 64 * 1024 * 1024;

export interface BlobPack {
  key: string;
  pieces: Uint8Array[];
  bytes: number;
}

/** Copies blobs into packs whose keys (content addresses) are known before they are written. */
export class PackedBlobs implements SpanBlobSink {
  readonly packs: BlobPack[] = [];
  readonly #bucket: string;
  readonly #addressOf: (pack: number) => string;

  constructor(bucket: string, addressOf: (pack: number) => string) {
    this.#bucket = bucket;
    this.#addressOf = addressOf;
  }

  segment(): void {
    // Blobs are copied as they come: nothing depends on the segment.
  }

  put(bytes: Uint8Array): BlobRef {
    let pack = this.packs.at(-1);
    if (pack === undefined || (pack.bytes + bytes.length > BLOB_PACK_BYTES && pack.bytes > 0)) {
      pack = { key: objectKey('blobs', this.#addressOf(this.packs.length), 'bin'), pieces: [], bytes: 0 };
      this.packs.push(pack);
    }
    const offset = pack.bytes;
    // The walk releases a segment's bytes once it moves on: keep a copy.
    pack.pieces.push(bytes.slice());
    pack.bytes += bytes.length;
    return { uri: s3Uri(this.#bucket, pack.key), offset, length: bytes.length, sha256: sha256(bytes), chunkOffset: null };
  }
}

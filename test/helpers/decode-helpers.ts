/** Shared pieces of the decoder tests: an in-memory blob sink and Arrow values as plain JS. */
import { createHash } from 'node:crypto';
import * as arrow from 'apache-arrow';
import type { BlobRef, BlobSink } from '../../src/decode/table-builder.ts';

/** Collects blobs in memory and hands out references into one virtual pack at `uri`. */
export class MemoryBlobSink implements BlobSink {
  readonly pieces: Uint8Array[] = [];
  bytes = 0;

  constructor(readonly uri = 'mem://blobs') {}

  put(bytes: Uint8Array): BlobRef {
    const copy = bytes.slice();
    const ref = { uri: this.uri, offset: this.bytes, length: copy.length, sha256: createHash('sha256').update(copy).digest('hex'), chunkOffset: null };
    this.pieces.push(copy);
    this.bytes += copy.length;
    return ref;
  }

  read(offset: number, length: number): Uint8Array {
    return Buffer.concat(this.pieces).subarray(offset, offset + length);
  }
}

/** An Arrow value as plain JS: structs → objects, lists → arrays, bytes → number arrays. */
export function plain(v: unknown): unknown {
  if (v instanceof arrow.Vector) return [...v].map(plain);
  if (v instanceof Uint8Array) return [...v];
  const row = v as { toJSON?: () => object } | null;
  if (row !== null && typeof row === 'object' && typeof row.toJSON === 'function')
    return Object.fromEntries(Object.entries(row.toJSON()).map(([k, x]) => [k, plain(x)]));
  return v;
}

/**
 * IReadable over an object in the store: ranged GETs through a small bounded cache of
 * fetched ranges, with accounting of bytes fetched versus bytes the reader asked for
 * (their ratio is the read amplification of planning).
 */
import type { IReadable } from '@mcap/core';
import { InvalidRecordingError } from '../errors.ts';
import type { ObjectStore, ReadPurpose } from '../storage/object-store.ts';

export interface RangedReadableOptions {
  store: ObjectStore;
  bucket: string;
  key: string;
  size: number;
  purpose: ReadPurpose;
  /** Each miss fetches at least this many bytes (read-ahead). */
  minFetchBytes: number;
  /** Largest single read served; a longer one is refused as a corrupt length. */
  maxReadBytes: number;
  /** Ranges kept in the cache, least recently used evicted. */
  maxCachedRanges?: number;
}

interface CachedRange {
  start: number;
  bytes: Uint8Array;
}

export class RangedReadable implements IReadable {
  readonly #options: RangedReadableOptions;
  readonly #cache: CachedRange[] = [];
  bytesFetched = 0;
  bytesRequested = 0;
  requests = 0;

  constructor(options: RangedReadableOptions) {
    this.#options = options;
  }

  async size(): Promise<bigint> {
    return BigInt(this.#options.size);
  }

  /** Fetches `[size - length, size)` in one request: footer and summary in one tail GET. */
  async prefetchTail(length: number): Promise<void> {
    const start = Math.max(0, this.#options.size - length);
    await this.#fetch(start, this.#options.size);
  }

  /** Fetches `[0, length)` in one request: magic and header, without a read-ahead block. */
  async prefetchHead(length: number): Promise<void> {
    await this.#fetch(0, Math.min(length, this.#options.size));
  }

  async read(offset: bigint, size: bigint): Promise<Uint8Array> {
    const start = Number(offset);
    const length = Number(size);
    const { size: objectSize, maxReadBytes } = this.#options;
    if (length > maxReadBytes) {
      throw new InvalidRecordingError('RECORD_TOO_LARGE', `a read of ${length} bytes at offset ${start} exceeds the ${maxReadBytes}-byte limit`);
    }
    if (start < 0 || start + length > objectSize) {
      throw new InvalidRecordingError('CORRUPT_RECORD', `read of ${length} bytes at offset ${start} is outside the ${objectSize}-byte object`);
    }
    this.bytesRequested += length;
    const end = start + length;
    const hit = this.#cache.find((r) => r.start <= start && r.start + r.bytes.length >= end);
    if (hit) {
      this.#touch(hit);
      return hit.bytes.subarray(start - hit.start, end - hit.start);
    }
    const fetchEnd = Math.min(objectSize, Math.max(end, start + this.#options.minFetchBytes));
    const range = await this.#fetch(start, fetchEnd);
    return range.bytes.subarray(0, length);
  }

  async #fetch(start: number, end: number): Promise<CachedRange> {
    const { store, bucket, key, purpose } = this.#options;
    const bytes = await store.getRange(bucket, key, start, end, purpose);
    this.bytesFetched += bytes.length;
    this.requests += 1;
    const range = { start, bytes };
    this.#cache.unshift(range);
    if (this.#cache.length > (this.#options.maxCachedRanges ?? 8)) this.#cache.pop();
    return range;
  }

  #touch(range: CachedRange): void {
    const index = this.#cache.indexOf(range);
    if (index > 0) {
      this.#cache.splice(index, 1);
      this.#cache.unshift(range);
    }
  }
}

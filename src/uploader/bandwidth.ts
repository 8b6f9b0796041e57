/**
 * Bandwidth limiting for the edge uploader: a token bucket shared by every part body, and the
 * paced stream that sends a body through it in small slices. Pacing slices (not whole 16 MiB
 * parts) keeps the rate smooth on a thin link and accurate for small files.
 */
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import bytes from 'bytes';
import { InvalidInputError } from '../errors.ts';
import type { BodyPacer } from '../storage/object-store.ts';

/** `2MB/s`, `500KB/s`, `1.5MiB`, `65536` (bytes per second; binary units as `bytes` parses them). Empty or 0: unlimited. */
export function parseBandwidth(text: string): number | undefined {
  const trimmed = text.trim().replace(/\/s$/i, '');
  if (trimmed === '' || trimmed === '0') return undefined;
  const value = /^[0-9.]+\s*(b|kb|kib|mb|mib|gb|gib)?$/i.test(trimmed) ? bytes.parse(trimmed.replace(/ib$/i, 'b')) : null;
  if (value === null || !Number.isFinite(value) || value < 1)
    throw new InvalidInputError('BAD_ARGUMENT', `bandwidth ${JSON.stringify(text)} is not a rate such as 2MB/s, 500KB/s or 65536 (bytes per second)`);
  return Math.floor(value);
}

export class TokenBucket {
  readonly bytesPerSecond: number;
  /** Slice size: about 1/20 s of traffic, so the rate is smooth at any limit. */
  readonly sliceBytes: number;
  #tokens = 0;
  #last = performance.now();

  constructor(bytesPerSecond: number) {
    this.bytesPerSecond = bytesPerSecond;
    this.sliceBytes = Math.max(512, Math.min(256 * 1024, Math.floor(bytesPerSecond / 20)));
  }

  /** Waits until `n` bytes (at most one slice) may be sent. Starts empty: no initial burst. */
  async take(n: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      const now = performance.now();
      // Unused allowance is capped at one slice: an idle link does not earn a later burst.
      this.#tokens = Math.min(this.sliceBytes, this.#tokens + ((now - this.#last) / 1000) * this.bytesPerSecond);
      this.#last = now;
      if (this.#tokens >= n) {
        this.#tokens -= n;
        return;
      }
      await sleep(Math.ceil(((n - this.#tokens) / this.bytesPerSecond) * 1000), undefined, signal ? { signal } : {});
    }
  }
}

/**
 * A pacer for ObjectStore.uploadPart: the body in slices, each let through by the bucket (or
 * at once without one). An abort fails the stream, and with it the request in flight, so a
 * stop does not wait for a part on a slow link.
 */
export function pacedBodies(bucket: TokenBucket | undefined, onBytes: (n: number) => void, signal?: AbortSignal): BodyPacer {
  return (body) => {
    const slice = bucket?.sliceBytes ?? 256 * 1024;
    async function* slices() {
      for (let offset = 0; offset < body.length; offset += slice) {
        signal?.throwIfAborted();
        const chunk = body.subarray(offset, Math.min(body.length, offset + slice));
        await bucket?.take(chunk.length, signal);
        onBytes(chunk.length);
        yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
      }
    }
    const stream = Readable.from(slices(), { objectMode: false });
    // An abort ends the stream with an error nobody else listens for (the HTTP client only
    // pipes it); the store aborts the request itself through the same signal.
    stream.on('error', () => {});
    return stream;
  };
}

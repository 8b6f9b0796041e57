import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidRecordingError } from '../../src/errors.ts';
import { RangedReadable, type RangedReadableOptions } from '../../src/mcap/ranged-readable.ts';
import { readIndexFromSummary } from '../../src/mcap/recording-index.ts';
import type { ObjectStore, ReadPurpose } from '../../src/storage/object-store.ts';
import { buildTestRecording, type TestRecording } from '../helpers/mcap-builders.ts';

/**
 * In-memory stand-in for the object store. RangedReadable only ever calls getRange, so that is
 * all this adapter test implements; every call is logged.
 */
class RangeStore {
  readonly calls: { bucket: string; key: string; start: number; end: number; purpose: ReadPurpose }[] = [];
  constructor(readonly bytes: Uint8Array) {}
  async getRange(bucket: string, key: string, start: number, end: number, purpose: ReadPurpose): Promise<Uint8Array> {
    if (start < 0 || end > this.bytes.length || start > end) throw new Error(`bad range ${start}-${end}`);
    this.calls.push({ bucket, key, start, end, purpose });
    return this.bytes.slice(start, end);
  }
  asStore(): ObjectStore {
    return this as unknown as ObjectStore;
  }
}

function pattern(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 7 + (i >> 8)) & 0xff;
  return out;
}

function readableOver(bytes: Uint8Array, overrides: Partial<RangedReadableOptions> = {}): { readable: RangedReadable; store: RangeStore } {
  const store = new RangeStore(bytes);
  const readable = new RangedReadable({
    store: store.asStore(),
    bucket: 'raw',
    key: 'runs/r.mcap',
    size: bytes.length,
    purpose: 'plan',
    minFetchBytes: 1000,
    maxReadBytes: 50_000,
    ...overrides,
  });
  return { readable, store };
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

describe('RangedReadable', () => {
  const bytes = pattern(100_000);

  it('reports the object size and returns exactly the requested bytes', async () => {
    const { readable, store } = readableOver(bytes);
    expect(await readable.size()).toBe(100_000n);
    const got = await readable.read(12_345n, 100n);
    expect(got.length).toBe(100);
    expect(same(got, bytes.subarray(12_345, 12_445))).toBe(true);
    expect(store.calls).toEqual([{ bucket: 'raw', key: 'runs/r.mcap', start: 12_345, end: 13_345, purpose: 'plan' }]);
  });

  it('serves reads inside the prefetched tail without new requests', async () => {
    const { readable, store } = readableOver(bytes);
    await readable.prefetchTail(8192);
    expect(store.calls).toEqual([expect.objectContaining({ start: 100_000 - 8192, end: 100_000 })]);
    const footer = await readable.read(BigInt(100_000 - 37), 37n);
    const summary = await readable.read(BigInt(100_000 - 8000), 7000n);
    expect(same(footer, bytes.subarray(100_000 - 37))).toBe(true);
    expect(same(summary, bytes.subarray(92_000, 99_000))).toBe(true);
    expect(readable.requests).toBe(1);
    expect(store.calls).toHaveLength(1);
  });

  it('clamps the tail prefetch to the object', async () => {
    const { readable, store } = readableOver(bytes.subarray(0, 500));
    await readable.prefetchTail(8192);
    expect(store.calls).toEqual([expect.objectContaining({ start: 0, end: 500 })]);
    expect(same(await readable.read(0n, 500n), bytes.subarray(0, 500))).toBe(true);
    expect(readable.requests).toBe(1);
  });

  it('reads ahead minFetchBytes on a miss and serves the following small reads from it', async () => {
    const { readable, store } = readableOver(bytes);
    await readable.read(0n, 17n);
    await readable.read(17n, 100n);
    await readable.read(500n, 500n);
    expect(store.calls).toHaveLength(1);
    // Past the read-ahead: a new request.
    await readable.read(990n, 20n);
    expect(store.calls).toHaveLength(2);
    expect(store.calls[1]).toMatchObject({ start: 990, end: 1990 });
  });

  it('does not read ahead past the end of the object', async () => {
    const { readable, store } = readableOver(bytes);
    const got = await readable.read(99_990n, 10n);
    expect(same(got, bytes.subarray(99_990))).toBe(true);
    expect(store.calls[0]).toMatchObject({ start: 99_990, end: 100_000 });
  });

  it('counts bytes asked for separately from bytes fetched', async () => {
    const { readable } = readableOver(bytes);
    await readable.read(0n, 10n);
    await readable.read(10n, 10n);
    expect(readable.bytesRequested).toBe(20);
    expect(readable.bytesFetched).toBe(1000);
    await readable.read(5000n, 3000n);
    expect(readable.bytesRequested).toBe(3020);
    expect(readable.bytesFetched).toBe(4000);
    expect(readable.requests).toBe(2);
  });

  it('evicts the least recently used range beyond maxCachedRanges', async () => {
    const { readable, store } = readableOver(bytes, { maxCachedRanges: 2 });
    await readable.read(0n, 10n); // A
    await readable.read(10_000n, 10n); // B
    await readable.read(0n, 10n); // A again: a hit, and now most recent
    expect(store.calls).toHaveLength(2);
    await readable.read(20_000n, 10n); // C evicts B
    await readable.read(0n, 10n); // A still cached
    expect(store.calls).toHaveLength(3);
    await readable.read(10_000n, 10n); // B was evicted
    expect(store.calls).toHaveLength(4);
  });

  function readError(promise: Promise<unknown>): Promise<InvalidRecordingError> {
    return promise.then(
      () => {
        throw new Error('expected the read to fail');
      },
      (error: unknown) => {
        expect(error).toBeInstanceOf(InvalidRecordingError);
        return error as InvalidRecordingError;
      },
    );
  }

  it('refuses a read longer than maxReadBytes as RECORD_TOO_LARGE, without fetching', async () => {
    const { readable, store } = readableOver(bytes, { maxReadBytes: 4096 });
    const error = await readError(readable.read(0n, 4097n));
    expect(error.code).toBe('RECORD_TOO_LARGE');
    expect(error.message).toContain('4096');
    expect(store.calls).toEqual([]);
    expect(readable.bytesRequested).toBe(0);
    expect((await readable.read(0n, 4096n)).length).toBe(4096);
  });

  it('refuses reads outside the object as CORRUPT_RECORD, without fetching', async () => {
    const { readable, store } = readableOver(bytes);
    expect((await readError(readable.read(99_995n, 10n))).code).toBe('CORRUPT_RECORD');
    expect((await readError(readable.read(200_000n, 1n))).code).toBe('CORRUPT_RECORD');
    expect((await readError(readable.read(-1n, 1n))).code).toBe('CORRUPT_RECORD');
    expect(store.calls).toEqual([]);
  });
});

describe('planning a recording through RangedReadable', () => {
  let recording: TestRecording;

  beforeAll(async () => {
    recording = await buildTestRecording({ messagesPerTopic: 1500, chunkSize: 16 * 1024, compression: 'zstd' });
  });

  it('reads the summary with a tail prefetch and a head read, touching a small part of the file', async () => {
    const size = recording.bytes.length;
    const { readable, store } = readableOver(recording.bytes, { minFetchBytes: 1024, maxReadBytes: 1 << 20 });
    await readable.prefetchTail(16 * 1024);
    const result = await readIndexFromSummary(readable);
    expect('index' in result && result.index.segments.length).toBeGreaterThan(3);
    expect(readable.requests).toBeLessThanOrEqual(2);
    expect(readable.bytesFetched).toBeLessThan(size / 2);
    expect(store.calls.every((c) => c.purpose === 'plan')).toBe(true);
  });
});

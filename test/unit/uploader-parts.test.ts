/** The edge uploader's pieces without S3: completion, backoff, bandwidth parsing and the durable queue. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseBandwidth, TokenBucket } from '../../src/uploader/bandwidth.ts';
import { CompletionTracker, type FileSighting } from '../../src/uploader/completion.ts';
import { formatStatus, RateMeter } from '../../src/uploader/status-line.ts';
import { UploadQueue } from '../../src/uploader/upload-queue.ts';
import { backoffDelay } from '../../src/uploader/uploader.ts';

const tmp = mkdtempSync(join(tmpdir(), 'mcapflow-uploader-unit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const seen = (name: string, size = 10, mtimeMs = 1): FileSighting => ({ name, path: `/d/${name}`, size, mtimeMs });

describe('CompletionTracker', () => {
  it('takes a file once unchanged for the stable time, by its own clock', () => {
    let now = 0;
    const tracker = new CompletionTracker({ stableMs: 1000, suffixes: ['.mcap'], now: () => now });
    expect(tracker.observe([seen('a.mcap')])).toEqual([]);
    now = 600;
    expect(tracker.observe([seen('a.mcap', 20, 2)])).toEqual([]); // grew: the clock restarts
    now = 1500;
    expect(tracker.observe([seen('a.mcap', 20, 2)])).toEqual([]);
    now = 1600;
    expect(tracker.observe([seen('a.mcap', 20, 2)]).map((f) => f.name)).toEqual(['a.mcap']);
  });

  it('takes a file renamed from a temporary name at once, never the temporary one, nor other suffixes', () => {
    const now = 0;
    const tracker = new CompletionTracker({ stableMs: 60_000, suffixes: ['.mcap'], now: () => now });
    expect(tracker.observe([seen('x_0.mcap.active'), seen('y.mcap.tmp'), seen('notes.txt')])).toEqual([]);
    expect(tracker.observe([seen('x_0.mcap'), seen('y.mcap.tmp'), seen('notes.txt')]).map((f) => f.name)).toEqual(['x_0.mcap']);
    // A file that merely appears (no temporary name seen before) waits for the stable time.
    expect(tracker.observe([seen('x_0.mcap'), seen('z.mcap')]).map((f) => f.name)).toEqual(['x_0.mcap']);
  });
});

describe('backoffDelay', () => {
  it('doubles from the minimum with jitter in the upper half, up to the cap', () => {
    expect(backoffDelay(1, 1000, 60_000, () => 0)).toBe(500);
    expect(backoffDelay(1, 1000, 60_000, () => 1)).toBe(1000);
    expect(backoffDelay(4, 1000, 60_000, () => 1)).toBe(8000);
    expect(backoffDelay(40, 1000, 60_000, () => 0.5)).toBe(45_000);
  });
});

describe('parseBandwidth', () => {
  it('reads rates with units and rejects anything else by name', () => {
    expect(parseBandwidth('2MB/s')).toBe(2 * 1024 * 1024);
    expect(parseBandwidth('500KB/s')).toBe(500 * 1024);
    expect(parseBandwidth('1.5MiB')).toBe(1.5 * 1024 * 1024);
    expect(parseBandwidth('65536')).toBe(65536);
    expect(parseBandwidth('')).toBeUndefined();
    expect(parseBandwidth('0')).toBeUndefined();
    expect(() => parseBandwidth('fast')).toThrow(/bandwidth "fast" is not a rate/);
    expect(() => parseBandwidth('-1MB/s')).toThrow(/not a rate/);
  });

  it('a token bucket lets a slice through per 1/20 s of the rate, with no initial burst', async () => {
    const bucket = new TokenBucket(100_000);
    expect(bucket.sliceBytes).toBe(5000);
    const start = performance.now();
    for (let i = 0; i < 10; i++) await bucket.take(bucket.sliceBytes);
    const seconds = (performance.now() - start) / 1000;
    expect(seconds).toBeGreaterThan(0.45);
    expect(seconds).toBeLessThan(0.7);
  });
});

describe('UploadQueue', () => {
  it('is on disk after every change and reopens with the same entries', () => {
    const queue = UploadQueue.open(join(tmp, 'state'), '/robot/rec');
    queue.put({ name: 'a.mcap', key: 'r1/a.mcap', size: 5, mtimeMs: 7, state: 'pending', failures: 0 });
    queue.patch('a.mcap', { state: 'confirmed', sha256: 'ab'.repeat(32) });
    const onDisk = JSON.parse(readFileSync(queue.file, 'utf8')) as { entries: { state: string }[] };
    expect(onDisk.entries[0]!.state).toBe('confirmed');
    const reopened = UploadQueue.open(join(tmp, 'state'), '/robot/rec');
    expect(reopened.get('a.mcap')).toMatchObject({ key: 'r1/a.mcap', state: 'confirmed', sha256: 'ab'.repeat(32) });
    reopened.patch('a.mcap', { state: 'cleaned' });
    reopened.prune(() => false);
    expect(UploadQueue.open(join(tmp, 'state'), '/robot/rec').entries()).toEqual([]);
    // Another watched directory has its own queue.
    expect(UploadQueue.open(join(tmp, 'state'), '/robot/other').file).not.toBe(queue.file);
  });

  it('refuses a stored queue it cannot trust, naming the problem', () => {
    const queue = UploadQueue.open(join(tmp, 'bad'), '/robot/rec');
    queue.put({ name: 'a.mcap', key: 'r1/a.mcap', size: 5, mtimeMs: 7, state: 'pending', failures: 0 });
    const good = readFileSync(queue.file, 'utf8');
    writeFileSync(queue.file, '{"version": 1, "dir": "/robot/rec", "entries": [');
    expect(() => UploadQueue.open(join(tmp, 'bad'), '/robot/rec')).toThrow(/is not JSON/);
    writeFileSync(queue.file, good.replace('"version": 1', '"version": 2'));
    expect(() => UploadQueue.open(join(tmp, 'bad'), '/robot/rec')).toThrow(/has version 2; this mcapflow reads version 1/);
    writeFileSync(queue.file, good.replace('"pending"', '"sent"'));
    expect(() => UploadQueue.open(join(tmp, 'bad'), '/robot/rec')).toThrow(/entries\.0\.state/);
  });
});

describe('status line', () => {
  it('shows files done and waiting, the current file, the rate and the error being retried', () => {
    const meter = new RateMeter();
    meter.add(1024 * 1024, 1000);
    meter.add(1024 * 1024, 3000);
    const rate = meter.rate(4000);
    expect(rate).toBe((2 * 1024 * 1024) / 5);
    const line = formatStatus(
      {
        done: 3,
        backlog: 2,
        backlogBytes: 5 * 1024 * 1024,
        failures: 1,
        current: { name: 'run_0.mcap', sent: 256, size: 1024 },
        lastError: 'connect ECONNREFUSED',
      },
      rate,
    );
    expect(line).toBe('uploaded 3 | waiting 2 (5MB) | run_0.mcap 25% | 409.6KB/s | retrying: connect ECONNREFUSED');
    expect(meter.rate(20_000)).toBe(0);
  });
});

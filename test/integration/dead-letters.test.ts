/**
 * A job that keeps failing lands in the dead-letter queue with its input and every
 * attempt's error; nothing of its recording is committed; retrying the entry once the
 * fault is gone re-enters the flow where it failed and the recording commits.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestKey } from '../../src/domain/layout.ts';
import { recordingIdFor } from '../../src/domain/identity.ts';
import { waitForFinal } from '../../src/cli/submit.ts';
import { writeManifest } from '../../src/operators/commit-op.ts';
import type { Manifest } from '../../src/domain/manifest.ts';
import { fixture } from '../helpers/fixtures.ts';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.ts';
import { startHarness, type Harness } from '../helpers/pipeline-harness.ts';

let harness: Harness;
let proxy: FaultProxy;
const BAD_KEY = 'dlq/talker.mcap';

beforeAll(async () => {
  harness = await startHarness(
    'dlq',
    { MCAPFLOW_JOB_ATTEMPTS: '3', MCAPFLOW_BACKOFF_MS: '50' },
    {
      s3Endpoint: async (embedded) => {
        proxy = await startFaultProxy(embedded);
        return proxy.endpoint;
      },
    },
  );
});

afterAll(async () => {
  await harness?.close();
  await proxy?.close();
});

async function lettersOf(recordingId: string, expected: number) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const mine = (await harness.services.deadLetters.list()).filter((l) => l.recordingId === recordingId);
    if (mine.length >= expected || Date.now() > deadline) return mine;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('dead-letter queue', () => {
  it('files exhausted jobs with their input and attempts, commits nothing, and commits after a retry', async () => {
    // Span reads of this one object fail: its only chunk starts at byte 45 (extract), its
    // message indexes at 3010 (index).
    const spanRead = (req: { method?: string; url?: string; headers: Record<string, unknown> }) => {
      const range = /bytes=(\d+)-(\d+)/.exec(String(req.headers.range ?? ''));
      return req.method === 'GET' && (req.url ?? '').includes('/raw/dlq/') && range !== null && [45, 3010].includes(Number(range[1]));
    };
    proxy.rule = (req) => (spanRead(req) ? 'error503' : 'pass');

    const { store } = harness.services;
    const bytes = readFileSync(fixture('talker').path);
    await store.put(harness.config.rawBucket, BAD_KEY, bytes);
    const info = (await store.head(harness.config.rawBucket, BAD_KEY))!;
    const recordingId = recordingIdFor({ bucket: info.bucket, key: BAD_KEY, size: info.size, etag: info.etag });

    const failed = await waitForFinal(harness.services, [recordingId], { timeoutMs: 30_000 });
    const status = failed.get(recordingId)!;
    expect(status.state).toBe('failed');
    expect(status.reason).toMatch(/failed after 3 attempt\(s\).*dead-letter entry (index|extract)-/);
    expect(await store.head(harness.config.derivedBucket, manifestKey(recordingId))).toBeUndefined();

    // The index and extract jobs of the span exhaust their attempts independently.
    const mine = await lettersOf(recordingId, 2);
    expect(mine.map((l) => l.queue).sort()).toEqual(['extract', 'index']);
    for (const letter of mine) {
      expect(letter.data).toMatchObject({ recordingId, span: 0 });
      expect(letter.attempts).toHaveLength(3);
      for (const attempt of letter.attempts) {
        expect(attempt.error).toMatch(/HTTP 503|SlowDown/);
        expect(attempt.stack).toMatch(/at /);
        expect(attempt.worker).toMatch(/:\d+$/);
        expect(Date.parse(attempt.at)).toBeGreaterThan(0);
      }
      expect(letter.failedReason).toMatch(/503|SlowDown/);
    }
    expect(await harness.services.deadLetters.count()).toBe(2);

    // The fault is fixed. Retrying one entry brings back every failed job of the recording's
    // flow and its commit, which waits for them: the flow re-enters where it failed.
    proxy.rule = () => 'pass';
    await harness.services.status.set(recordingId, 'processing');
    const retriedIds = await harness.services.deadLetters.retry(mine[0]!.id);
    expect(retriedIds.sort()).toEqual([...mine.map((l) => l.jobId), `${recordingId}-commit`].sort());
    const retried = await waitForFinal(harness.services, [recordingId], { timeoutMs: 30_000 });
    expect(retried.get(recordingId)!.state).toBe('committed');
    expect(await harness.services.deadLetters.count()).toBe(0);
    const manifest = JSON.parse(Buffer.from((await store.get(harness.config.derivedBucket, manifestKey(recordingId), 'derived'))!).toString());
    expect(manifest.message_count).toBe(20);
  });

  it('discards an entry on request', async () => {
    proxy.rule = (req) => ((req.url ?? '').includes('/raw/discard/') && /bytes=(45|3010)-/.test(String(req.headers.range ?? '')) ? 'error500' : 'pass');
    const key = 'discard/talker.mcap';
    const { store } = harness.services;
    await store.put(harness.config.rawBucket, key, readFileSync(fixture('talker').path));
    const info = (await store.head(harness.config.rawBucket, key))!;
    const recordingId = recordingIdFor({ bucket: info.bucket, key, size: info.size, etag: info.etag });
    expect((await waitForFinal(harness.services, [recordingId], { timeoutMs: 30_000 })).get(recordingId)!.state).toBe('failed');
    const letters = await lettersOf(recordingId, 2);
    expect(letters).toHaveLength(2);
    for (const letter of letters) expect(await harness.services.deadLetters.discard(letter.id)).toBe(true);
    expect((await harness.services.deadLetters.list()).filter((l) => l.recordingId === recordingId)).toEqual([]);
    expect(await harness.services.deadLetters.discard(letters[0]!.id)).toBe(false);
    proxy.rule = () => 'pass';
  });
});

describe('manifest commit', () => {
  it('is a no-op for the same manifest and refuses a different one for the same recording', async () => {
    const { store } = harness.services;
    const bucket = harness.config.derivedBucket;
    const summary = await harness.process(fixture('cdr_test').path);
    const manifest = JSON.parse(Buffer.from((await store.get(bucket, manifestKey(summary.recording_id), 'derived'))!).toString()) as Manifest;
    expect(await writeManifest(store, bucket, manifest)).toBe('unchanged');
    await expect(writeManifest(store, bucket, { ...manifest, message_count: manifest.message_count + 1 })).rejects.toMatchObject({ code: 'MANIFEST_CONFLICT' });
    const after = JSON.parse(Buffer.from((await store.get(bucket, manifestKey(summary.recording_id), 'derived'))!).toString());
    expect(after).toEqual(manifest);
  });
});

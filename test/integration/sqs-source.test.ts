/**
 * The SQS event source with recorded AWS payloads (S3 → SQS, S3 → SNS → SQS, the S3 test
 * event) against a local SQS endpoint: recordings are processed and every message deleted;
 * invalid messages are logged and deleted too.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordingIdFor } from '../../src/domain/identity.ts';
import { waitForFinal } from '../../src/cli/submit.ts';
import { createLogger } from '../../src/log.ts';
import { notificationOf, startSqsSource, type SqsSource } from '../../src/sources/sqs.ts';
import { parseS3Event } from '../../src/domain/s3-event.ts';
import { fixture } from '../helpers/fixtures.ts';
import { startFakeSqs, type FakeSqs } from '../helpers/fake-sqs.ts';
import { startHarness, type Harness } from '../helpers/pipeline-harness.ts';

const payload = (name: string) => readFileSync(new URL(`../fixtures/aws/${name}`, import.meta.url), 'utf8');

describe('SQS message bodies', () => {
  it('unwraps S3 notifications sent directly and through SNS', () => {
    const direct = parseS3Event(notificationOf(payload('s3-to-sqs.json').replace('__SIZE__', '5').replace('__ETAG__', 'abc-128')), { keysUrlEncoded: true });
    expect(direct).toEqual([{ bucket: 'raw', key: 'fleet/r7/2026-11-20/run 01.mcap', size: 5, etag: 'abc-128', eventTime: '2026-11-20T10:15:30.123Z' }]);
    const viaSns = parseS3Event(notificationOf(payload('s3-to-sns-to-sqs.json').replace('__SIZE__', '7').replace('__ETAG__', 'def')), { keysUrlEncoded: true });
    expect(viaSns).toMatchObject([{ bucket: 'raw', key: 'fleet/r8/talker.mcap', size: 7, etag: 'def' }]);
    expect(parseS3Event(notificationOf(payload('s3-test-event.json')), { keysUrlEncoded: true })).toEqual([]);
    expect(() => notificationOf('not json')).toThrow(/not JSON/);
  });
});

describe('SQS source', () => {
  let harness: Harness;
  let sqs: FakeSqs;
  let source: SqsSource;
  let home: string;
  const objects: { key: string; size: number; etag: string; id: string }[] = [];

  beforeAll(async () => {
    sqs = await startFakeSqs();
    home = mkdtempSync(join(tmpdir(), 'mcapflow-sqs-'));
    // Uploaded with nobody listening: SQS is the only announcement these objects get.
    const prep = await startHarness('sqsprep', {}, { home, roles: { dispatcher: false, worker: false } });
    for (const [key, name] of [
      ['fleet/r7/2026-11-20/run 01.mcap', 'cdr_test'],
      ['fleet/r8/talker.mcap', 'talker'],
    ] as const) {
      await prep.services.store.put('raw', key, readFileSync(fixture(name).path));
      const info = (await prep.services.store.head('raw', key))!;
      objects.push({ key, size: info.size, etag: info.etag!, id: recordingIdFor({ bucket: 'raw', key, size: info.size, etag: info.etag }) });
    }
    await prep.close();
    harness = await startHarness('sqs', { MCAPFLOW_SQS_QUEUE_URL: sqs.queueUrl, MCAPFLOW_SQS_ENDPOINT: sqs.endpoint }, { home });
    process.env.AWS_ACCESS_KEY_ID ??= 'test';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
    source = startSqsSource(harness.config, harness.services, createLogger('silent'), { waitTimeSeconds: 1 });
  });

  afterAll(async () => {
    await source?.stop();
    await harness?.close();
    await sqs?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('processes recordings announced through SQS and deletes every message, invalid ones included', async () => {
    const [a, b] = objects as [(typeof objects)[0], (typeof objects)[0]];
    sqs.send(payload('s3-to-sqs.json').replace('__SIZE__', String(a.size)).replace('__ETAG__', a.etag));
    sqs.send(payload('s3-to-sns-to-sqs.json').replace('__SIZE__', String(b.size)).replace('__ETAG__', b.etag));
    sqs.send(payload('s3-test-event.json'));
    sqs.send('{"this": "is not an S3 event"}');
    sqs.send('garbage');

    const statuses = await waitForFinal(harness.services, [a.id, b.id], { timeoutMs: 30_000 });
    expect([...statuses.values()].map((s) => s?.state)).toEqual(['committed', 'committed']);
    const deadline = Date.now() + 10_000;
    while (sqs.remaining() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(sqs.remaining()).toBe(0);
    expect(sqs.deletes).toBe(5);
  });
});

/**
 * Object-created events are taken only for the buckets mcapflow reads recordings from
 * (MCAPFLOW_RAW_BUCKET, or the MCAPFLOW_EVENT_BUCKETS list): from the webhook, SQS and the
 * embedded server alike. Records for any other bucket never become jobs (and so never
 * become dead letters); the webhook says which records it ignored and why.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForFinal } from '../../src/cli/submit.ts';
import { recordingIdFor } from '../../src/domain/identity.ts';
import { createLogger } from '../../src/log.ts';
import { startSqsSource, type SqsSource } from '../../src/sources/sqs.ts';
import { startAdmin, TOKENS, type AdminHarness } from '../helpers/admin-harness.ts';
import { startFakeSqs, type FakeSqs } from '../helpers/fake-sqs.ts';
import { fixture } from '../helpers/fixtures.ts';

let admin: AdminHarness;
let sqs: FakeSqs;
let source: SqsSource;

function record(bucket: string, key: string, size = 100, etag = '"abc"') {
  return { eventName: 'ObjectCreated:Put', eventTime: '2026-11-23T10:00:00Z', s3: { bucket: { name: bucket }, object: { key, size, eTag: etag } } };
}

const webhook = (body: unknown) => admin.call('POST', '/v1/events/s3', { token: TOKENS.webhook, body });

async function ingestJobs(): Promise<{ bucket: string; key: string }[]> {
  const jobs = await admin.harness.services.queues.queue('ingest').getJobs(['completed', 'failed', 'waiting', 'active', 'delayed', 'prioritized']);
  return jobs.map((j) => ({ bucket: j.data.bucket, key: j.data.key }));
}

beforeAll(async () => {
  sqs = await startFakeSqs();
  admin = await startAdmin('buckets', {
    MCAPFLOW_EVENT_BUCKETS: 'raw,fleet-b',
    MCAPFLOW_JOB_ATTEMPTS: '1',
    MCAPFLOW_SQS_QUEUE_URL: sqs.queueUrl,
    MCAPFLOW_SQS_ENDPOINT: sqs.endpoint,
  });
  process.env.AWS_ACCESS_KEY_ID ??= 'test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
  source = startSqsSource(admin.harness.config, admin.harness.services, createLogger('silent'), { waitTimeSeconds: 1 });
});

afterAll(async () => {
  await source?.stop();
  await admin?.close();
  await sqs?.close();
});

describe('the webhook', () => {
  it('answers 400 naming the buckets when no record is for a configured bucket, and enqueues nothing', async () => {
    const before = (await ingestJobs()).length;
    const records = Array.from({ length: 50 }, (_, i) => record(i % 2 ? 'no/such' : 'derived', `run-${i}.mcap`));
    const answer = await webhook({ Records: records });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('BAD_EVENT');
    expect(answer.body.error.message).toMatch(/no record is for a bucket mcapflow takes events from/);
    expect(answer.body.error.message).toMatch(/"no\/such"/);
    expect(answer.body.error.message).toMatch(/"derived"/);
    expect(answer.body.error.message).toMatch(/raw, fleet-b/);
    expect((await ingestJobs()).length).toBe(before);
    expect(await admin.harness.services.deadLetters.count()).toBe(0);
  });

  it('takes the records of configured buckets and lists the ignored ones with the reason', async () => {
    const { store } = admin.harness.services;
    await store.ensureBucket('fleet-b');
    await store.put('fleet-b', 'r9/talker.mcap', readFileSync(fixture('talker').path));
    const info = (await store.head('fleet-b', 'r9/talker.mcap'))!;
    const answer = await webhook({
      Records: [record('fleet-b', 'r9/talker.mcap', info.size, `"${info.etag}"`), record('elsewhere', 'x.mcap'), record('raw', 'notes/readme.txt')],
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      enqueued: 1,
      ignored: 2,
      ignoredRecords: [
        { bucket: 'elsewhere', key: 'x.mcap', reason: expect.stringMatching(/bucket "elsewhere" is not one mcapflow takes events from \(raw, fleet-b\)/) },
        { bucket: 'raw', key: 'notes/readme.txt', reason: expect.stringMatching(/does not end with \.mcap/) },
      ],
    });
    const id = recordingIdFor({ bucket: 'fleet-b', key: 'r9/talker.mcap', size: info.size, etag: info.etag });
    expect((await waitForFinal(admin.harness.services, [id], { timeoutMs: 30_000 })).get(id)?.state).toBe('committed');
    expect((await ingestJobs()).filter((j) => j.bucket === 'elsewhere')).toEqual([]);
  });

  it('answers an empty or removal-only notification with 200', async () => {
    expect((await webhook({ Records: [] })).body).toEqual({ enqueued: 0, ignored: 0, ignoredRecords: [] });
    const removed = { ...record('no/such', 'a.mcap'), eventName: 'ObjectRemoved:Delete' };
    expect((await webhook({ Records: [removed] })).status).toBe(200);
  });
});

describe('the other event sources', () => {
  it('SQS: deletes a notification for an unconfigured bucket without enqueuing it', async () => {
    const deletes = sqs.deletes;
    sqs.send(JSON.stringify({ Records: [record('no/such', 'sqs/a.mcap'), record('other-bucket', 'sqs/b.mcap')] }));
    const deadline = Date.now() + 10_000;
    while (sqs.deletes === deletes && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(sqs.deletes).toBe(deletes + 1);
    expect((await ingestJobs()).filter((j) => j.key.startsWith('sqs/'))).toEqual([]);
  });

  it('embedded server: a recording written to the derived bucket raises no ingest job', async () => {
    const { store } = admin.harness.services;
    await store.put(admin.harness.config.derivedBucket, 'stray/talker.mcap', readFileSync(fixture('talker').path));
    // The event arrives within milliseconds; give it ample time to (wrongly) become a job.
    await new Promise((r) => setTimeout(r, 1000));
    expect((await ingestJobs()).filter((j) => j.key === 'stray/talker.mcap')).toEqual([]);
  });
});

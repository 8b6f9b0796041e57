/**
 * Events in, outcomes out: duplicate announcements of one object make one job and one
 * commit; input that is not MCAP is quarantined with a reason and never retried.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleS3Event } from '../../src/dispatcher/event-handler.ts';
import { recordingIdFor } from '../../src/domain/identity.ts';
import { waitForFinal } from '../../src/cli/submit.ts';
import { summarize } from '../../src/cli/summary.ts';
import { readQuarantine } from '../../src/operators/commit-op.ts';
import { fixture } from '../helpers/fixtures.ts';
import { startHarness, type Harness } from '../helpers/pipeline-harness.ts';

let harness: Harness;

beforeAll(async () => {
  harness = await startHarness('events');
});

afterAll(async () => {
  await harness?.close();
});

function awsEvent(bucket: string, key: string, size: number, etag: string) {
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        eventName: 'ObjectCreated:Put',
        eventTime: '2026-11-23T10:00:00.000Z',
        s3: { bucket: { name: bucket }, object: { key: encodeURIComponent(key).replace(/%2F/g, '/'), size, eTag: etag } },
      },
    ],
  };
}

async function upload(key: string, body: Uint8Array) {
  const { store } = harness.services;
  await store.put(harness.config.rawBucket, key, body);
  const info = (await store.head(harness.config.rawBucket, key))!;
  return { info, recordingId: recordingIdFor({ bucket: info.bucket, key, size: info.size, etag: info.etag }) };
}

async function finalSummary(key: string, recordingId: string) {
  const statuses = await waitForFinal(harness.services, [recordingId], { timeoutMs: 30_000 });
  return summarize(harness.services, key, recordingId, statuses.get(recordingId));
}

describe('S3 events', () => {
  it('turns five announcements of the same object into one ingest job and one commit', async () => {
    const key = 'dup/talker copy.mcap';
    const { info, recordingId } = await upload(key, readFileSync(fixture('talker').path));
    const event = awsEvent(info.bucket, key, info.size, `"${info.etag}"`);
    const options = { queues: harness.services.queues, recordingSuffixes: ['.mcap'], buckets: ['raw'], keysUrlEncoded: true };
    // The upload itself announced it once; four more arrive from a webhook.
    await Promise.all([1, 2, 3, 4].map(() => handleS3Event(event, options)));
    const summary = await finalSummary(key, recordingId);
    expect(summary.status).toBe('committed');
    expect(summary.messages).toBe(20);

    const ingest = harness.services.queues.queue('ingest');
    const jobs = await ingest.getJobs(['completed', 'failed', 'waiting', 'active', 'delayed']);
    expect(jobs.filter((j) => j.data.key === key)).toHaveLength(1);
    const commits = await harness.services.queues.queue('commit').getJobs(['completed']);
    expect(commits.filter((j) => j.data.recordingId === recordingId)).toHaveLength(1);
  });

  it('acknowledges and ignores objects that are not recordings', async () => {
    const outcome = await handleS3Event(awsEvent('raw', 'notes/readme.txt', 10, '"abc"'), {
      queues: harness.services.queues,
      recordingSuffixes: ['.mcap'],
      buckets: ['raw'],
      keysUrlEncoded: true,
    });
    expect(outcome.enqueued).toHaveLength(0);
    expect(outcome.ignored[0]).toMatchObject({ key: 'notes/readme.txt' });
  });

  it('rejects a malformed event and a key with a ".." segment before enqueuing anything', async () => {
    const options = { queues: harness.services.queues, recordingSuffixes: ['.mcap'], buckets: ['raw'], keysUrlEncoded: true };
    await expect(handleS3Event({ hello: 'world' }, options)).rejects.toMatchObject({ code: 'BAD_EVENT' });
    await expect(handleS3Event(awsEvent('raw', 'a/../../etc/passwd.mcap', 1, '"x"'), options)).rejects.toMatchObject({ code: 'BAD_KEY' });
  });
});

describe('quarantine', () => {
  const magic = Buffer.from([0x89, 0x4d, 0x43, 0x41, 0x50, 0x30, 0x0d, 0x0a]);
  const cases: [string, Buffer, RegExp][] = [
    ['empty.mcap', Buffer.alloc(0), /empty/],
    ['text.mcap', Buffer.from('this is not a recording, just some text\n'.repeat(10)), /not an MCAP file/],
    ['cut-in-magic.mcap', magic.subarray(0, 5), /inside the MCAP magic/],
    ['magic-only.mcap', magic, /before its MCAP header/],
    ['magic-then-junk.mcap', Buffer.concat([magic, Buffer.from([0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])]), /before its MCAP header/],
  ];

  it.each(cases)('%s is quarantined with a reason, without retries', async (name, body, reason) => {
    const key = `bad/${name}`;
    const { recordingId } = await upload(key, body);
    const summary = await finalSummary(key, recordingId);
    expect(summary).toMatchObject({ status: 'quarantined', recovered: false, messages: 0 });
    expect(summary.reason).toMatch(reason);
    const record = await readQuarantine(harness.services.store, harness.config.derivedBucket, recordingId);
    expect(record?.reason).toBe(summary.reason);
    const jobs = await harness.services.queues.queue('ingest').getJobs(['completed', 'failed']);
    const job = jobs.find((j) => j.data.key === key)!;
    expect(job.attemptsMade).toBe(1);
    expect(await job.isCompleted()).toBe(true);
  });
});

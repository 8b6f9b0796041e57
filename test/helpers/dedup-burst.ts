/**
 * The duplicate-event load: N small distinct recordings already in the raw bucket, each
 * announced `announcements` times in one concurrent burst of S3 event notifications.
 * Returns how many ingest jobs and commits that produced and how fast.
 */
import { McapWriter } from '@mcap/core';
import { handleS3Event } from '../../src/dispatcher/event-handler.ts';
import { recordingIdFor } from '../../src/domain/identity.ts';
import { MANIFEST_PREFIX } from '../../src/domain/layout.ts';
import { createLogger } from '../../src/log.ts';
import { startPipeline } from '../../src/runtime/pipeline.ts';
import { waitForFinal } from '../../src/cli/submit.ts';
import { MemoryWritable, cdrEncoder, STRING_SCHEMA } from './mcap-builders.ts';
import { startHarness } from './pipeline-harness.ts';

export interface BurstResult {
  recordings: number;
  events: number;
  ingestJobs: number;
  commits: number;
  seconds: number;
  recordingsPerSecond: number;
  eventsPerSecond: number;
}

export async function tinyRecording(index: number): Promise<Uint8Array> {
  const writable = new MemoryWritable();
  const writer = new McapWriter({ writable });
  await writer.start({ profile: 'ros2', library: 'dedup-burst' });
  const schemaId = await writer.registerSchema({ name: STRING_SCHEMA.name, encoding: 'ros2msg', data: new TextEncoder().encode(STRING_SCHEMA.text) });
  const channelId = await writer.registerChannel({ topic: '/chatter', schemaId, messageEncoding: 'cdr', metadata: new Map() });
  const encode = cdrEncoder(STRING_SCHEMA.text);
  for (let i = 0; i < 3; i++) {
    await writer.addMessage({
      channelId,
      sequence: i,
      logTime: BigInt(index * 1000 + i),
      publishTime: BigInt(index * 1000 + i),
      data: encode({ data: `recording ${index} message ${i}` }),
    });
  }
  await writer.end();
  return writable.bytes();
}

export async function runDedupBurst(recordings: number, announcements: number, overrides: Record<string, string> = {}): Promise<BurstResult> {
  // Uploads happen with nobody listening, so the only announcements are the burst below.
  const harness = await startHarness('burst', overrides, { roles: { dispatcher: false, worker: false } });
  const { store } = harness.services;
  const bucket = harness.config.rawBucket;
  try {
    const objects = [];
    for (let i = 0; i < recordings; i++) {
      const key = `burst/robot-${i}.mcap`;
      await store.put(bucket, key, await tinyRecording(i));
      const info = (await store.head(bucket, key))!;
      objects.push({ key, size: info.size, etag: info.etag!, id: recordingIdFor({ bucket, key, size: info.size, etag: info.etag }) });
    }
    const consumers = await startPipeline(
      harness.config,
      { ...harness.env, embeddedS3: undefined },
      { dispatcher: true, worker: true },
      createLogger('silent'),
    );
    try {
      const events = objects.flatMap((o) =>
        Array.from({ length: announcements }, () => ({
          Records: [
            {
              eventName: 'ObjectCreated:Put',
              eventTime: new Date().toISOString(),
              s3: { bucket: { name: bucket }, object: { key: o.key, size: o.size, eTag: `"${o.etag}"` } },
            },
          ],
        })),
      );
      // Interleave so duplicates of one object arrive at different moments of the burst.
      events.sort(() => Math.random() - 0.5);
      const startedAt = Date.now();
      await Promise.all(
        events.map((event) =>
          handleS3Event(event, { queues: consumers.services.queues, recordingSuffixes: ['.mcap'], buckets: [bucket], keysUrlEncoded: true }),
        ),
      );
      await waitForFinal(
        consumers.services,
        objects.map((o) => o.id),
        { timeoutMs: 600_000 },
      );
      const seconds = (Date.now() - startedAt) / 1000;
      let commits = 0;
      for await (const _ of store.list(harness.config.derivedBucket, MANIFEST_PREFIX)) commits += 1;
      const ingestJobs = await consumers.services.queues.queue('ingest').getJobCountByTypes('completed', 'failed', 'waiting', 'active', 'delayed');
      return {
        recordings,
        events: events.length,
        ingestJobs,
        commits,
        seconds,
        recordingsPerSecond: recordings / seconds,
        eventsPerSecond: events.length / seconds,
      };
    } finally {
      await consumers.stop();
    }
  } finally {
    await harness.close();
  }
}

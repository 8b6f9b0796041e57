/**
 * A summary is a claim to check, not proof: files whose summary leaves records out or points
 * at the wrong bytes still commit every message, attachment and metadata record they hold.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryCatalog } from '../../src/catalog/query-session.ts';
import { readManifest } from '../../src/operators/commit-op.ts';
import { McapWriter } from '@mcap/core';
import { buildTestRecording, MemoryWritable, type TestRecordingOptions } from '../helpers/mcap-builders.ts';
import { startHarness, type Harness } from '../helpers/pipeline-harness.ts';
import { editChunkIndexes } from '../helpers/summary-surgery.ts';

let harness: Harness;
let dir: string;
const MESSAGES = 120;

async function file(name: string, options: TestRecordingOptions, edit?: (bytes: Uint8Array) => Uint8Array): Promise<string> {
  const recording = await buildTestRecording({ messagesPerTopic: MESSAGES / 2, ...options });
  const path = join(dir, `${name}.mcap`);
  writeFileSync(path, edit ? edit(recording.bytes) : recording.bytes);
  return path;
}

async function sql(query: string) {
  return (await queryCatalog({ store: harness.services.store, derivedBucket: harness.config.derivedBucket, home: harness.home }, query)).rows;
}

async function manifestOf(recordingId: string) {
  return (await readManifest(harness.services.store, harness.config.derivedBucket, recordingId))!;
}

beforeAll(async () => {
  harness = await startHarness('claims');
  dir = mkdtempSync(join(tmpdir(), 'mcapflow-claims-'));
}, 60_000);

afterAll(async () => {
  await harness?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function expectEveryMessage(summary: Awaited<ReturnType<Harness['process']>>) {
  expect(summary).toMatchObject({ status: 'committed', recovered: false, reason: null, messages: MESSAGES });
  expect(summary.topics.map((t) => [t.topic, t.schema, t.messages, t.status])).toEqual([
    ['/chatter', 'std_msgs/msg/String', MESSAGES / 2, 'ok'],
    ['/counter', 'example_msgs/msg/Counter', MESSAGES / 2, 'ok'],
  ]);
}

describe('a summary that leaves records out', () => {
  it('finds the Schema and Channel records it omits in the chunks and decodes every topic', async () => {
    const path = await file('no-repeats', { writerOptions: { repeatSchemas: false, repeatChannels: false } });
    const summary = await harness.process(path);
    expectEveryMessage(summary);
    const manifest = await manifestOf(summary.recording_id);
    // Planned from the summary: only the chunks holding the first messages were read besides it.
    expect(manifest.planner).toBe('summary');
    expect(await sql(`SELECT count(*), min(count), max(count) FROM example_msgs_msg_Counter WHERE recording_id = '${summary.recording_id}'`)).toEqual([
      [60, 0, 59],
    ]);
  });

  it('finds an attachment and a metadata record the statistics count but no index lists', async () => {
    const writable = new MemoryWritable();
    const writer = new McapWriter({ writable, useAttachmentIndex: false, useMetadataIndex: false });
    await writer.start({ profile: '', library: 'claims-test' });
    await writer.addAttachment({ name: 'calib.yaml', mediaType: 'application/yaml', logTime: 5n, createTime: 4n, data: new TextEncoder().encode('k: 1\n') });
    await writer.addMetadata({ name: 'robot', metadata: new Map([['id', 'r2']]) });
    await writer.end();
    const path = join(dir, 'unindexed-records.mcap');
    writeFileSync(path, writable.bytes());
    const summary = await harness.process(path);
    expect(summary).toMatchObject({ status: 'committed', recovered: false, reason: null });
    expect(await sql(`SELECT name, media_type, log_time, create_time, size FROM attachments WHERE recording_id = '${summary.recording_id}'`)).toEqual([
      ['calib.yaml', 'application/yaml', 5, 4, 5],
    ]);
    expect(await sql(`SELECT name, metadata FROM metadata WHERE recording_id = '${summary.recording_id}'`)).toEqual([['robot', [{ key: 'id', value: 'r2' }]]]);
  });
});

describe('a chunk index that points at the wrong bytes', () => {
  it.each([
    ['at the header', { offset: 8n }],
    ['3 bytes off', 3n],
    ['past the end of the object', 'past-end'],
    ['with a length of 2^40', { length: 2n ** 40n }],
  ] as const)('%s: every message is recovered by scanning the data section', async (name, change) => {
    const path = await file(`index-${name.replace(/\W+/g, '-')}`, { compression: 'zstd' }, (bytes) =>
      editChunkIndexes(bytes, (entry, i) => {
        if (i !== 0) return undefined;
        if (change === 3n) return { offset: entry.offset + 3n };
        if (change === 'past-end') return { offset: BigInt(bytes.length) + 100n };
        return change;
      }),
    );
    const summary = await harness.process(path);
    expectEveryMessage(summary);
    const manifest = await manifestOf(summary.recording_id);
    expect(manifest.planner).toBe('scan');
    expect(manifest.planner_note).toMatch(/chunk index entry for offset/);
  });

  it('that the summary alone cannot expose is caught reading the chunk, and the file re-planned by a scan', async () => {
    // The message start time of chunk 0 is wrong: consistent with everything else in the summary.
    const path = await file('index-wrong-time', { compression: 'zstd' }, (bytes) =>
      editChunkIndexes(bytes, (entry, i) => (i === 0 ? { messageStartTime: entry.messageStartTime - 1n } : undefined)),
    );
    const summary = await harness.process(path);
    expectEveryMessage(summary);
    const manifest = await manifestOf(summary.recording_id);
    expect(manifest.planner).toBe('scan');
    expect(manifest.planner_note).toMatch(/does not match the data section.*chunk index entry for offset \d+ describes the chunk/);
  });
});

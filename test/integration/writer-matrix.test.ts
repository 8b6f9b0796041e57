/**
 * The writer-option matrix through the real pipeline (issue 10: a summary is a claim to check,
 * not proof). Every unique file of test/helpers/writer-matrix.ts — each combination of
 * chunked, chunk index, message index, statistics, summary offsets, repeated schemas,
 * repeated channels, padding, attachment index and metadata index, with each content kind —
 * is uploaded at once into one pipeline (real Redis, s3rver), and each committed recording is
 * compared field by field with what was written: its status, its `messages`, `attachments`
 * (with the bytes its reference points at) and `metadata` rows, and its topics as
 * `process --json` lists them. Each case is named by its variant (legend in the helper).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryCatalog } from '../../src/catalog/query-session.ts';
import { submitFile, waitForFinal, type Submitted } from '../../src/cli/submit.ts';
import { summarize, type RecordingSummary } from '../../src/cli/summary.ts';
import { startHarness, type Harness } from '../helpers/pipeline-harness.ts';
import { describeFeatures, writerMatrix, type MatrixFile } from '../helpers/writer-matrix.ts';

const files = await writerMatrix();
/** Uploads in flight at once: enough to keep both cores busy, few enough for s3rver. */
const UPLOADS_IN_FLIGHT = 16;
const FINAL_TIMEOUT_MS = 240_000;

let harness: Harness;
let dir: string;
const summaries = new Map<string, RecordingSummary>();
const rows = { messages: new Map<string, unknown[]>(), attachments: new Map<string, unknown[]>(), metadata: new Map<string, unknown[]>() };

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
/** Query values: 64-bit integers arrive as numbers when they fit in 2^53, else as strings. */
const big = (value: unknown) => BigInt(value as string | number);

async function sql(query: string): Promise<unknown[][]> {
  return (await queryCatalog({ store: harness.services.store, derivedBucket: harness.config.derivedBucket, home: harness.home }, query)).rows;
}

/** Rows of a table over every recording, grouped by recording id; a table no recording has is empty. */
async function rowsByRecording(table: string, query: string): Promise<Map<string, unknown[]>> {
  const out = new Map<string, unknown[]>();
  let found: unknown[][];
  try {
    found = await sql(query);
  } catch (error) {
    if (String(error).includes(`Table with name ${table} does not exist`)) return out;
    throw error;
  }
  for (const [recordingId, ...row] of found) {
    const list = out.get(recordingId as string) ?? [];
    list.push(row);
    out.set(recordingId as string, list);
  }
  return out;
}

async function mapInBatches<T, R>(items: readonly T[], size: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(work))));
  return out;
}

beforeAll(async () => {
  const started = Date.now();
  harness = await startHarness('writer-matrix');
  dir = mkdtempSync(join(tmpdir(), 'mcapflow-writer-matrix-'));
  const submitted: Submitted[] = await mapInBatches(files, UPLOADS_IN_FLIGHT, async (file) => {
    const path = join(dir, `${file.name}.mcap`);
    writeFileSync(path, file.bytes);
    return submitFile(harness.services, path);
  });
  const uploaded = Date.now();
  const statuses = await waitForFinal(
    harness.services,
    submitted.map((s) => s.recordingId),
    { timeoutMs: FINAL_TIMEOUT_MS },
  );
  const final = Date.now();
  const summarized = await mapInBatches(submitted, UPLOADS_IN_FLIGHT, (s) => summarize(harness.services, s.source, s.recordingId, statuses.get(s.recordingId)));
  summarized.forEach((summary, i) => summaries.set(files[i]!.name, summary));
  // One query per table over every recording (this pipeline holds only the matrix).
  rows.messages = await rowsByRecording('messages', 'SELECT recording_id, topic, channel_id, log_time, publish_time, sequence, size FROM messages');
  rows.attachments = await rowsByRecording(
    'attachments',
    'SELECT recording_id, name, media_type, log_time, create_time, size, data.uri, data.offset, data.length, data.sha256 FROM attachments',
  );
  rows.metadata = await rowsByRecording('metadata', 'SELECT recording_id, name, metadata FROM metadata');
  console.log(
    `writer matrix: ${files.length} files; uploaded in ${uploaded - started} ms, final after ${final - uploaded} ms, summaries and queries ${Date.now() - final} ms`,
  );
}, FINAL_TIMEOUT_MS + 120_000);

afterAll(async () => {
  await harness?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Outcome {
  status: string;
  recovered: boolean;
  reason: string | null;
  messageCount: number;
  topics: { topic: string; schema: string; message_encoding: string; messages: number; status: string; decode_errors: number }[];
  messages: { topic: string; channel_id: number; log_time: bigint; publish_time: bigint; sequence: number; size: number }[];
  attachments: { name: string; media_type: string; log_time: bigint; create_time: bigint; size: number; sha256: string; bytes_sha256: string }[];
  metadata: { name: string; metadata: { key: string; value: string }[] }[];
}

const byMessage = (a: Outcome['messages'][number], b: Outcome['messages'][number]) => a.channel_id - b.channel_id || a.sequence - b.sequence;
const byKey = (a: { key: string }, b: { key: string }) => a.key.localeCompare(b.key);

function expected(file: MatrixFile): Outcome {
  const w = file.written;
  const topics = w.channels
    .map((c) => ({ c, count: w.messages.filter((m) => m.channelId === c.id).length }))
    .filter(({ count }) => count > 0)
    .map(({ c, count }) => ({ topic: c.topic, schema: c.schemaName, message_encoding: c.messageEncoding, messages: count, status: 'ok', decode_errors: 0 }));
  return {
    status: 'committed',
    recovered: false,
    reason: null,
    messageCount: w.messages.length,
    topics: topics.sort((a, b) => a.topic.localeCompare(b.topic)),
    messages: w.messages
      .map((m) => ({ topic: m.topic, channel_id: m.channelId, log_time: m.logTime, publish_time: m.publishTime, sequence: m.sequence, size: m.data.length }))
      .sort(byMessage),
    attachments: w.attachments.map((a) => ({
      name: a.name,
      media_type: a.mediaType,
      log_time: a.logTime,
      create_time: a.createTime,
      size: a.data.length,
      sha256: sha256(a.data),
      bytes_sha256: sha256(a.data),
    })),
    metadata: w.metadata.map((m) => ({ name: m.name, metadata: m.metadata.map(([key, value]) => ({ key, value })).sort(byKey) })),
  };
}

async function actual(file: MatrixFile): Promise<Outcome> {
  const summary = summaries.get(file.name)!;
  const id = summary.recording_id;
  const attachments = await Promise.all(
    (rows.attachments.get(id) ?? []).map(async ([name, mediaType, logTime, createTime, size, uri, offset, length, hash]: any) => {
      const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri as string) ?? [];
      const bytes = await harness.services.store.getRange(bucket!, key!, Number(offset), Number(offset) + Number(length), 'span');
      return {
        name,
        media_type: mediaType,
        log_time: big(logTime),
        create_time: big(createTime),
        size: Number(size),
        sha256: hash,
        bytes_sha256: sha256(bytes),
      };
    }),
  );
  return {
    status: summary.status,
    recovered: summary.recovered,
    reason: summary.reason,
    messageCount: summary.messages,
    topics: summary.topics
      .map((t) => ({
        topic: t.topic,
        schema: t.schema,
        message_encoding: t.message_encoding,
        messages: t.messages,
        status: t.status,
        decode_errors: t.decode_errors,
      }))
      .sort((a, b) => a.topic.localeCompare(b.topic)),
    messages: (rows.messages.get(id) ?? [])
      .map(([topic, channelId, logTime, publishTime, sequence, size]: any) => ({
        topic,
        channel_id: Number(channelId),
        log_time: big(logTime),
        publish_time: big(publishTime),
        sequence: Number(sequence),
        size: Number(size),
      }))
      .sort(byMessage),
    attachments,
    metadata: (rows.metadata.get(id) ?? []).map(([name, entries]: any) => ({ name, metadata: [...(entries as { key: string; value: string }[])].sort(byKey) })),
  };
}

describe('every writer-option combination commits exactly what was written', () => {
  it.each(files.map((f) => [f.name, f] as const))('%s', async (name, file) => {
    const [got, want] = [await actual(file), expected(file)];
    const wrong = (Object.keys(want) as (keyof Outcome)[]).filter((k) => !isDeepStrictEqual(got[k], want[k]));
    const also = file.aliases.length > 0 ? `; same bytes as ${file.aliases.length} other variants` : '';
    expect(got, `${name} (${describeFeatures(file.features)}${also}): wrong ${wrong.join(', ')}`).toEqual(want);
  });
});

/**
 * Extraction of one topic and a time window from a committed recording: the output is a valid,
 * indexed MCAP holding exactly the source's messages of that topic in [start, end), read from S3
 * by ranged GETs of only the chunks that can hold them (checked against the bytes the store was
 * asked for, not only the rows), and Parquet of the same window has one row per message.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingStore } from '../../src/catalog/read-accounting.ts';
import { extractMcap, extractParquet, planExtraction, type ExtractionSource } from '../../src/catalog/extraction.ts';
import { DEFAULT_START_TIME_NS, generateRobotRun } from '../../src/synth/robot-run.ts';
import { openIndexed } from '../helpers/mcap-builders.ts';
import { startAdmin, TOKENS, type AdminHarness } from '../helpers/admin-harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'mcapflow-extraction-'));
let admin: AdminHarness | undefined;
let source: ExtractionSource;
let recordingId = '';
let sourceBytes: Uint8Array;
let imuTopic = '';
const start = DEFAULT_START_TIME_NS + 2_000_000_000n;
const end = start + 1_000_000_000n;

beforeAll(async () => {
  admin = await startAdmin('extraction', { MCAPFLOW_SPAN_MAX_BYTES: String(512 * 1024) });
  const run = await generateRobotRun({ path: join(dir, 'robot.mcap'), sizeBytes: 8 * 1024 * 1024, seed: 7, chunkSizeBytes: 128 * 1024 });
  imuTopic = run.topics.find((t) => /imu/i.test(t.schema))!.topic;
  sourceBytes = readFileSync(run.path);
  const harness = admin.harness;
  const summary = await harness.process(run.path);
  expect(summary.status).toBe('committed');
  recordingId = summary.recording_id;
  source = {
    store: harness.services.store,
    derivedBucket: harness.config.derivedBucket,
    cacheDir: join(harness.home, 'cache'),
    maxRecordBytes: harness.config.maxRecordBytes,
    maxChunkBytes: harness.config.maxChunkBytes,
  };
}, 120_000);

afterAll(async () => {
  await admin?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Log times of the source's messages of `topic` in [start, end), read with @mcap/core from the local file. */
async function expectedLogTimes(topic: string): Promise<bigint[]> {
  const reader = await openIndexed(sourceBytes);
  const times: bigint[] = [];
  for await (const m of reader.readMessages({ topics: [topic], startTime: start, endTime: end - 1n })) times.push(m.logTime);
  return times.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

async function collect(stream: PassThrough): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return new Uint8Array(Buffer.concat(parts));
}

describe('extract', () => {
  it('writes an indexed MCAP of exactly that topic and window, reading only the chunks that hold it', async () => {
    // Counted outside the extraction's own accounting, so the report is checked against what the store served.
    const served = new CountingStore(source.store);
    const x = await planExtraction({ ...source, store: served }, { recordingId, topics: [imuTopic], start, end, format: 'mcap' });
    const out = new PassThrough();
    const [report, bytes] = await Promise.all([extractMcap(x, out), collect(out)]);
    const expected = await expectedLogTimes(imuTopic);
    expect(expected.length).toBeGreaterThan(10);

    const reader = await openIndexed(bytes);
    expect([...reader.channelsById.values()].map((c) => c.topic)).toEqual([imuTopic]);
    expect(reader.chunkIndexes.length).toBeGreaterThan(0);
    const got: bigint[] = [];
    for await (const m of reader.readMessages()) got.push(m.logTime);
    expect(got).toEqual(expected);
    expect(report.messages).toBe(expected.length);
    expect(report.bytes_written).toBe(bytes.byteLength);

    // Accounting: what the store was asked for is what the report says, and a small share of the recording.
    expect(served.bytes).toBe(report.bytes_read);
    expect(report.bytes_read).toBe(report.metadata_bytes + report.chunk_bytes + report.gap_bytes);
    expect(report.chunks_read).toBeLessThan(report.chunks_total / 2);
    expect(report.bytes_read).toBeLessThan(0.25 * report.recording_bytes);
  });

  it('writes the same window as Parquet rows, one per message', async () => {
    const x = await planExtraction(source, { recordingId, topics: [imuTopic], start, end, format: 'parquet' });
    const { files, report } = await extractParquet(x, { rowGroupRows: 10_000 });
    expect(files).toHaveLength(1);
    expect(files[0]!.bytes.byteLength).toBeGreaterThan(0);
    expect(report.messages).toBe((await expectedLogTimes(imuTopic)).length);
  });

  it('streams the same MCAP through the API, saying what it read', async () => {
    const query = new URLSearchParams({ topic: imuTopic, start: String(start), end: String(end) });
    const response = await fetch(`${admin!.url}/v1/recordings/${recordingId}/extract?${query.toString()}`, {
      headers: { authorization: `Bearer ${TOKENS.admin}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-mcap');
    expect(response.headers.get('content-disposition')).toMatch(/attachment; filename=".+\.mcap"/);
    expect(Number(response.headers.get('x-mcapflow-bytes-read'))).toBeLessThan(0.25 * Number(response.headers.get('x-mcapflow-recording-bytes')));
    const reader = await openIndexed(new Uint8Array(await response.arrayBuffer()));
    const got: bigint[] = [];
    for await (const m of reader.readMessages()) got.push(m.logTime);
    expect(got).toEqual(await expectedLogTimes(imuTopic));
  });

  it('answers a bad API request with an error naming the problem, before any download', async () => {
    const bad = await admin!.call('GET', `/v1/recordings/${recordingId}/extract?topic=%2Fno%2Fsuch`);
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/no\/such/);
    const missing = await admin!.call('GET', `/v1/recordings/${'0'.repeat(32)}/extract`);
    expect(missing.status).toBe(404);
  });

  it('refuses a topic the recording does not have, an empty window and an unknown recording, by name', async () => {
    await expect(planExtraction(source, { recordingId, topics: ['/no/such'], start, end, format: 'mcap' })).rejects.toThrow(/no\/such/);
    await expect(planExtraction(source, { recordingId, topics: [imuTopic], start: end, end: start, format: 'mcap' })).rejects.toThrow(/empty/);
    await expect(planExtraction(source, { recordingId: '0'.repeat(32), topics: [], start, end, format: 'mcap' })).rejects.toThrow(/no committed recording/);
  });
});

/**
 * Files without a usable summary take the scan path and commit the same data; a file cut
 * off by a crash commits what its complete chunks hold, with `recovered` and a reason; a
 * schema that does not parse leaves its topic undecodable while the rest commits.
 */
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { McapStreamReader, McapWriter, type IWritable } from '@mcap/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryCatalog } from '../../src/catalog/query-session.ts';
import type { RecordingSummary } from '../../src/cli/summary.ts';
import { generateRobotRun } from '../../src/synth/robot-run.ts';
import { startHarness, type Harness } from '../helpers/pipeline-harness.ts';

let harness: Harness;
let dir: string;
let indexed: RecordingSummary;

const RUN = { sizeBytes: 2 * 1024 * 1024, seed: 3, chunkSizeBytes: 256 * 1024 };

beforeAll(async () => {
  harness = await startHarness('layouts', { MCAPFLOW_SPAN_MAX_BYTES: String(512 * 1024) });
  dir = mkdtempSync(join(tmpdir(), 'mcapflow-layouts-'));
  await generateRobotRun({ path: join(dir, 'indexed.mcap'), ...RUN });
  indexed = await harness.process(join(dir, 'indexed.mcap'));
});

afterAll(async () => {
  await harness?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Independent count with @mcap/core's stream reader. */
function countMessages(path: string): number {
  const reader = new McapStreamReader();
  reader.append(readFileSync(path));
  let count = 0;
  for (let record; (record = reader.nextRecord());) if (record.type === 'Message') count += 1;
  return count;
}

function memoryWritable(): IWritable & { bytes(): Uint8Array } {
  const parts: Uint8Array[] = [];
  let size = 0n;
  return {
    position: () => size,
    write: async (buffer: Uint8Array) => {
      parts.push(buffer.slice());
      size += BigInt(buffer.length);
    },
    bytes: () => Buffer.concat(parts),
  };
}

describe('recording layouts', () => {
  it('commits the indexed run from its summary', () => {
    expect(indexed).toMatchObject({ status: 'committed', recovered: false });
    expect(indexed.messages).toBeGreaterThan(500);
  });

  it('scans a file with no chunk index or summary and commits the same messages', async () => {
    const path = join(dir, 'unindexed.mcap');
    await generateRobotRun({
      path,
      ...RUN,
      writerOptions: { useChunkIndex: false, useSummaryOffsets: false, useStatistics: false, repeatSchemas: false, repeatChannels: false },
    });
    const result = await harness.process(path);
    expect(result).toMatchObject({ status: 'committed', recovered: false, messages: indexed.messages });
    expect(result.topics.map((t) => [t.topic, t.messages])).toEqual(indexed.topics.map((t) => [t.topic, t.messages]));
  });

  it('scans an unchunked file and commits every message', async () => {
    const path = join(dir, 'unchunked.mcap');
    const run = await generateRobotRun({ path, ...RUN, writerOptions: { useChunks: false } });
    expect(countMessages(path)).toBe(run.messages);
    const result = await harness.process(path);
    expect(result).toMatchObject({ status: 'committed', recovered: false, messages: run.messages });
    expect(result.topics.map((t) => t.messages)).toEqual(run.topics.map((t) => t.messages));
  });

  it('recovers the complete chunks of a file truncated mid-chunk', async () => {
    const path = join(dir, 'truncated.mcap');
    writeFileSync(path, readFileSync(join(dir, 'indexed.mcap')));
    truncateSync(path, Math.floor(RUN.sizeBytes * 0.6) + 123);
    const result = await harness.process(path);
    expect(result.status).toBe('committed');
    expect(result.recovered).toBe(true);
    expect(result.reason).toMatch(/truncated/);
    expect(result.messages).toBeGreaterThan(indexed.messages * 0.4);
    expect(result.messages).toBeLessThan(indexed.messages * 0.7);
  });

  it('marks a topic with an unparseable schema undecodable with the parser reason, and commits the rest', async () => {
    const writable = memoryWritable();
    const writer = new McapWriter({ writable, chunkSize: 1024 });
    await writer.start({ profile: 'ros2', library: 'test' });
    const good = await writer.registerSchema({ name: 'std_msgs/msg/String', encoding: 'ros2msg', data: new TextEncoder().encode('string data') });
    const bad = await writer.registerSchema({
      name: 'custom_msgs/msg/Broken',
      encoding: 'ros2msg',
      data: new TextEncoder().encode('int32 x\nthis is { not a field\n'),
    });
    const goodChannel = await writer.registerChannel({ topic: '/ok', schemaId: good, messageEncoding: 'cdr', metadata: new Map() });
    const badChannel = await writer.registerChannel({ topic: '/broken', schemaId: bad, messageEncoding: 'cdr', metadata: new Map() });
    const cdrString = (s: string) => {
      const text = Buffer.from(`${s}\0`);
      const out = Buffer.alloc(8 + text.length);
      out.set([0, 1, 0, 0]);
      out.writeUInt32LE(text.length, 4);
      text.copy(out, 8);
      return out;
    };
    for (let i = 0; i < 5; i++) {
      await writer.addMessage({ channelId: goodChannel, sequence: i, logTime: BigInt(i) * 1000n, publishTime: BigInt(i) * 1000n, data: cdrString(`m${i}`) });
      await writer.addMessage({ channelId: badChannel, sequence: i, logTime: BigInt(i) * 1000n + 1n, publishTime: 0n, data: new Uint8Array(8) });
    }
    await writer.end();
    const path = join(dir, 'bad-schema.mcap');
    writeFileSync(path, writable.bytes());

    const result = await harness.process(path);
    expect(result.status).toBe('committed');
    const broken = result.topics.find((t) => t.topic === '/broken')!;
    expect(broken).toMatchObject({ status: 'undecodable', table: null, messages: 5 });
    expect(broken.reason).toMatch(/custom_msgs\/msg\/Broken could not be parsed: .+/);
    expect(result.topics.find((t) => t.topic === '/ok')).toMatchObject({ status: 'ok', messages: 5, table: 'std_msgs_msg_String' });
    const rows = await queryCatalog(
      { store: harness.services.store, derivedBucket: harness.config.derivedBucket, home: harness.home },
      `SELECT data FROM std_msgs_msg_String WHERE recording_id = '${result.recording_id}' ORDER BY log_time`,
    );
    expect(rows.rows.flat()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  });
});

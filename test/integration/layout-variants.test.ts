/**
 * Every layout the MCAP spec allows, written with @mcap/core's writer options, goes through
 * the pipeline with the same result: chunked and unchunked; with and without chunk indexes,
 * message indexes, statistics and summary offsets; repeated schemas and channels; lz4, zstd
 * and uncompressed chunks; unknown records between others; attachments and metadata into
 * their tables. Also: header.stamp as a column and per-topic timing quality.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { McapWriter, type McapWriterOptions } from '@mcap/core';
import { parse } from '@foxglove/rosmsg';
import { MessageWriter } from '@foxglove/rosmsg2-serialization';
import zstd from '@foxglove/wasm-zstd';
import lz4 from 'lz4js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryCatalog } from '../../src/catalog/query-session.ts';
import type { RecordingSummary } from '../../src/cli/summary.ts';
import { ROS2_SCHEMAS } from '../../src/synth/ros2-schemas.ts';
import { MemoryWritable } from '../helpers/mcap-builders.ts';
import { startHarness, type Harness } from '../helpers/pipeline-harness.ts';

let harness: Harness;
let dir: string;

const IMU = 'sensor_msgs/msg/Imu';
const IMU_COUNT = 60;
const STRING_COUNT = 40;

function imuWriter(): (stampNs: bigint) => Uint8Array {
  const writer = new MessageWriter(parse(ROS2_SCHEMAS[IMU], { ros2: true }));
  return (stampNs) => {
    const message = {
      header: { stamp: { sec: Number(stampNs / 1_000_000_000n), nanosec: Number(stampNs % 1_000_000_000n) }, frame_id: 'imu_link' },
      orientation: { x: 0, y: 0, z: 0, w: 1 },
      orientation_covariance: new Float64Array(9),
      angular_velocity: { x: 0, y: 0, z: 0.1 },
      angular_velocity_covariance: new Float64Array(9),
      linear_acceleration: { x: 0, y: 0, z: 9.81 },
      linear_acceleration_covariance: new Float64Array(9),
    };
    const out = new Uint8Array(writer.calculateByteSize(message));
    writer.writeMessage(message, out.buffer as unknown as Uint8Array);
    return out;
  };
}

function cdrString(text: string): Uint8Array {
  const bytes = Buffer.from(`${text}\0`);
  const out = Buffer.alloc(8 + bytes.length);
  out.set([0, 1, 0, 0]);
  out.writeUInt32LE(bytes.length, 4);
  bytes.copy(out, 8);
  return out;
}

type Compression = 'zstd' | 'lz4' | 'none' | 'mixed';

async function compressor(mode: Compression): Promise<McapWriterOptions['compressChunk']> {
  if (mode === 'none') return undefined;
  await zstd.isLoaded;
  let n = 0;
  return (data) => {
    const which = mode === 'mixed' ? (['zstd', 'lz4', ''] as const)[n++ % 3]! : mode;
    if (which === 'zstd') return { compression: 'zstd', compressedData: zstd.compress(data, 1) };
    if (which === 'lz4') return { compression: 'lz4', compressedData: lz4.compress(data) };
    return { compression: '', compressedData: data };
  };
}

interface Variant {
  compression?: Compression;
  writer?: Partial<Omit<McapWriterOptions, 'writable'>>;
  attachments?: boolean;
  /** Log times of the IMU messages, default evenly every 5 ms. */
  imuTimes?: bigint[];
}

const START = 1_800_000_000_000_000_000n;

async function writeVariant(name: string, variant: Variant): Promise<string> {
  const writable = new MemoryWritable();
  const writer = new McapWriter({ writable, chunkSize: 1500, compressChunk: await compressor(variant.compression ?? 'zstd'), ...variant.writer });
  await writer.start({ profile: 'ros2', library: 'layout-variants' });
  const imuSchema = await writer.registerSchema({ name: IMU, encoding: 'ros2msg', data: new TextEncoder().encode(ROS2_SCHEMAS[IMU]) });
  const stringSchema = await writer.registerSchema({ name: 'std_msgs/msg/String', encoding: 'ros2msg', data: new TextEncoder().encode('string data') });
  const imu = await writer.registerChannel({ topic: '/imu', schemaId: imuSchema, messageEncoding: 'cdr', metadata: new Map() });
  const chatter = await writer.registerChannel({ topic: '/chatter', schemaId: stringSchema, messageEncoding: 'cdr', metadata: new Map() });
  const encodeImu = imuWriter();
  const imuTimes = variant.imuTimes ?? Array.from({ length: IMU_COUNT }, (_, i) => START + BigInt(i) * 5_000_000n);
  for (let i = 0; i < imuTimes.length; i++) {
    const t = imuTimes[i]!;
    await writer.addMessage({ channelId: imu, sequence: i, logTime: t, publishTime: t, data: encodeImu(t - 1000n) });
    if (i < STRING_COUNT)
      await writer.addMessage({ channelId: chatter, sequence: i, logTime: START + BigInt(i) * 7_000_000n, publishTime: 0n, data: cdrString(`line ${i}`) });
  }
  if (variant.attachments) {
    await writer.addAttachment({
      name: 'calibration.yaml',
      mediaType: 'application/yaml',
      logTime: START,
      createTime: START - 5n,
      data: new TextEncoder().encode('camera_matrix: [1, 0, 0]\n'),
    });
    await writer.addAttachment({ name: 'map.png', mediaType: 'image/png', logTime: START + 1n, createTime: START, data: new Uint8Array(20_000).fill(7) });
    await writer.addMetadata({
      name: 'robot',
      metadata: new Map([
        ['id', 'r7'],
        ['firmware', '2.3.1'],
      ]),
    });
    await writer.addMetadata({ name: 'run', metadata: new Map([['operator', 'ada']]) });
  }
  await writer.end();
  const path = join(dir, `${name}.mcap`);
  writeFileSync(path, writable.bytes());
  return path;
}

/** An unindexed, unchunked file with records of an unknown (user) opcode between the others. */
async function withUnknownRecords(name: string): Promise<string> {
  const writable = new MemoryWritable();
  const writer = new McapWriter({ writable, useChunks: false, useChunkIndex: false, useSummaryOffsets: false, useStatistics: false, useMessageIndex: false });
  await writer.start({ profile: 'ros2', library: 'layout-variants' });
  const schemaId = await writer.registerSchema({ name: 'std_msgs/msg/String', encoding: 'ros2msg', data: new TextEncoder().encode('string data') });
  const channelId = await writer.registerChannel({ topic: '/chatter', schemaId, messageEncoding: 'cdr', metadata: new Map() });
  for (let i = 0; i < STRING_COUNT; i++) {
    await writer.addMessage({ channelId, sequence: i, logTime: START + BigInt(i), publishTime: 0n, data: cdrString(`line ${i}`) });
    // A record with a user opcode (0x80) and arbitrary content: readers must step over it.
    if (i % 10 === 0) {
      const content = new Uint8Array(17).fill(0xab);
      const record = new Uint8Array(9 + content.length);
      record[0] = 0x80;
      new DataView(record.buffer).setBigUint64(1, BigInt(content.length), true);
      record.set(content, 9);
      await writable.write(record);
    }
  }
  await writer.end();
  const path = join(dir, `${name}.mcap`);
  writeFileSync(path, writable.bytes());
  return path;
}

async function sql(query: string) {
  return (await queryCatalog({ store: harness.services.store, derivedBucket: harness.config.derivedBucket, home: harness.home }, query)).rows;
}

const variants: [string, Variant][] = [
  ['zstd-indexed', {}],
  ['lz4', { compression: 'lz4' }],
  ['uncompressed', { compression: 'none' }],
  ['mixed-compression', { compression: 'mixed' }],
  ['unchunked', { writer: { useChunks: false } }],
  ['no-chunk-index', { writer: { useChunkIndex: false } }],
  ['no-message-index', { writer: { useMessageIndex: false } }],
  ['no-statistics', { writer: { useStatistics: false } }],
  ['no-summary-offsets', { writer: { useSummaryOffsets: false } }],
  [
    'no-summary-at-all',
    {
      writer: {
        useChunkIndex: false,
        useStatistics: false,
        useSummaryOffsets: false,
        repeatSchemas: false,
        repeatChannels: false,
        useAttachmentIndex: false,
        useMetadataIndex: false,
      },
    },
  ],
  ['repeated-schemas-and-channels', { writer: { repeatSchemas: true, repeatChannels: true } }],
  ['attachments-and-metadata', { attachments: true }],
  ['attachments-unindexed', { attachments: true, writer: { useChunkIndex: false, useAttachmentIndex: false, useMetadataIndex: false } }],
];
const results = new Map<string, RecordingSummary>();

beforeAll(async () => {
  harness = await startHarness('variants', { MCAPFLOW_SPAN_MAX_BYTES: '4096' });
  dir = mkdtempSync(join(tmpdir(), 'mcapflow-variants-'));
  for (const [name, variant] of variants) results.set(name, await harness.process(await writeVariant(name, variant)));
  results.set('unknown-records', await harness.process(await withUnknownRecords('unknown-records')));
  const late = Array.from({ length: IMU_COUNT }, (_, i) => START + BigInt(i) * 5_000_000n + (i >= 30 ? 200_000_000n : 0n));
  [late[10], late[11]] = [late[11]!, late[10]!];
  results.set('timing', await harness.process(await writeVariant('timing', { imuTimes: late })));
}, 120_000);

afterAll(async () => {
  await harness?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('MCAP layouts', () => {
  it.each(variants.map(([name]) => [name]))('%s commits every message of both topics', (name) => {
    const result = results.get(name)!;
    expect(result).toMatchObject({ status: 'committed', recovered: false, messages: IMU_COUNT + STRING_COUNT });
    expect(Object.fromEntries(result.topics.map((t) => [t.topic, [t.messages, t.status, t.decode_errors]]))).toEqual({
      '/imu': [IMU_COUNT, 'ok', 0],
      '/chatter': [STRING_COUNT, 'ok', 0],
    });
  });

  it('decodes the same values whatever the layout', async () => {
    const ids = [...results].filter(([name]) => variants.some(([v]) => v === name)).map(([, r]) => `'${r.recording_id}'`);
    const rows = await sql(
      `SELECT count(DISTINCT recording_id), count(*), sum(linear_acceleration.z) FROM sensor_msgs_msg_Imu WHERE recording_id IN (${ids.join(', ')})`,
    );
    expect(rows[0]![0]).toBe(variants.length);
    expect(rows[0]![1]).toBe(variants.length * IMU_COUNT);
    expect(rows[0]![2]).toBeCloseTo(variants.length * IMU_COUNT * 9.81, 6);
  });

  it('steps over records of unknown opcodes', () => {
    expect(results.get('unknown-records')).toMatchObject({ status: 'committed', recovered: false, messages: STRING_COUNT });
  });

  it.each([['attachments-and-metadata'], ['attachments-unindexed']])('%s: attachments by reference and metadata in their tables', async (name) => {
    const id = results.get(name)!.recording_id;
    const attachments = await sql(
      `SELECT name, media_type, size, data.uri, data.offset, data.length, data.sha256, data.inline IS NULL FROM attachments WHERE recording_id = '${id}' ORDER BY name`,
    );
    expect(attachments).toHaveLength(2);
    expect(attachments[0]).toEqual([
      'calibration.yaml',
      'application/yaml',
      25,
      expect.stringMatching(/^s3:\/\/raw\/local\/[0-9a-f]{16}\/attachments-/),
      expect.any(Number),
      25,
      expect.stringMatching(/^[0-9a-f]{64}$/),
      true,
    ]);
    // The reference reads back the exact bytes from the raw recording.
    const [, , , uri, offset, length, sha] = attachments[1] as [string, string, number, string, number, number, string];
    const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri)!;
    const bytes = await harness.services.store.getRange(bucket!, key!, offset, offset + length, 'span');
    expect(Buffer.from(bytes).equals(Buffer.alloc(20_000, 7))).toBe(true);
    const { createHash } = await import('node:crypto');
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(sha);
    const metadata = await sql(`SELECT name, metadata FROM metadata WHERE recording_id = '${id}' ORDER BY name`);
    expect(metadata).toEqual([
      [
        'robot',
        [
          { key: 'id', value: 'r7' },
          { key: 'firmware', value: '2.3.1' },
        ],
      ],
      ['run', [{ key: 'operator', value: 'ada' }]],
    ]);
  });
});

describe('time columns and timing quality', () => {
  it('keeps header.stamp as header_stamp nanoseconds next to log_time', async () => {
    const id = results.get('zstd-indexed')!.recording_id;
    const rows = await sql(`SELECT log_time - header_stamp, header.stamp.sec FROM sensor_msgs_msg_Imu WHERE recording_id = '${id}' ORDER BY log_time LIMIT 2`);
    expect(rows).toEqual([
      [1000, Number((START - 1000n) / 1_000_000_000n)],
      [1000, Number((START + 5_000_000n - 1000n) / 1_000_000_000n)],
    ]);
    const noHeader = await sql(`SELECT * FROM std_msgs_msg_String LIMIT 1`);
    expect(noHeader[0]).toHaveLength(5);
  });

  it('records out-of-order messages and gaps over 3× the median period per topic', async () => {
    const id = results.get('timing')!.recording_id;
    const rows = await sql(`SELECT topic, out_of_order, gaps, median_period_ns, max_gap_ns FROM topics WHERE recording_id = '${id}' ORDER BY topic`);
    expect(rows).toEqual([
      ['/chatter', 0, 0, 7_000_000, 7_000_000],
      ['/imu', 1, 1, 5_000_000, 205_000_000],
    ]);
  });
});

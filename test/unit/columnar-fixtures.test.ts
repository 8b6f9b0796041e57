/**
 * The columnar fast path against the object path on real recordings: every ros2msg + cdr
 * channel of the rosbag2 fixtures, and a synthetic robot run (Imu, Odometry, TF, PointCloud2,
 * CompressedImage, the last two with blob-sized byte arrays).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { McapIndexedReader, type McapTypes } from '@mcap/core';
import { loadDecompressHandlers } from '@mcap/support';
import * as arrow from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planColumns } from '../../src/decode/column-plan.ts';
import { ColumnarCdrTableBuilder, tableDifference } from '../../src/decode/columnar/index.ts';
import { compileRos2Schema } from '../../src/decode/ros2msg.ts';
import { SchemaTableBuilder, type BlobRef, type BlobSink } from '../../src/decode/table-builder.ts';
import { generateRobotRun } from '../../src/synth/robot-run.ts';
import { fixtures } from '../helpers/fixtures.ts';

function recordingSink(): BlobSink & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    put(bytes: Uint8Array): BlobRef {
      const ref = {
        uri: `s3://derived/objects/blobs/pack-${calls.length >> 2}.bin`,
        offset: calls.length * 1_000_000,
        length: bytes.length,
        sha256: `${bytes.length}-${calls.length}`,
        chunkOffset: null,
      };
      calls.push(`${Buffer.from(bytes).toString('base64')} -> ${JSON.stringify(ref)}`);
      return ref;
    },
  };
}

interface Channel {
  topic: string;
  schemaName: string;
  schemaText: string;
  messages: McapTypes.Message[];
}

/** ros2msg + cdr channels of a recording, with their messages in log-time order. */
async function cdrChannels(bytes: Uint8Array): Promise<{ channels: Channel[]; skipped: string[] }> {
  const reader = await McapIndexedReader.Initialize({
    readable: { size: async () => BigInt(bytes.byteLength), read: async (offset, size) => bytes.subarray(Number(offset), Number(offset + size)) },
    decompressHandlers: await loadDecompressHandlers(),
  });
  const channels = new Map<number, Channel>();
  const skipped: string[] = [];
  for (const [id, channel] of reader.channelsById) {
    const schema = reader.schemasById.get(channel.schemaId);
    if (schema?.encoding !== 'ros2msg' || channel.messageEncoding !== 'cdr') {
      skipped.push(channel.topic);
      continue;
    }
    channels.set(id, { topic: channel.topic, schemaName: schema.name, schemaText: new TextDecoder().decode(schema.data), messages: [] });
  }
  for await (const message of reader.readMessages()) channels.get(message.channelId)?.messages.push(message);
  return { channels: [...channels.values()], skipped };
}

function expectIdenticalTables(channel: Channel, blobThresholdBytes: number): arrow.Table {
  const compiled = compileRos2Schema(channel.schemaText);
  const columns = planColumns(compiled.definitions, { blobThresholdBytes });
  const objectBlobs = recordingSink();
  const columnarBlobs = recordingSink();
  const object = new SchemaTableBuilder(columns, { blobThresholdBytes, blobs: objectBlobs });
  const columnar = new ColumnarCdrTableBuilder(compiled.definitions, columns, { blobThresholdBytes, blobs: columnarBlobs });
  for (const m of channel.messages) {
    object.append('recording', channel.topic, m.logTime, m.publishTime, compiled.decode(m.data));
    columnar.append('recording', channel.topic, m.logTime, m.publishTime, m.data);
  }
  const expected = object.finish();
  const actual = columnar.finish();
  expect(actual.numRows).toBe(channel.messages.length);
  expect(tableDifference(actual, expected)).toBeUndefined();
  expect(Buffer.from(arrow.tableToIPC(actual)).equals(Buffer.from(arrow.tableToIPC(expected)))).toBe(true);
  expect(columnarBlobs.calls).toEqual(objectBlobs.calls);
  return actual;
}

describe('columnar CDR decoding on the rosbag2 fixtures', () => {
  const all = fixtures();

  it('covers every fixture', () => {
    expect(all.map((f) => f.name).sort()).toEqual(['cdr_test', 'convert_a', 'only_topics', 'talker', 'test_bag_for_seek', 'wrong_rmw_test']);
  });

  it.each(all.map((f) => [f.name, f.path] as const))('%s: every ros2msg+cdr channel gives the object path table', async (name, path) => {
    const { channels, skipped } = await cdrChannels(await readFile(path));
    if (name === 'wrong_rmw_test') expect(skipped.length).toBe(2);
    else expect(skipped).toEqual([]);
    for (const channel of channels) {
      // 1 byte: the fixed uint8[3] arrays of test_msgs/Arrays become blobs too.
      for (const threshold of [4096, 1]) expectIdenticalTables(channel, threshold);
    }
  });

  it('decodes the messages the fixtures hold (not only empty tables)', async () => {
    const { channels } = await cdrChannels(await readFile(all.find((f) => f.name === 'cdr_test')!.path));
    const arrays = channels.find((c) => c.schemaName === 'test_msgs/msg/Arrays')!;
    const table = expectIdenticalTables(arrays, 4096);
    expect(table.numRows).toBeGreaterThan(0);
    expect(table.getChild('string_values_default')!.get(0)!.toArray()).toEqual(['', 'max value', 'min value']);
    expect(table.getChild('int64_values_default')!.get(0)!.toArray()).toEqual(BigInt64Array.from([0n, 9223372036854775807n, -9223372036854775808n]));
  });
});

describe('columnar CDR decoding on a generated robot run', () => {
  let dir: string;
  let channels: Channel[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mcapflow-columnar-'));
    const path = join(dir, 'run.mcap');
    await generateRobotRun({ path, sizeBytes: 3_000_000, seed: 7 });
    channels = (await cdrChannels(await readFile(path))).channels;
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('has all five streams', () => {
    expect(channels.map((c) => c.schemaName).sort()).toEqual([
      'nav_msgs/msg/Odometry',
      'sensor_msgs/msg/CompressedImage',
      'sensor_msgs/msg/Imu',
      'sensor_msgs/msg/PointCloud2',
      'tf2_msgs/msg/TFMessage',
    ]);
    for (const c of channels) expect(c.messages.length).toBeGreaterThan(10);
  });

  it.each([4096, 64 * 1024 * 1024])('gives the object path tables with blob threshold %d', (threshold) => {
    for (const channel of channels) expectIdenticalTables(channel, threshold);
  });
});

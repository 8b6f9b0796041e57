import { createHash } from 'node:crypto';
import { mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from '@foxglove/rosmsg';
import { MessageReader } from '@foxglove/rosmsg2-serialization';
import { McapIndexedReader, McapStreamReader, type McapTypes } from '@mcap/core';
import { loadDecompressHandlers } from '@mcap/support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_START_TIME_NS, generateRobotRun, type RobotRunSummary } from '../../src/synth/robot-run.ts';
import { ROS2_SCHEMAS, ROS2_SCHEMA_NAMES } from '../../src/synth/ros2-schemas.ts';

const MiB = 1024 * 1024;

const EXPECTED_CHANNELS: Record<string, { schema: string; rateHz: number }> = {
  '/imu': { schema: 'sensor_msgs/msg/Imu', rateHz: 200 },
  '/odom': { schema: 'nav_msgs/msg/Odometry', rateHz: 50 },
  '/tf': { schema: 'tf2_msgs/msg/TFMessage', rateHz: 100 },
  '/lidar/points': { schema: 'sensor_msgs/msg/PointCloud2', rateHz: 10 },
  '/camera/image/compressed': { schema: 'sensor_msgs/msg/CompressedImage', rateHz: 15 },
};

interface Stamp {
  sec: number;
  nanosec: number;
}
interface Stamped {
  header: { stamp: Stamp; frame_id: string };
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcapflow-synth-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function openIndexed(path: string) {
  const fh = await open(path, 'r');
  const size = BigInt((await fh.stat()).size);
  const reader = await McapIndexedReader.Initialize({
    readable: {
      size: async () => size,
      read: async (offset, length) => {
        const buf = new Uint8Array(Number(length));
        await fh.read(buf, 0, buf.byteLength, Number(offset));
        return buf;
      },
    },
    decompressHandlers: await loadDecompressHandlers(),
  });
  return { reader, close: () => fh.close() };
}

async function streamRecords(path: string, includeChunks = false): Promise<McapTypes.TypedMcapRecord[]> {
  const stream = new McapStreamReader({
    decompressHandlers: await loadDecompressHandlers(),
    validateCrcs: true,
    includeChunks,
  });
  stream.append(await readFile(path));
  const records: McapTypes.TypedMcapRecord[] = [];
  for (let rec = stream.nextRecord(); rec; rec = stream.nextRecord()) records.push(rec);
  expect(stream.done()).toBe(true);
  return records;
}

async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

function stampNs(stamp: Stamp): bigint {
  return BigInt(stamp.sec) * 1_000_000_000n + BigInt(stamp.nanosec);
}

describe('ROS2_SCHEMAS', () => {
  it('are rosbag2-style concatenations that @foxglove/rosmsg parses', () => {
    for (const name of ROS2_SCHEMA_NAMES) {
      const text = ROS2_SCHEMAS[name];
      const defs = parse(text, { ros2: true });
      expect(defs[0]?.name).toBeUndefined(); // the root definition comes first, unnamed
      expect(defs.length).toBeGreaterThan(1);
      for (const line of text.split('\n').filter((l) => l.startsWith('='))) expect(line).toBe('='.repeat(80));
      expect(text).toMatch(/\nMSG: std_msgs\/Header\n/);
    }
    const pointField = parse(ROS2_SCHEMAS['sensor_msgs/msg/PointCloud2'], { ros2: true }).find((d) => d.name === 'sensor_msgs/PointField');
    const constants = Object.fromEntries((pointField?.definitions ?? []).filter((f) => f.isConstant).map((f) => [f.name, f.value]));
    expect(constants).toEqual({ INT8: 1, UINT8: 2, INT16: 3, UINT16: 4, INT32: 5, UINT32: 6, FLOAT32: 7, FLOAT64: 8 });
  });
});

describe('generateRobotRun', () => {
  let run: RobotRunSummary;
  let runPath: string;

  beforeAll(async () => {
    runPath = join(dir, 'run-a.mcap');
    run = await generateRobotRun({ path: runPath, sizeBytes: 2 * MiB, seed: 7 });
  });

  it('writes a ros2 profile file with the five channels', async () => {
    const { reader, close } = await openIndexed(runPath);
    try {
      expect(reader.header.profile).toBe('ros2');
      expect(reader.header.library).toBe('mcapflow-synth/1');
      const channels = [...reader.channelsById.values()];
      expect(channels.map((c) => c.topic).sort()).toEqual(Object.keys(EXPECTED_CHANNELS).sort());
      for (const channel of channels) {
        const schema = reader.schemasById.get(channel.schemaId);
        expect(channel.messageEncoding).toBe('cdr');
        expect(channel.metadata.get('offered_qos_profiles')).toMatch(/reliability: [12]/);
        expect(schema?.encoding).toBe('ros2msg');
        expect(schema?.name).toBe(EXPECTED_CHANNELS[channel.topic]?.schema);
      }
      expect(reader.chunkIndexes.every((c) => c.compression === 'zstd')).toBe(true);
      expect(reader.statistics?.messageCount).toBe(BigInt(run.messages));
    } finally {
      await close();
    }
  });

  it('has per-channel counts that follow the sensor rates', () => {
    const seconds = Number(run.durationNs) / 1e9;
    expect(seconds).toBeGreaterThanOrEqual(1);
    for (const t of run.topics) {
      expect(t.schema).toBe(EXPECTED_CHANNELS[t.topic]?.schema);
      expect(t.messages).toBe(Math.ceil(seconds * (EXPECTED_CHANNELS[t.topic]?.rateHz ?? NaN) - 1e-9));
    }
    const count = (topic: string) => run.topics.find((t) => t.topic === topic)?.messages ?? 0;
    expect(count('/imu')).toBe(20 * count('/lidar/points'));
    expect(count('/tf')).toBe(2 * count('/odom'));
  });

  it('stores messages in log-time order with consistent sequences and times', async () => {
    const records = await streamRecords(runPath);
    const messages = records.filter((r): r is McapTypes.TypedMcapRecords['Message'] => r.type === 'Message');
    expect(messages.length).toBe(run.messages);
    expect(messages[0]?.logTime).toBe(DEFAULT_START_TIME_NS);
    const nextSeq = new Map<number, number>();
    let last = 0n;
    for (const m of messages) {
      expect(m.logTime).toBeGreaterThanOrEqual(last);
      expect(m.publishTime).toBe(m.logTime);
      expect(m.sequence).toBe(nextSeq.get(m.channelId) ?? 0);
      nextSeq.set(m.channelId, m.sequence + 1);
      last = m.logTime;
    }
    expect(last - DEFAULT_START_TIME_NS).toBeLessThan(run.durationNs);
  });

  it('decodes every message with plausible sensor content', async () => {
    const { reader, close } = await openIndexed(runPath);
    try {
      const decoders = new Map<number, { topic: string; reader: MessageReader }>();
      for (const channel of reader.channelsById.values()) {
        const schema = reader.schemasById.get(channel.schemaId);
        if (!schema) throw new Error(`missing schema for ${channel.topic}`);
        const defs = parse(new TextDecoder().decode(schema.data), { ros2: true });
        decoders.set(channel.id, { topic: channel.topic, reader: new MessageReader(defs) });
      }
      let imuAccelZ = 0;
      let imuCount = 0;
      const seen = new Set<string>();
      for await (const m of reader.readMessages()) {
        const decoder = decoders.get(m.channelId);
        if (!decoder) throw new Error(`unknown channel ${m.channelId}`);
        const msg = decoder.reader.readMessage<Record<string, unknown>>(m.data);
        expect(decoder.reader.lastReadHadTrailingBytes()).toBe(false);
        seen.add(decoder.topic);
        if (decoder.topic === '/tf') {
          const transforms = msg.transforms as (Stamped & { child_frame_id: string })[];
          expect(transforms.length).toBeGreaterThanOrEqual(2);
          expect(transforms.length).toBeLessThanOrEqual(3);
          expect(transforms[0]?.child_frame_id).toBe('base_link');
          for (const t of transforms) expect(stampNs(t.header.stamp)).toBe(m.logTime);
          continue;
        }
        const { header } = msg as unknown as Stamped;
        expect(stampNs(header.stamp)).toBe(m.logTime);
        switch (decoder.topic) {
          case '/imu': {
            expect(header.frame_id).toBe('imu_link');
            const acc = msg.linear_acceleration as { z: number };
            imuAccelZ += acc.z;
            imuCount++;
            expect(acc.z).toBeGreaterThan(9.6);
            expect(acc.z).toBeLessThan(10);
            const q = msg.orientation as { x: number; y: number; z: number; w: number };
            expect(Math.hypot(q.x, q.y, q.z, q.w)).toBeCloseTo(1, 9);
            expect((msg.linear_acceleration_covariance as number[])[0]).toBeGreaterThan(0);
            break;
          }
          case '/odom': {
            expect(header.frame_id).toBe('odom');
            expect(msg.child_frame_id).toBe('base_link');
            const twist = (msg.twist as { twist: { linear: { x: number } } }).twist;
            expect(twist.linear.x).toBeGreaterThan(0.5);
            expect(twist.linear.x).toBeLessThan(2);
            break;
          }
          case '/lidar/points': {
            expect(header.frame_id).toBe('lidar_link');
            const data = msg.data as Uint8Array;
            expect(msg.height).toBe(1);
            expect(msg.point_step).toBe(16);
            expect(msg.is_dense).toBe(true);
            expect((msg.width as number) * (msg.point_step as number)).toBe(data.length);
            expect(msg.row_step).toBe(data.length);
            expect((msg.fields as { name: string; datatype: number }[]).map((f) => `${f.name}:${f.datatype}`)).toEqual(['x:7', 'y:7', 'z:7', 'intensity:7']);
            const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
            for (let off = 0; off < data.length; off += 16 * 97) {
              const range = Math.hypot(view.getFloat32(off, true), view.getFloat32(off + 4, true));
              expect(range).toBeGreaterThan(0.1);
              expect(range).toBeLessThan(40);
              const intensity = view.getFloat32(off + 12, true);
              expect(intensity).toBeGreaterThanOrEqual(0);
              expect(intensity).toBeLessThanOrEqual(255);
            }
            break;
          }
          case '/camera/image/compressed': {
            expect(header.frame_id).toBe('camera_link');
            expect(msg.format).toBe('jpeg');
            const data = msg.data as Uint8Array;
            expect(data.length).toBeGreaterThanOrEqual(30_000);
            expect(data.length).toBeLessThanOrEqual(60_000);
            expect([...data.subarray(0, 4)]).toEqual([0xff, 0xd8, 0xff, 0xe0]);
            expect([...data.subarray(-2)]).toEqual([0xff, 0xd9]);
            break;
          }
          default:
            throw new Error(`unexpected topic ${decoder.topic}`);
        }
      }
      expect(seen.size).toBe(5);
      expect(imuAccelZ / imuCount).toBeCloseTo(9.81, 1);
    } finally {
      await close();
    }
  });

  it('is deterministic for a seed and differs across seeds', async () => {
    const again = join(dir, 'run-a-again.mcap');
    const other = join(dir, 'run-b.mcap');
    await generateRobotRun({ path: again, sizeBytes: 2 * MiB, seed: 7 });
    await generateRobotRun({ path: other, sizeBytes: 2 * MiB, seed: 8 });
    const [a, b, c] = await Promise.all([sha256(runPath), sha256(again), sha256(other)]);
    expect(b).toBe(a);
    expect(c).not.toBe(a);
  });
});

describe('generateRobotRun sizing and layout options', () => {
  it('lands within 15% of a 20 MB target', async () => {
    const path = join(dir, 'run-20mb.mcap');
    let lastProgress = 0;
    const target = 20 * 1000 * 1000;
    const summary = await generateRobotRun({ path, sizeBytes: target, onProgress: (n) => (lastProgress = n) });
    const { size } = await stat(path);
    expect(summary.bytes).toBe(size);
    expect(lastProgress).toBe(size);
    expect(Math.abs(size / target - 1)).toBeLessThan(0.15);
    await rm(path);
  });

  it('passes writer options through (uncompressed, small chunks, no chunk index)', async () => {
    const path = join(dir, 'run-layout.mcap');
    const summary = await generateRobotRun({
      path,
      sizeBytes: 1.5 * MiB,
      compression: 'none',
      chunkSizeBytes: 256 * 1024,
      writerOptions: { useChunkIndex: false },
    });
    const records = await streamRecords(path, true);
    const chunks = records.filter((r) => r.type === 'Chunk');
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks.every((c) => c.type === 'Chunk' && c.compression === '')).toBe(true);
    expect(records.some((r) => r.type === 'ChunkIndex')).toBe(false);
    expect(records.filter((r) => r.type === 'Message').length).toBe(summary.messages);
    await rm(path);
  });
});

import { describe, expect, it } from 'vitest';
import { buildPlan, type ClassifyChannel, type PlanInputs } from '../../src/domain/plan.ts';
import type { Segment } from '../../src/domain/spans.ts';
import type { ChannelInfo, SchemaInfo } from '../../src/mcap/recording-index.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');

function schema(id: number, name: string, text: string, encoding = 'ros2msg'): SchemaInfo {
  return { id, name, encoding, data: b64(text) };
}

function channel(id: number, schemaId: number, topic: string, messageEncoding = 'cdr'): ChannelInfo {
  return { id, schemaId, topic, messageEncoding, metadata: {} };
}

function chunk(offset: number, length: number, start: number, end: number): Segment {
  return {
    kind: 'chunk',
    offset,
    length,
    compression: 'zstd',
    compressedSize: length - 40,
    uncompressedSize: length * 2,
    messageStartTime: String(start),
    messageEndTime: String(end),
  };
}

/** Tiny classifier: ros2msg + cdr only, fingerprint = schema text. */
const classify: ClassifyChannel = (s, c) => {
  if (s === undefined) return { ok: false, reason: `no schema for ${c.topic}` };
  if (c.messageEncoding !== 'cdr') return { ok: false, reason: `encoding ${c.messageEncoding} unsupported` };
  return { ok: true, fingerprint: s.data };
};

function inputs(overrides: Partial<PlanInputs['index']> = {}): PlanInputs {
  return {
    recordingId: '0123456789abcdef0123456789abcdef',
    source: { bucket: 'raw', key: 'run.mcap', size: 5000, etag: 'abc' },
    index: {
      profile: 'ros2',
      library: 'test',
      planner: 'summary',
      schemas: [schema(1, 'sensor_msgs/msg/Imu', 'float64 x'), schema(2, 'std_msgs/msg/String', 'string data')],
      channels: [channel(3, 2, '/chatter'), channel(1, 1, '/imu'), channel(2, 1, '/imu_raw'), channel(4, 2, '/bad', 'json')],
      segments: [chunk(100, 400, 10, 20), chunk(540, 400, 21, 30), chunk(980, 400, 31, 40)],
      damage: ['the file is truncated: it ends at offset 1400 without a footer or summary'],
      ...overrides,
    },
    spanMaxBytes: 900,
    blobThresholdBytes: 4096,
    classify,
  };
}

describe('buildPlan', () => {
  it('plans one topic per channel in channel-id order, mapping decodable ones to their schema table', () => {
    const plan = buildPlan(inputs());
    expect(plan.topics.map((t) => [t.channelId, t.topic, t.table, t.status])).toEqual([
      [1, '/imu', 'sensor_msgs_msg_Imu', 'ok'],
      [2, '/imu_raw', 'sensor_msgs_msg_Imu', 'ok'],
      [3, '/chatter', 'std_msgs_msg_String', 'ok'],
      [4, '/bad', null, 'undecodable'],
    ]);
    expect(plan.topics[0]).toMatchObject({ schemaName: 'sensor_msgs/msg/Imu', schemaEncoding: 'ros2msg', messageEncoding: 'cdr', reason: null });
  });

  it("keeps an undecodable topic with the classifier's reason and no table", () => {
    const plan = buildPlan(inputs());
    const bad = plan.topics.find((t) => t.topic === '/bad')!;
    expect(bad).toMatchObject({ table: null, status: 'undecodable', reason: 'encoding json unsupported', schemaName: 'std_msgs/msg/String' });
  });

  it('keeps a channel whose schema is missing, with an empty schema name', () => {
    const plan = buildPlan(inputs({ channels: [channel(1, 9, '/orphan')] }));
    expect(plan.topics).toEqual([
      {
        channelId: 1,
        topic: '/orphan',
        schemaId: 9,
        schemaName: '',
        schemaEncoding: '',
        messageEncoding: 'cdr',
        table: null,
        status: 'undecodable',
        reason: 'no schema for /orphan',
      },
    ]);
    expect(plan.tables).toEqual([]);
  });

  it('decodes only the first of two different definitions sharing a schema name', () => {
    const plan = buildPlan(
      inputs({
        schemas: [schema(1, 'pkg/msg/Pose', 'float64 x'), schema(2, 'pkg/msg/Pose', 'float64 x\nfloat64 y')],
        channels: [channel(1, 1, '/a'), channel(2, 2, '/b'), channel(3, 1, '/c')],
      }),
    );
    expect(plan.topics.map((t) => [t.topic, t.table, t.status])).toEqual([
      ['/a', 'pkg_msg_Pose', 'ok'],
      ['/b', null, 'undecodable'],
      ['/c', 'pkg_msg_Pose', 'ok'],
    ]);
    expect(plan.topics[1]!.reason).toContain('pkg/msg/Pose');
    expect(plan.topics[1]!.reason).toContain('two different definitions');
    expect(plan.tables).toEqual(['pkg_msg_Pose']);
  });

  it('lets two schema ids with identical definitions share one table', () => {
    const plan = buildPlan(
      inputs({
        schemas: [schema(1, 'pkg/msg/Pose', 'float64 x'), schema(2, 'pkg/msg/Pose', 'float64 x')],
        channels: [channel(1, 1, '/a'), channel(2, 2, '/b')],
      }),
    );
    expect(plan.topics.map((t) => t.status)).toEqual(['ok', 'ok']);
  });

  it('lists the receiving tables once each, sorted, and not those of undecodable topics only', () => {
    const plan = buildPlan(
      inputs({
        schemas: [schema(1, 'z_pkg/msg/Z', 'int8 z'), schema(2, 'a_pkg/msg/A', 'int8 a'), schema(3, 'm_pkg/msg/M', 'int8 m')],
        channels: [channel(1, 1, '/z1'), channel(2, 2, '/a1'), channel(3, 1, '/z2'), channel(4, 3, '/m', 'json')],
      }),
    );
    expect(plan.tables).toEqual(['a_pkg_msg_A', 'z_pkg_msg_Z']);
  });

  it('plans spans with spanMaxBytes and records the parameters', () => {
    const plan = buildPlan(inputs());
    expect(plan.spans.map((s) => [s.start, s.end, s.messageStartTime, s.messageEndTime])).toEqual([
      [100, 940, '10', '30'],
      [980, 1380, '31', '40'],
    ]);
    expect(plan.params).toEqual({ spanMaxBytes: 900, blobThresholdBytes: 4096 });
    expect(buildPlan({ ...inputs(), spanMaxBytes: 100_000 }).spans).toHaveLength(1);
  });

  it('carries source, profile, planner and damage through unchanged', () => {
    const plan = buildPlan(inputs({ planner: 'scan' }));
    expect(plan).toMatchObject({
      format: 'mcapflow.plan/2',
      recordingId: '0123456789abcdef0123456789abcdef',
      source: { bucket: 'raw', key: 'run.mcap', size: 5000, etag: 'abc' },
      profile: 'ros2',
      library: 'test',
      planner: 'scan',
      damage: ['the file is truncated: it ends at offset 1400 without a footer or summary'],
    });
  });
});

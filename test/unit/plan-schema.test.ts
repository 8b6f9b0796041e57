import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/domain/canonical-json.ts';
import { buildPlan } from '../../src/domain/plan.ts';
import { parsePlan } from '../../src/domain/plan-schema.ts';

const plan = buildPlan({
  recordingId: 'aaaabbbbccccddddeeeeffff00001111',
  source: { bucket: 'raw', key: 'r.mcap', size: 5000, etag: 'e' },
  index: {
    profile: 'ros2',
    library: 'test',
    planner: 'summary',
    schemas: [{ id: 1, name: 'std_msgs/msg/String', encoding: 'ros2msg', data: Buffer.from('string data').toString('base64') }],
    channels: [{ id: 1, schemaId: 1, topic: '/chatter', messageEncoding: 'cdr', metadata: {} }],
    segments: [
      {
        kind: 'chunk',
        offset: 45,
        length: 900,
        compression: 'zstd',
        compressedSize: 850,
        uncompressedSize: 2000,
        messageStartTime: '1',
        messageEndTime: '9',
        messageIndex: { offset: 945, length: 40 },
      },
    ],
    damage: [],
    statistics: {
      messageCount: '3',
      messageStartTime: '1',
      messageEndTime: '9',
      chunkCount: 1,
      attachmentCount: 0,
      metadataCount: 0,
      channelMessageCounts: { '1': '3' },
    },
  },
  spanMaxBytes: 1 << 20,
  blobThresholdBytes: 4096,
  classify: () => ({ ok: true, fingerprint: 'x' }),
});

const refusal = (text: string) => {
  try {
    parsePlan(text, 'objects/plans/ab/ab.json');
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('parsed');
};

describe('parsePlan', () => {
  it('reads back what the dispatcher stores', () => {
    expect(parsePlan(canonicalJson(plan), 'k')).toEqual(plan);
  });

  it('refuses what is not JSON, another format version, or a field that does not fit, naming the plan', () => {
    expect(refusal('{')).toMatch(/plan objects\/plans\/ab\/ab.json is not JSON/);
    expect(refusal(JSON.stringify({ ...plan, format: 'mcapflow.plan/1' }))).toMatch(/format "mcapflow.plan\/1"; this version reads mcapflow.plan\/2/);
    expect(refusal(JSON.stringify({ ...plan, spans: [{ ...plan.spans[0], start: -1 }] }))).toMatch(/spans\.0\.start/);
    expect(refusal(JSON.stringify({ ...plan, recordingId: 'nope' }))).toMatch(/recordingId/);
  });
});

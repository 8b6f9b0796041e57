import { describe, expect, it } from 'vitest';
import { buildManifest, serializeManifest, type ManifestInputs } from '../../src/domain/manifest.ts';
import { buildPlan, type ClassifyChannel, type RecordingPlan } from '../../src/domain/plan.ts';
import type { ConvertResult, ExtractResult, IndexResult } from '../../src/domain/work.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');

const classify: ClassifyChannel = (s, c) =>
  s !== undefined && c.messageEncoding === 'cdr' ? { ok: true, fingerprint: s.data } : { ok: false, reason: `cannot decode ${c.messageEncoding}` };

function plan(damage: string[] = []): RecordingPlan {
  return buildPlan({
    recordingId: 'aaaabbbbccccddddeeeeffff00001111',
    source: { bucket: 'raw', key: 'runs/r1.mcap', size: 3000, etag: 'e1' },
    index: {
      profile: 'ros2',
      library: 'rosbag2',
      planner: 'summary',
      schemas: [
        { id: 1, name: 'sensor_msgs/msg/Imu', encoding: 'ros2msg', data: b64('float64 x') },
        { id: 2, name: 'std_msgs/msg/String', encoding: 'ros2msg', data: b64('string data') },
      ],
      channels: [
        { id: 1, schemaId: 1, topic: '/imu', messageEncoding: 'cdr', metadata: {} },
        { id: 2, schemaId: 2, topic: '/chatter', messageEncoding: 'cdr', metadata: {} },
        { id: 3, schemaId: 2, topic: '/weird', messageEncoding: 'wrong_format', metadata: {} },
        { id: 4, schemaId: 1, topic: '/silent', messageEncoding: 'cdr', metadata: {} },
      ],
      segments: [0, 1, 2].map((i) => ({
        kind: 'chunk' as const,
        offset: 100 + i * 1000,
        length: 900,
        compression: 'zstd',
        compressedSize: 860,
        uncompressedSize: 2000,
        messageStartTime: String(i * 100),
        messageEndTime: String(i * 100 + 99),
      })),
      damage,
    },
    spanMaxBytes: 950,
    blobThresholdBytes: 4096,
    classify,
  });
}

/** What each span's extract read: per-channel counts, blobs, decode errors, damage. */
const extract: ExtractResult[] = [
  {
    kind: 'extract',
    span: 0,
    operators: ['messages@2'],
    parts: [],
    blobs: [{ key: 'objects/blobs/cc/cc01.bin', bytes: 10, sha256: 'c'.repeat(64) }],
    channels: [
      { channelId: 1, count: 10, firstLogTime: '9', lastLogTime: '95' },
      { channelId: 2, count: 5, firstLogTime: '20', lastLogTime: '80' },
    ],
    damaged: [],
    mismatches: [],
    decodeErrors: [{ channelId: 2, count: 2, first: 'bad string' }],
  },
  {
    kind: 'extract',
    span: 1,
    operators: ['messages@2'],
    parts: [],
    blobs: [{ key: 'objects/blobs/aa/aa01.bin', bytes: 20, sha256: 'a'.repeat(64) }],
    channels: [
      { channelId: 1, count: 12, firstLogTime: '100', lastLogTime: '199' },
      { channelId: 3, count: 1, firstLogTime: '150', lastLogTime: '150' },
    ],
    damaged: [],
    mismatches: [],
    decodeErrors: [],
  },
  {
    kind: 'extract',
    span: 2,
    operators: ['messages@2'],
    parts: [],
    blobs: [],
    channels: [{ channelId: 2, count: 4, firstLogTime: '10', lastLogTime: '250' }],
    damaged: [{ offset: 2100, reason: 'chunk at offset 2100 CRC mismatch (stored 1, computed 2)' }],
    mismatches: [],
    decodeErrors: [
      { channelId: 2, count: 3, first: 'bad string' },
      { channelId: 1, count: 1, first: 'short' },
    ],
  },
];

const index: IndexResult[] = [];

const convert: ConvertResult[] = [
  {
    kind: 'convert',
    table: 'std_msgs_msg_String',
    operator: 'schema-tables@3',
    objects: [{ key: 'objects/tables/bb/bb.parquet', bytes: 500, sha256: 'b'.repeat(64), rows: 9, minLogTime: '10', maxLogTime: '250', topics: ['/chatter'] }],
  },
  {
    kind: 'convert',
    table: 'sensor_msgs_msg_Imu',
    operator: 'schema-tables@3',
    objects: [{ key: 'objects/tables/dd/dd.parquet', bytes: 900, sha256: 'd'.repeat(64), rows: 22, minLogTime: '9', maxLogTime: '199', topics: ['/imu'] }],
  },
];

function inputs(overrides: Partial<ManifestInputs> = {}): ManifestInputs {
  return {
    plan: plan(),
    planKey: 'objects/plans/ee/ee.json',
    derivedBucket: 'derived',
    operators: { messages: 'messages@2#0', 'schema-tables': 'schema-tables@3#0' },
    index,
    extract,
    convert,
    describe: (_table, operator) => ({ operator, params: '0', fingerprint: 'f'.repeat(64), sortKeys: ['log_time'] }),
    ...overrides,
  };
}

function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('buildManifest', () => {
  it('sums message counts and merges time ranges per topic across spans', () => {
    const manifest = buildManifest(inputs());
    const byTopic = Object.fromEntries(manifest.topics.map((t) => [t.topic, t]));
    expect(byTopic['/imu']).toMatchObject({ messages: 22, first_log_time: '9', last_log_time: '199', table: 'sensor_msgs_msg_Imu', status: 'ok' });
    // '10' < '20' and '250' > '80': compared as numbers.
    expect(byTopic['/chatter']).toMatchObject({ messages: 9, first_log_time: '10', last_log_time: '250' });
    expect(byTopic['/silent']).toMatchObject({ messages: 0, first_log_time: null, last_log_time: null, decode_errors: 0 });
    expect(manifest.message_count).toBe(32);
    expect(manifest.start_time).toBe('9');
    expect(manifest.end_time).toBe('250');
  });

  it('sums decode errors per topic over all spans', () => {
    const manifest = buildManifest(inputs());
    expect(manifest.topics.map((t) => [t.topic, t.decode_errors])).toEqual([
      ['/imu', 1],
      ['/chatter', 5],
      ['/weird', 0],
      ['/silent', 0],
    ]);
  });

  it('keeps undecodable topics with their reason, their count and no table', () => {
    const weird = buildManifest(inputs()).topics.find((t) => t.topic === '/weird')!;
    expect(weird).toMatchObject({ status: 'undecodable', table: null, reason: 'cannot decode wrong_format', messages: 1, message_encoding: 'wrong_format' });
  });

  it('describes the source and points table objects and blobs at the derived bucket', () => {
    const manifest = buildManifest(inputs());
    expect(manifest.source).toEqual({ uri: 's3://raw/runs/r1.mcap', bucket: 'raw', key: 'runs/r1.mcap', size: 3000, etag: 'e1', sha256: null });
    expect(manifest.tables.sensor_msgs_msg_Imu).toEqual({
      operator: 'schema-tables@3',
      params: '0',
      fingerprint: 'f'.repeat(64),
      sort_keys: ['log_time'],
      rows: 22,
      objects: [
        {
          key: 'objects/tables/dd/dd.parquet',
          uri: 's3://derived/objects/tables/dd/dd.parquet',
          rows: 22,
          bytes: 900,
          sha256: 'd'.repeat(64),
          min_log_time: '9',
          max_log_time: '199',
          topics: ['/imu'],
        },
      ],
    });
    expect(manifest.blobs.map((b) => b.uri)).toEqual(['s3://derived/objects/blobs/aa/aa01.bin', 's3://derived/objects/blobs/cc/cc01.bin']);
  });

  it('is not recovered when nothing was damaged', () => {
    const manifest = buildManifest(inputs({ extract: extract.map((r) => ({ ...r, damaged: [] })) }));
    expect(manifest).toMatchObject({ recovered: false, reason: null, damage: [] });
  });

  it('reports damage once per chunk offset and marks the recording recovered with a reason', () => {
    // The scan already noticed the chunk at 2100, the span job noticed it again (twice: a retried
    // job's result), and the scan also noticed a truncated tail.
    const damagedPlan = plan([
      'skipped the chunk at offset 2100: zstd chunk does not decompress',
      'the file is truncated: it ends inside a record at offset 2950, losing the last 50 bytes (no footer or summary)',
    ]);
    const repeated = [...extract, { ...extract[2]!, span: 2 }];
    const manifest = buildManifest(inputs({ plan: damagedPlan, extract: repeated }));
    expect(manifest.damage).toEqual([
      'the file is truncated: it ends inside a record at offset 2950, losing the last 50 bytes (no footer or summary)',
      'skipped the chunk at offset 2100: chunk at offset 2100 CRC mismatch (stored 1, computed 2)',
    ]);
    expect(manifest.recovered).toBe(true);
    expect(manifest.reason).toContain('2 problems');
    expect(manifest.reason).toContain('offset 2100');
    expect(manifest.reason).toContain('truncated');
  });
});

describe('serializeManifest', () => {
  it('is byte-identical whatever order the job results arrive in', () => {
    const reference = serializeManifest(buildManifest(inputs()));
    for (let seed = 1; seed <= 5; seed++) {
      const text = serializeManifest(
        buildManifest(
          inputs({
            extract: shuffled(extract, seed + 1).map((r) => ({
              ...r,
              channels: shuffled(r.channels, seed + 7),
              decodeErrors: shuffled(r.decodeErrors, seed + 3),
            })),
            convert: shuffled(convert, seed + 2),
          }),
        ),
      );
      expect(text).toBe(reference);
    }
  });

  it('lists tables sorted by name and ends with a newline', () => {
    const text = serializeManifest(buildManifest(inputs()));
    expect(text.endsWith('}\n')).toBe(true);
    const parsed = JSON.parse(text) as { tables: Record<string, unknown>; format: string };
    expect(Object.keys(parsed.tables)).toEqual(['sensor_msgs_msg_Imu', 'std_msgs_msg_String']);
    expect(parsed.format).toBe('mcapflow.manifest/2');
  });

  it('changes when a result changes', () => {
    const changed = convert.map((c) => (c.table === 'sensor_msgs_msg_Imu' ? { ...c, objects: c.objects.map((o) => ({ ...o, rows: 23 })) } : c));
    expect(serializeManifest(buildManifest(inputs({ convert: changed })))).not.toBe(serializeManifest(buildManifest(inputs())));
  });
});

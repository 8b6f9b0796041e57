import { describe, expect, it } from 'vitest';
import type { Manifest } from '../../src/domain/manifest.ts';
import { serializeManifest } from '../../src/domain/manifest.ts';
import { InvalidManifestError, parseManifest } from '../../src/domain/manifest-schema.ts';

const ID = 'aaaabbbbccccddddeeeeffff00001111';

/** A manifest as mcapflow wrote it before operators (format 1): tables were plain object lists. */
function v1(): Record<string, any> {
  const written = {
    format: 'mcapflow.manifest/1',
    recording_id: ID,
    source: { uri: 's3://raw/r.mcap', bucket: 'raw', key: 'r.mcap', size: 3000, etag: 'e1', sha256: null },
    profile: 'ros2',
    library: 'test',
    planner: 'summary',
    recovered: false,
    reason: null,
    damage: [],
    message_count: 2,
    start_time: '1700000000000000000',
    end_time: '1700000000000001000',
    operators: { index: 'index@1' },
    params: { spanMaxBytes: 1024 },
    plan_key: 'objects/plans/ee/ee.json',
    topics: [
      {
        topic: '/imu',
        channel_id: 1,
        schema: 'sensor_msgs/msg/Imu',
        schema_encoding: 'ros2msg',
        message_encoding: 'cdr',
        messages: 2,
        first_log_time: '1700000000000000000',
        last_log_time: '1700000000000001000',
        table: 'sensor_msgs_msg_Imu',
        decode_errors: 0,
        out_of_order: 0,
        gaps: 0,
        median_period_ns: '1000',
        max_gap_ns: '1000',
        status: 'ok',
        reason: null,
      },
    ],
    tables: {
      sensor_msgs_msg_Imu: [
        {
          key: 'objects/tables/dd/dd.parquet',
          uri: 's3://derived/objects/tables/dd/dd.parquet',
          rows: 2,
          bytes: 900,
          sha256: 'd'.repeat(64),
          min_log_time: null,
          max_log_time: null,
        },
      ],
    },
    blobs: [],
  };
  return written;
}

function manifest(): Manifest {
  const old = v1();
  const objects = old.tables.sensor_msgs_msg_Imu.map((o: Record<string, unknown>) => ({ ...o, topics: ['/imu'] }));
  return {
    ...(old as Omit<Manifest, 'format' | 'tables' | 'planner_note'>),
    format: 'mcapflow.manifest/2',
    planner_note: null,
    tables: { sensor_msgs_msg_Imu: { operator: 'schema-tables@3', params: '0', fingerprint: 'f'.repeat(64), sort_keys: ['log_time'], rows: 2, objects } },
  };
}

const problem = (text: string, id = ID) => {
  try {
    parseManifest(text, id);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidManifestError);
    return (error as Error).message;
  }
  throw new Error('parsed');
};

describe('parseManifest', () => {
  it('reads back what the commit writes', () => {
    expect(parseManifest(serializeManifest(manifest()), ID)).toEqual(manifest());
  });

  it('reads manifests written before the topic timing fields and planner_note existed', () => {
    const old = v1();
    for (const f of ['out_of_order', 'gaps', 'median_period_ns', 'max_gap_ns']) delete old.topics[0][f];
    expect(parseManifest(JSON.stringify(old), ID).topics[0]).toMatchObject({ out_of_order: 0, gaps: 0, median_period_ns: null, max_gap_ns: null });
  });

  it('reads format-1 manifests as format 2, their tables made by no operator this code has', () => {
    const read = parseManifest(JSON.stringify(v1()), ID);
    expect(read).toMatchObject({ format: 'mcapflow.manifest/2', planner_note: null });
    expect(read.tables.sensor_msgs_msg_Imu).toMatchObject({
      operator: 'v1',
      rows: 2,
      objects: v1().tables.sensor_msgs_msg_Imu.map((o: object) => ({ ...o, topics: null })),
    });
  });

  it('refuses what is not JSON, another format, missing fields, unsafe names and keys, with the reason', () => {
    expect(problem('{ not json')).toMatch(/is not JSON/);
    expect(problem(JSON.stringify({ ...manifest(), format: 'mcapflow.manifest/3' }))).toMatch(
      /format "mcapflow.manifest\/3"; this version reads mcapflow.manifest\/2 and mcapflow.manifest\/1/,
    );
    expect(problem(JSON.stringify({ format: 'mcapflow.manifest/2', recording_id: ID }))).toMatch(/source.*expected object/);
    const table = manifest().tables.sensor_msgs_msg_Imu!;
    expect(problem(JSON.stringify({ ...manifest(), tables: { 'a(b': table } }))).toMatch(/tables.*must be a table name/);
    expect(problem(JSON.stringify({ ...manifest(), tables: { 'x"; DROP TABLE y; --': table } }))).toMatch(/must be a table name/);
    const topics = [{ ...manifest().topics[0], table: 'Bad Name' }];
    expect(problem(JSON.stringify({ ...manifest(), topics }))).toMatch(/topics\.0\.table: must be a table name/);
    const escaping = { sensor_msgs_msg_Imu: { ...table, objects: [{ ...table.objects[0], key: '../../etc/passwd' }] } };
    expect(problem(JSON.stringify({ ...manifest(), tables: escaping }))).toMatch(/not a safe object key/);
    expect(problem(serializeManifest(manifest()), '0'.repeat(32))).toMatch(/names recording aaaa.*not the 0000/);
  });
});

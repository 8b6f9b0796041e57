import { describe, expect, it } from 'vitest';
import type { Manifest } from '../../src/domain/manifest.ts';
import { serializeManifest } from '../../src/domain/manifest.ts';
import { InvalidManifestError, parseManifest } from '../../src/domain/manifest-schema.ts';
import { v1Manifest as v1, V1_ID as ID } from '../helpers/manifest-fixture.ts';

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

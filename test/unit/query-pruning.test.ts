/**
 * Which objects a statement reads, from DuckDB's own parse tree: predicates that surely bound a
 * table's recording_id, topic or log_time skip the objects that cannot match, and everything
 * that might see other rows (OR, subqueries with outer columns, aliases, table functions) keeps
 * them all — a pruned query must answer exactly what the unpruned one does.
 */
import { describe, expect, it } from 'vitest';
import { neededObjects, tableReads, type PrunableObject } from '../../src/catalog/query-pruning.ts';
import { parseSql } from '../../src/catalog/sql-parse.ts';

interface Obj extends PrunableObject {
  name: string;
}

const T0 = 1_768_467_605_000_000_000n;
const objects: Obj[] = [
  { name: 'a1', recordingId: 'a', topics: ['/imu'], minLogTime: T0, maxLogTime: T0 + 999n },
  { name: 'a2', recordingId: 'a', topics: ['/odom'], minLogTime: T0 + 10_000n, maxLogTime: T0 + 1_000_000n },
  { name: 'b1', recordingId: 'b', topics: ['/imu'], minLogTime: T0 + 5_000_000n, maxLogTime: T0 + 9_000_000n },
  { name: 'c1', recordingId: 'c', topics: null, minLogTime: null, maxLogTime: null },
];

async function read(sql: string, table = 'imu'): Promise<string[]> {
  return neededObjects(tableReads(await parseSql(sql)), table, objects).map((o) => o.name);
}

describe('pruning by the statement’s predicates', () => {
  it('keeps only the objects of the named recordings', async () => {
    expect(await read(`SELECT * FROM imu WHERE recording_id = 'a'`)).toEqual(['a1', 'a2']);
    expect(await read(`SELECT * FROM imu WHERE recording_id IN ('b', 'c') AND 1 = 1`)).toEqual(['b1', 'c1']);
    expect(await read(`SELECT * FROM imu WHERE recording_id = 'a' AND recording_id = 'b'`)).toEqual([]);
  });

  it('keeps objects holding a named topic, and those whose topics are unknown', async () => {
    expect(await read(`SELECT * FROM imu WHERE topic = '/imu'`)).toEqual(['a1', 'b1', 'c1']);
  });

  it('keeps objects whose log_time range overlaps the bounds, whichever side the constant is on', async () => {
    expect(await read(`SELECT * FROM imu WHERE log_time BETWEEN ${T0 + 20_000n} AND ${T0 + 30_000n}`)).toEqual(['a2', 'c1']);
    expect(await read(`SELECT * FROM imu WHERE ${T0 + 5_000_000n} <= log_time`)).toEqual(['b1', 'c1']);
    expect(await read(`SELECT * FROM imu WHERE log_time < ${T0 + 5000n}`)).toEqual(['a1', 'c1']);
  });

  it('does not lose an object whose bound equals a 64-bit constant that JSON rounds', async () => {
    const edge = [{ ...objects[0]!, minLogTime: T0 + 1n, maxLogTime: T0 + 1n }];
    const reads = tableReads(await parseSql(`SELECT * FROM imu WHERE log_time >= ${T0 + 1n} AND log_time <= ${T0 + 1n}`));
    expect(neededObjects(reads, 'imu', edge)).toHaveLength(1);
  });

  it('uses qualified columns in joins and ignores unqualified ones', async () => {
    expect(await read(`SELECT * FROM imu i JOIN recordings r USING (recording_id) WHERE i.recording_id = 'b'`)).toEqual(['b1']);
    expect(await read(`SELECT * FROM imu JOIN recordings r ON imu.recording_id = r.recording_id WHERE imu.topic = '/odom'`)).toEqual(['a2', 'c1']);
    expect(await read(`SELECT * FROM imu i JOIN topics t USING (recording_id) WHERE topic = '/odom'`)).toHaveLength(4);
  });

  it('reads everything when a predicate does not bound every row', async () => {
    expect(await read(`SELECT * FROM imu WHERE recording_id = 'a' OR size > 3`)).toHaveLength(4);
    expect(await read(`SELECT * FROM imu WHERE NOT (recording_id = 'a')`)).toHaveLength(4);
    expect(await read(`SELECT * FROM imu WHERE recording_id <> 'a'`)).toHaveLength(4);
    expect(await read(`SELECT 'a' AS recording_id, * EXCLUDE (recording_id) FROM imu WHERE recording_id = 'a'`)).toHaveLength(4);
  });

  it('does not attribute unqualified columns inside a subquery, which may name the outer table’s', async () => {
    expect(await read(`SELECT * FROM recordings WHERE EXISTS (SELECT 1 FROM imu WHERE recording_id = 'a')`)).toHaveLength(4);
    expect(await read(`SELECT * FROM recordings r WHERE EXISTS (SELECT 1 FROM imu i WHERE i.recording_id = 'a')`)).toEqual(['a1', 'a2']);
  });

  it('reads the union of what each reference needs', async () => {
    expect(await read(`SELECT * FROM imu WHERE recording_id = 'a' UNION ALL SELECT * FROM imu WHERE recording_id = 'b'`)).toEqual(['a1', 'a2', 'b1']);
    expect(await read(`SELECT * FROM imu WHERE recording_id = 'a' UNION ALL SELECT * FROM imu`)).toHaveLength(4);
    expect(await read(`WITH x AS (SELECT * FROM imu) SELECT * FROM x WHERE recording_id = 'a'`)).toHaveLength(4);
  });

  it('does not prune statements that can reach tables in other ways, or that are not one SELECT', async () => {
    expect(await read(`SELECT * FROM query_table('imu') WHERE recording_id = 'a'`)).toHaveLength(4);
    expect(await read(`SELECT * FROM imu WHERE recording_id = 'a'; SELECT * FROM imu`)).toHaveLength(4);
    expect(await read(`DESCRIBE imu`)).toHaveLength(4);
    expect(await read(`SELECT * FROM imu WHERE`)).toHaveLength(4);
  });

  it('leaves tables it does not see as FROM items alone and compares names ignoring case', async () => {
    expect(await read(`SELECT * FROM IMU WHERE Recording_ID = 'c'`)).toEqual(['c1']);
    expect(await read(`SELECT * FROM imu WHERE recording_id = 'c'`, 'messages')).toHaveLength(4);
  });
});

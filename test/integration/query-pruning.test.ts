/**
 * Queries read only what their predicates can need: on a catalog of several committed robot runs
 * (each a day after the previous), a statement bounding recording_id or log_time copies only the
 * objects whose manifest statistics can match — checked by the bytes the object store streamed —
 * and answers exactly what the same statement answers when pruning is defeated. The admin's
 * query service keeps DuckDB open between statements and opens a new one when a commit lands.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { McapWriter } from '@mcap/core';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listCommitted, ObjectCache } from '../../src/catalog/catalog.ts';
import { queryCatalog, type CatalogLocation } from '../../src/catalog/query-session.ts';
import { tableVersions } from '../../src/catalog/table-versions.ts';
import { DEFAULT_START_TIME_NS, generateRobotRun } from '../../src/synth/robot-run.ts';
import { registry } from '../../src/observability/metrics.ts';
import { createLogger } from '../../src/log.ts';
import { startAdmin, type AdminHarness } from '../helpers/admin-harness.ts';
import { cdrEncoder, MemoryWritable } from '../helpers/mcap-builders.ts';
import { watchedStore } from '../helpers/watched-store.ts';
import { parseSimilarityDescriptor, parseSimilarityPointer, similarityPointerKey } from '../../src/domain/similarity-index.ts';

const RUNS = 4;
const DAY_NS = 86_400_000_000_000n;
const dir = mkdtempSync(join(tmpdir(), 'mcapflow-pruning-'));
let admin: AdminHarness;
const recordings: { id: string; start: bigint }[] = [];
let imuTable = '';

/** `sql` through the CLI's path with an empty cache: its answer and the table objects it streamed. */
async function run(sql: string) {
  const { store, streamed } = watchedStore(admin.harness.services.store);
  const home = mkdtempSync(join(dir, 'home-'));
  const location: CatalogLocation = { store, derivedBucket: admin.harness.config.derivedBucket, home };
  const answer = await queryCatalog(location, sql);
  const tableObjects = [...streamed].filter(([key]) => key.startsWith('objects/tables/'));
  const tableBytes = tableObjects.reduce((n, [, bytes]) => n + bytes, 0);
  return { rows: answer.rows, reads: answer.reads, tableBytes, tableKeys: tableObjects.map(([key]) => key) };
}

beforeAll(async () => {
  admin = await startAdmin('pruning', { MCAPFLOW_SIMILARITY_REFRESH_MS: '250' });
  for (let seed = 1; seed <= RUNS; seed++) {
    const start = DEFAULT_START_TIME_NS + BigInt(seed - 1) * DAY_NS;
    const file = await generateRobotRun({ path: join(dir, `run-${seed}.mcap`), sizeBytes: 1024 * 1024, seed, startTimeNs: start });
    const summary = await admin.harness.process(file.path);
    expect(summary.status).toBe('committed');
    recordings.push({ id: summary.recording_id, start });
  }
  const { rows } = await run(`SELECT DISTINCT table_name FROM topics WHERE schema ILIKE '%imu%'`);
  imuTable = String(rows[0]![0]);
}, 180_000);

afterAll(async () => {
  await admin?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('pruned queries', () => {
  it('a query of one recording streams only that recording’s objects and answers as the full scan does', async () => {
    const target = recordings[2]!;
    const sql = (predicate: string) => `SELECT count(*), min(log_time), max(log_time), sum(hash(log_time)) FROM "${imuTable}" WHERE ${predicate}`;
    const pruned = await run(sql(`recording_id = '${target.id}'`));
    const full = await run(sql(`recording_id || '' = '${target.id}'`));
    expect(pruned.rows).toEqual(full.rows);
    expect(Number(pruned.rows[0]![0])).toBeGreaterThan(0);
    const [read] = pruned.reads;
    expect(read).toMatchObject({ table: imuTable, objects: 1, totalObjects: RUNS });
    expect(pruned.tableBytes).toBe(read!.bytes);
    expect(full.tableBytes).toBe(read!.totalBytes);
    expect(pruned.tableBytes * (RUNS - 1)).toBeLessThan(full.tableBytes);
  });

  it('a log_time window streams only the objects whose time range overlaps it', async () => {
    const target = recordings[1]!;
    // A 1 MiB run holds under a second of robot time (camera and lidar are most of its bytes).
    const from = target.start + 100_000_000n;
    const to = from + 300_000_000n;
    const sql = (column: string) => `SELECT recording_id, count(*) FROM messages WHERE ${column} >= ${from} AND ${column} < ${to} GROUP BY ALL`;
    const pruned = await run(sql('log_time'));
    const full = await run(sql('(log_time + 0)'));
    expect(pruned.rows).toEqual(full.rows);
    expect(pruned.rows).toEqual([[target.id, expect.any(Number)]]);
    expect(pruned.rows[0]![1]).toBeGreaterThan(0);
    expect(pruned.reads[0]).toMatchObject({ table: 'messages', objects: 1, totalObjects: RUNS });
    expect(pruned.tableBytes).toBe(pruned.reads[0]!.bytes);
  });

  it('a window no object can match still answers, from the smallest object, with no rows', async () => {
    const before = DEFAULT_START_TIME_NS - DAY_NS;
    const pruned = await run(`SELECT count(*) FROM messages WHERE log_time < ${before}`);
    expect(pruned.rows).toEqual([[0]]);
    expect(pruned.reads[0]).toMatchObject({ objects: 1, totalObjects: RUNS });
  });

  it('a predicate that does not bound every row (OR) reads every object', async () => {
    const pruned = await run(`SELECT count(*) FROM messages WHERE recording_id = '${recordings[0]!.id}' OR log_time < 0`);
    expect(pruned.reads[0]).toMatchObject({ objects: RUNS, totalObjects: RUNS });
  });

  it('POST /v1/query prunes too: the admin copies only the objects the predicate can need', async () => {
    const sql = `SELECT count(*) FROM "${imuTable}" WHERE recording_id = '${recordings[3]!.id}'`;
    // Processing cached some tables' objects (operators over finished tables read them): start empty.
    const tablesCache = join(admin.harness.home, 'cache', 'objects', 'tables');
    rmSync(tablesCache, { recursive: true, force: true });
    const answer = await admin.call('POST', '/v1/query', { body: { sql } });
    expect(answer.status).toBe(200);
    const expected = await run(sql);
    expect(answer.body.rows).toEqual(expected.rows);
    expect(expected.tableKeys).toHaveLength(1);
    const cached = readdirSync(tablesCache, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.parquet'));
    expect(cached.map((f) => `objects/tables/${f}`)).toEqual(expected.tableKeys);
  });
});

describe('the warm query service', () => {
  const engines = async () => {
    const metric = await registry.getSingleMetric('mcapflow_query_engines_total')!.get();
    const of = (engine: string) => metric.values.find((v) => v.labels.engine === engine)?.value ?? 0;
    return { warm: of('warm'), opened: of('opened') };
  };
  const lists = async () =>
    (await registry.getSingleMetric('mcapflow_s3_requests_total')!.get()).values.filter((v) => v.labels.op === 'list').reduce((n, v) => n + v.value, 0);
  const post = async (sql: string) => {
    const answer = await admin.call('POST', '/v1/query', { body: { sql } });
    expect(answer.body.error, sql).toBeUndefined();
    return answer.body.rows as unknown[][];
  };

  it('answers later statements with the DuckDB already open, swapping only the views each needs', async () => {
    const sql = (id: string) => `SELECT count(*), sum(hash(log_time)) FROM messages WHERE recording_id = '${id}'`;
    await post('SELECT 1');
    const before = await engines();
    for (const { id } of recordings) expect(await post(sql(id))).toEqual((await run(sql(id))).rows);
    const all = `SELECT count(*), sum(hash(log_time)) FROM messages`;
    expect(await post(all)).toEqual((await run(all)).rows);
    const after = await engines();
    expect(after.warm - before.warm).toBe(RUNS + 1);
    expect(after.opened).toBe(before.opened);
  });

  it('does not let a statement see the views an earlier one made for its own tables', async () => {
    await post(`SELECT count(*) FROM "${imuTable}" WHERE recording_id = '${recordings[0]!.id}'`);
    const half = imuTable.slice(0, 4);
    const answer = await admin.call('POST', '/v1/query', { body: { sql: `SELECT count(*) FROM query_table('${half}' || '${imuTable.slice(4)}')` } });
    expect(answer.status).toBe(400);
    expect(answer.body.error.message).toMatch(/does not exist/);
  });

  it('opens a new engine once a commit lands, and the new recording is in the answer', async () => {
    const count = async () => Number((await post('SELECT count(*) FROM recordings'))[0]![0]);
    expect(await count()).toBe(RUNS);
    const before = await engines();
    const file = await generateRobotRun({ path: join(dir, 'late.mcap'), sizeBytes: 512 * 1024, seed: 99 });
    expect((await admin.harness.process(file.path)).status).toBe('committed');
    // The commit noted its manifest: the service reads that one, it never lists the manifests again.
    const listed = await lists();
    expect(await count()).toBe(RUNS + 1);
    expect((await engines()).opened).toBe(before.opened + 1);
    for (let i = 0; i < 3; i++) expect(await count()).toBe(RUNS + 1);
    expect(await lists()).toBe(listed);
  });
});

describe('table versions', () => {
  it('lists a second version of a table when a recording defines its schema differently, with what each version holds', async () => {
    const writable = new MemoryWritable();
    const writer = new McapWriter({ writable, chunkSize: 64 * 1024 });
    await writer.start({ profile: 'ros2', library: 'mcapflow-test' });
    const definition = 'int32 x\n';
    const schemaId = await writer.registerSchema({ name: 'sensor_msgs/msg/Imu', encoding: 'ros2msg', data: new TextEncoder().encode(definition) });
    const channelId = await writer.registerChannel({ topic: '/imu', schemaId, messageEncoding: 'cdr', metadata: new Map() });
    const encode = cdrEncoder(definition);
    for (let m = 0; m < 3; m++) await writer.addMessage({ channelId, sequence: m, logTime: BigInt(m), publishTime: BigInt(m), data: encode({ x: m }) });
    await writer.end();
    const path = join(dir, 'other-imu.mcap');
    writeFileSync(path, writable.bytes());
    const summary = await admin.harness.process(path);
    expect(summary.status, JSON.stringify(summary)).toBe('committed');

    const { store, config } = admin.harness.services;
    const committed = await listCommitted(store, config.derivedBucket, new ObjectCache(join(dir, 'versions-cache'), store, config.derivedBucket));
    const versions = tableVersions(committed);
    const imu = versions.filter((v) => v.table === imuTable);
    expect(imu).toHaveLength(2);
    expect(imu[0]).toMatchObject({ recordings: 1, rows: 3, objects: 1 });
    expect(imu[1]!.recordings).toBe(committed.length - 1);
    expect(imu[0]!.fingerprint).not.toBe(imu[1]!.fingerprint);
    expect(imu[0]!.operator).toBe(imu[1]!.operator);
    const messages = versions.filter((v) => v.table === 'messages');
    expect(messages).toHaveLength(1);
    expect(messages[0]!.recordings).toBe(committed.length);
    expect(messages[0]!.rows).toBe(Number((await run('SELECT count(*) FROM messages')).rows[0]![0]));

    // Queries see the newest version under the table's name and the older one under its view, never the two unioned.
    expect(imu[0]!.view).toBe(imuTable);
    expect(imu[1]!.view).toMatch(new RegExp(`^${imuTable}__v[0-9a-f]{12}$`));
    const newest = await run(`SELECT recording_id, count(*), min(x), max(x) FROM "${imuTable}" GROUP BY ALL`);
    expect(newest.rows).toEqual([[summary.recording_id, 3, 0, 2]]);
    const older = await run(`SELECT count(DISTINCT recording_id), count(*), max(angular_velocity.z) IS NOT NULL FROM ${imu[1]!.view}`);
    expect(older.rows).toEqual([[imu[1]!.recordings, imu[1]!.rows, true]]);
    const topics = await run(`SELECT DISTINCT table_name FROM topics WHERE topic = '/imu' ORDER BY 1`);
    expect(topics.rows).toEqual([[imuTable], [imu[1]!.view]].sort());
    const posted = await admin.call('POST', '/v1/query', { body: { sql: `SELECT count(*) FROM ${imu[1]!.view}` } });
    expect(posted.body.rows).toEqual([[imu[1]!.rows]]);
  });
});

describe('similarity over HTTP', () => {
  it('GET /v1/recordings/:id/similar answers from the index the admin process keeps, and refuses bad arguments by name', async () => {
    const target = recordings[0]!.id;
    const { rows } = await run(
      `SELECT window_start, (SELECT count(*) FROM imu_windows) FROM imu_windows WHERE recording_id = '${target}' ORDER BY window_start LIMIT 1`,
    );
    const at = String(rows[0]![0]);
    const windows = Number(rows[0]![1]);
    const first = await admin.call('GET', `/v1/recordings/${target}/similar?at=${at}&k=2`);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toMatchObject({ table: 'imu_windows', query: { recording_id: target, window_start: at }, windows });
    expect(first.body.neighbours).toHaveLength(Math.min(2, windows - 1));
    const second = await admin.call('GET', `/v1/recordings/${target}/similar?at=${at}&k=2`);
    expect(second.body.index).toMatchObject({ loadedFrom: 'memory', added: 0, windowsRead: 0 });
    expect(second.body.neighbours).toEqual(first.body.neighbours);
    expect((await admin.call('GET', `/v1/recordings/${target}/similar?at=noon`)).body.error).toMatchObject({
      code: 'BAD_ARGUMENT',
      message: expect.stringMatching(/at/),
    });
    expect((await admin.call('GET', `/v1/recordings/${target}/similar`)).status).toBe(400);
    expect((await admin.call('GET', `/v1/recordings/${target}/similar?at=${at}&k=0`)).status).toBe(400);
    expect((await admin.call('GET', `/v1/recordings/not-an-id/similar?at=${at}`)).body.error.code).toBe('BAD_ARGUMENT');
    expect((await admin.call('GET', `/v1/recordings/${'f'.repeat(32)}/similar?at=${at}`)).status).toBe(404);
  });

  it('adds a recording to the persisted index once it commits, before anyone searches it', async () => {
    const file = await generateRobotRun({
      path: join(dir, 'similar-late.mcap'),
      sizeBytes: 1024 * 1024,
      seed: 123,
      startTimeNs: DEFAULT_START_TIME_NS + 9n * DAY_NS,
    });
    const summary = await admin.harness.process(file.path);
    expect(summary.status).toBe('committed');
    const { store, config } = { store: admin.harness.services.store, config: admin.harness.config };
    const deadline = Date.now() + 15_000;
    let held: string[] = [];
    while (!held.includes(summary.recording_id)) {
      expect(Date.now(), `the index never listed ${summary.recording_id}; it holds ${held.join(', ')}`).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 200));
      const pointer = await store.get(config.derivedBucket, similarityPointerKey('imu_windows'), 'derived');
      if (pointer === undefined) continue;
      const { descriptor } = parseSimilarityPointer(Buffer.from(pointer).toString());
      held = parseSimilarityDescriptor(Buffer.from((await store.get(config.derivedBucket, descriptor.key, 'derived'))!).toString()).recordings.map(
        (r) => r.recording_id,
      );
    }
    const { rows } = await run(`SELECT window_start FROM imu_windows WHERE recording_id = '${summary.recording_id}' ORDER BY window_start LIMIT 1`);
    const answer = await admin.call('GET', `/v1/recordings/${summary.recording_id}/similar?at=${String(rows[0]![0])}&k=2`);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.index).toMatchObject({ loadedFrom: 'memory', added: 0, windowsRead: 0 });
  }, 60_000);
});

describe('reading in place (MCAPFLOW_QUERY_READ_IN_PLACE)', () => {
  // The store's endpoint as DuckDB would be told it is a port nothing listens on: whether or not
  // this machine's DuckDB has httpfs (it cannot be downloaded here), reading in place fails.
  const inPlaceRun = async (mode: 'auto' | 'require', sql: string) => {
    const { store, streamed } = watchedStore(admin.harness.services.store);
    const unreachable = new Proxy(store, {
      get: (target, property) =>
        property === 'directAccess'
          ? async () => ({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1', forcePathStyle: true, accessKeyId: `k${mode}`, secretAccessKey: 's' })
          : (Reflect.get(target, property) as unknown),
    });
    const lines: string[] = [];
    const log = createLogger('warn', {}, { destination: { write: (line: string) => lines.push(line) } });
    const home = mkdtempSync(join(dir, 'home-'));
    const location: CatalogLocation = { store: unreachable, derivedBucket: admin.harness.config.derivedBucket, home, log, readInPlace: mode };
    const answer = await queryCatalog(location, sql);
    const streamedTables = [...streamed.keys()].filter((key) => key.startsWith('objects/tables/'));
    return { answer, streamedTables, warnings: lines.map((l) => (JSON.parse(l) as { msg: string }).msg) };
  };

  it('copies the pruned objects when DuckDB cannot read the bucket in place, says so once, and answers the same', async () => {
    const sql = `SELECT count(*) FROM "${imuTable}" WHERE recording_id = '${recordings[0]!.id}'`;
    const copied = await run(sql);
    const auto = await inPlaceRun('auto', sql);
    expect(auto.answer.rows).toEqual(copied.rows);
    expect(auto.answer.reads).toEqual(copied.reads);
    expect(auto.answer.reads[0]!.inPlace).toBe(false);
    expect(auto.streamedTables).toEqual(copied.tableKeys);
    expect(auto.warnings).toEqual([expect.stringMatching(/^DuckDB cannot read the derived bucket in place/)]);
    expect((await inPlaceRun('auto', sql)).warnings).toEqual([]);
  });

  it('fails a query under `require`, naming what stops DuckDB from reading the bucket in place', async () => {
    await expect(inPlaceRun('require', `SELECT count(*) FROM "${imuTable}"`)).rejects.toMatchObject({
      code: 'QUERY_FAILED',
      message: expect.stringMatching(/^MCAPFLOW_QUERY_READ_IN_PLACE=require, but DuckDB cannot read s3:\/\/\S+ in place: \S/),
    });
  });

  it('refuses a sandboxed statement that lists the engine’s secrets', async () => {
    const answer = await admin.call('POST', '/v1/query', { body: { sql: 'SELECT * FROM duckdb_secrets()' } });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'QUERY_REFUSED' });
  });
});

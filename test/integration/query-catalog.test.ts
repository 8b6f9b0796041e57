/**
 * The catalog that every query sees, against recordings made to hurt it: schema names that
 * are the catalog's own table names but for case, schema tables whose names differ only by
 * case (in one recording and across recordings), a recording with 20,000 channels, and
 * malformed manifests. Each must leave SQL working for everyone else.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { McapWriter } from '@mcap/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectCache } from '../../src/catalog/catalog.ts';
import { queryCatalog } from '../../src/catalog/query-session.ts';
import { sha256Hex } from '../../src/domain/hash.ts';
import { registry } from '../../src/observability/metrics.ts';
import { startAdmin, type AdminHarness } from '../helpers/admin-harness.ts';
import { cdrEncoder, MemoryWritable } from '../helpers/mcap-builders.ts';

let admin: AdminHarness;
let dir: string;
const encode = cdrEncoder('int32 x\n');

/** A recording with one topic per schema name, `messages` messages each (x = 0, 1, …). */
async function writeRecording(name: string, schemaNames: string[], messages = 2): Promise<string> {
  const writable = new MemoryWritable();
  const writer = new McapWriter({ writable, chunkSize: 64 * 1024 });
  await writer.start({ profile: 'ros2', library: 'mcapflow-test' });
  const channels: number[] = [];
  for (const [i, schemaName] of schemaNames.entries()) {
    const schemaId = await writer.registerSchema({ name: schemaName, encoding: 'ros2msg', data: new TextEncoder().encode('int32 x\n') });
    channels.push(await writer.registerChannel({ topic: `/t${i}`, schemaId, messageEncoding: 'cdr', metadata: new Map() }));
  }
  let time = 1_700_000_000_000_000_000n;
  for (let m = 0; m < messages; m++) {
    for (const channelId of channels) {
      time += 1_000n;
      await writer.addMessage({ channelId, sequence: m, logTime: time, publishTime: time, data: encode({ x: m }) });
    }
  }
  await writer.end();
  const path = join(dir, name);
  writeFileSync(path, writable.bytes());
  return path;
}

const query = async (sql: string) => admin.call('POST', '/v1/query', { body: { sql } });
const rowsOf = async (sql: string) => {
  const answer = await query(sql);
  expect(answer.body.error, sql).toBeUndefined();
  expect(answer.status, sql).toBe(200);
  return answer.body.rows as unknown[][];
};
const suffixed = (name: string) => `${name}_${sha256Hex(name).slice(0, 8)}`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcapflow-query-catalog-'));
  admin = await startAdmin('query-catalog');
  const reserved = await admin.harness.process(await writeRecording('reserved.mcap', ['Recordings', 'Topics', 'Messages', 'Attachments', 'Metadata']));
  expect(reserved.status).toBe('committed');
  const inOne = await admin.harness.process(await writeRecording('case-pair.mcap', ['pkg/Foo', 'pkg/foo']));
  expect(inOne.status).toBe('committed');
  expect(inOne.topics.map((t) => t.table)).toEqual(['pkg_Foo', 'pkg_foo']);
  const first = await admin.harness.process(await writeRecording('bar-first.mcap', ['pkg/Bar'], 3));
  expect(first.status).toBe('committed');
  // Commit times decide which spelling keeps the plain name: keep them apart.
  await new Promise((r) => setTimeout(r, 1100));
  const second = await admin.harness.process(await writeRecording('bar-second.mcap', ['pkg/BAR'], 4));
  expect(second.status).toBe('committed');
}, 120_000);

afterAll(async () => {
  await admin?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('table names, as DuckDB compares them (ignoring case)', () => {
  it('keeps the catalog tables queryable when schemas are named Recordings, Topics, Messages, Attachments, Metadata', async () => {
    expect(await rowsOf('SELECT count(*) FROM recordings')).toEqual([[4]]);
    expect((await rowsOf('SELECT count(*) FROM topics'))[0]![0]).toBe(5 + 2 + 1 + 1);
    expect((await rowsOf('SELECT count(*) FROM messages'))[0]![0]).toBe(10 + 4 + 3 + 4);
    for (const name of ['Recordings', 'Topics', 'Messages', 'Attachments', 'Metadata']) {
      expect(await rowsOf(`SELECT x FROM ${name}_schema ORDER BY x`), name).toEqual([[0], [1]]);
    }
    expect(await rowsOf(`SELECT schema, table_name FROM topics WHERE schema = 'Messages'`)).toEqual([['Messages', 'Messages_schema']]);
  });

  it('gives two schema tables of one recording that differ only by case each their own name', async () => {
    expect(await rowsOf(`SELECT count(*) FROM pkg_Foo`)).toEqual([[2]]);
    expect(await rowsOf(`SELECT count(*) FROM ${suffixed('pkg_foo')}`)).toEqual([[2]]);
    expect(await rowsOf(`SELECT schema, table_name FROM topics WHERE schema ILIKE 'pkg/foo' ORDER BY schema`)).toEqual([
      ['pkg/Foo', 'pkg_Foo'],
      ['pkg/foo', suffixed('pkg_foo')],
    ]);
  });

  it('gives the first committed spelling the plain name across recordings, and the later one a suffixed name', async () => {
    expect(await rowsOf(`SELECT count(*) FROM pkg_bar`)).toEqual([[3]]);
    expect(await rowsOf(`SELECT count(*) FROM ${suffixed('pkg_BAR')}`)).toEqual([[4]]);
    expect(await rowsOf(`SELECT schema, table_name FROM topics WHERE schema ILIKE 'pkg/bar' ORDER BY schema DESC`)).toEqual([
      ['pkg/Bar', 'pkg_Bar'],
      ['pkg/BAR', suffixed('pkg_BAR')],
    ]);
  });

  it('answers the same names through the trusted (CLI) path', async () => {
    const location = { store: admin.harness.services.store, derivedBucket: admin.harness.config.derivedBucket, home: admin.harness.home };
    expect((await queryCatalog(location, 'SELECT count(*) FROM recordings')).rows).toEqual([[4]]);
    expect((await queryCatalog(location, `SELECT count(*) FROM Messages_schema`)).rows).toEqual([[2]]);
  });
});

describe('a malformed manifest', () => {
  const invalidCount = async () =>
    (await registry.getSingleMetricAsString('mcapflow_manifests_invalid_total')).match(/^mcapflow_manifests_invalid_total (\d+)/m)?.[1];

  it('is skipped with a counted error, and every other recording stays queryable', async () => {
    const { store, config } = admin.harness.services;
    const good = JSON.parse(Buffer.from((await store.get(config.derivedBucket, (await firstManifestKey())!, 'derived'))!).toString('utf8')) as Record<
      string,
      unknown
    >;
    const bad: Record<string, string> = {
      ['0'.repeat(31) + '1']: '{ not json',
      ['0'.repeat(31) + '2']: JSON.stringify({ format: 'mcapflow.manifest/1', recording_id: '0'.repeat(31) + '2' }),
      ['0'.repeat(31) + '3']: JSON.stringify({
        ...good,
        recording_id: '0'.repeat(31) + '3',
        tables: { 'a(b': (good.tables as Record<string, unknown>).messages },
      }),
      ['0'.repeat(31) + '4']: JSON.stringify({ ...good, recording_id: '0'.repeat(31) + '4', format: 'mcapflow.manifest/99' }),
    };
    for (const [id, body] of Object.entries(bad)) await store.put(config.derivedBucket, `manifests/${id}.json`, body);
    // Manifests written by hand reach the admin's listing within LISTING_MAX_AGE_MS; noting them brings them now.
    for (const id of Object.keys(bad)) await admin.harness.services.catalogChanges.noteCommitted(`manifests/${id}.json`);
    try {
      expect(await rowsOf('SELECT count(*) FROM recordings')).toEqual([[4]]);
      expect(await rowsOf('SELECT 1')).toEqual([[1]]);
      expect((await rowsOf('SELECT count(*) FROM messages'))[0]![0]).toBe(21);
      expect(Number(await invalidCount())).toBeGreaterThanOrEqual(4);
    } finally {
      for (const id of Object.keys(bad)) await store.delete(config.derivedBucket, `manifests/${id}.json`);
      for (const id of Object.keys(bad)) await admin.harness.services.catalogChanges.noteCommitted(`manifests/${id}.json`);
    }
  });

  async function firstManifestKey(): Promise<string | undefined> {
    for await (const o of admin.harness.services.store.list(admin.harness.config.derivedBucket, 'manifests/')) return o.key;
    return undefined;
  }
});

describe('the object cache', () => {
  it('gives two readers of one object in one process the same verified copy', async () => {
    const { store, config } = admin.harness.services;
    const body = Buffer.alloc(4 * 1024 * 1024, 7);
    await store.put(config.derivedBucket, 'objects/tables/ca/cache-race.parquet', body);
    const cache = new ObjectCache(mkdtempSync(join(dir, 'race-')), store, config.derivedBucket);
    const paths = await Promise.all(Array.from({ length: 8 }, () => cache.path('objects/tables/ca/cache-race.parquet', sha256Hex(body))));
    expect(new Set(paths).size).toBe(1);
    expect(sha256Hex(readFileSync(paths[0]!))).toBe(sha256Hex(body));
    await store.delete(config.derivedBucket, 'objects/tables/ca/cache-race.parquet');
  });
});

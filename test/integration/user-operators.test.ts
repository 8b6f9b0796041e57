/**
 * A user's operators, loaded from module paths (MCAPFLOW_OPERATORS), run at ingest like the
 * built-ins and appear in SQL; a backfill after a version change reruns only the stale
 * operator, reads only what it needs, and commits a manifest that keeps every other table's
 * objects by reference (the old manifest stays recoverable).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { McapWriter } from '@mcap/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Backfills } from '../../src/admin/backfills.ts';
import { queryCatalog } from '../../src/catalog/query-session.ts';
import { waitForFinal } from '../../src/cli/submit.ts';
import { MANIFEST_PREFIX } from '../../src/domain/layout.ts';
import { serializeManifest, type Manifest } from '../../src/domain/manifest.ts';
import { createLogger } from '../../src/log.ts';
import { bytesRead } from '../../src/observability/metrics.ts';
import { readManifest } from '../../src/operators/commit-op.ts';
import { cdrEncoder, COUNTER_SCHEMA, MemoryWritable, STRING_SCHEMA } from '../helpers/mcap-builders.ts';
import { startHarness, uniquePrefix, type Harness } from '../helpers/pipeline-harness.ts';

const OPERATORS = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/operators');
const home = mkdtempSync(join(tmpdir(), 'mcapflow-user-ops-'));
const prefix = uniquePrefix('userops');
const COUNT = 120;
let harness: Harness | undefined;
let ids: string[] = [];

/** /chatter first, then /counter: small chunks, so each chunk holds one topic only. */
async function segregated(seed: number): Promise<Uint8Array> {
  const writable = new MemoryWritable();
  const writer = new McapWriter({ writable, chunkSize: 1024 });
  await writer.start({ profile: 'ros2', library: 'user-ops-test' });
  const channels: number[] = [];
  for (const [topic, schema] of [
    ['/chatter', STRING_SCHEMA],
    ['/counter', COUNTER_SCHEMA],
  ] as const) {
    const schemaId = await writer.registerSchema({ name: schema.name, encoding: 'ros2msg', data: new TextEncoder().encode(schema.text) });
    channels.push(await writer.registerChannel({ topic, schemaId, messageEncoding: 'cdr', metadata: new Map() }));
  }
  const [chatter, counter] = [cdrEncoder(STRING_SCHEMA.text), cdrEncoder(COUNTER_SCHEMA.text)];
  let time = 1_700_000_000_000_000_000n + BigInt(seed) * 1_000_000_000_000n;
  for (let i = 0; i < COUNT; i++)
    await writer.addMessage({
      channelId: channels[0]!,
      sequence: i,
      logTime: (time += 1_000_000n),
      publishTime: time,
      data: chatter({ data: `line ${i} ${'x'.repeat(i % 9)}` }),
    });
  for (let i = 0; i < COUNT; i++)
    await writer.addMessage({
      channelId: channels[1]!,
      sequence: i,
      logTime: (time += 1_000_000n),
      publishTime: time,
      data: counter({ count: BigInt(i + seed), value: i }),
    });
  await writer.end();
  return writable.bytes();
}

async function start(module: string): Promise<Harness> {
  await harness?.close();
  harness = await startHarness('userops', { MCAPFLOW_OPERATORS: join(OPERATORS, module), MCAPFLOW_SPAN_MAX_BYTES: '8192' }, { home, prefix });
  return harness;
}

async function sql(query: string) {
  return (await queryCatalog({ store: harness!.services.store, derivedBucket: harness!.config.derivedBucket, home }, query)).rows;
}

async function manifests(): Promise<Manifest[]> {
  return Promise.all(ids.map(async (id) => (await readManifest(harness!.services.store, harness!.config.derivedBucket, id))!));
}

async function rawBytesRead(): Promise<number> {
  const values = (await bytesRead.get()).values;
  return values.filter((v) => ['plan', 'scan', 'span'].includes(String(v.labels.purpose))).reduce((n, v) => n + v.value, 0);
}

/** Backfills the raw bucket through the admin's backfill machinery and waits for every recording. */
async function backfill(): Promise<void> {
  const backfills = new Backfills(harness!.services, createLogger('silent'));
  const id = await backfills.start({ bucket: harness!.config.rawBucket, prefix: '' });
  await backfills.settled(id);
  const statuses = await waitForFinal(harness!.services, ids, { timeoutMs: 60_000 });
  for (const id of ids) expect(statuses.get(id)?.state).toBe('committed');
  await backfills.close();
}

function objectKeys(manifest: Manifest): Record<string, string[]> {
  return Object.fromEntries(Object.entries(manifest.tables).map(([table, t]) => [table, t.objects.map((o) => o.key)]));
}

beforeAll(async () => {
  await start('ops-v1.ts');
  for (const seed of [1, 2]) {
    const path = join(home, `run-${seed}.mcap`);
    writeFileSync(path, await segregated(seed));
    const summary = await harness!.process(path);
    expect(summary).toMatchObject({ status: 'committed', recovered: false, messages: 2 * COUNT });
    ids.push(summary.recording_id);
  }
  ids = ids.sort();
}, 120_000);

afterAll(async () => {
  await harness?.close();
  rmSync(home, { recursive: true, force: true });
});

describe('user operators', () => {
  it('run at ingest next to the built-ins and appear in SQL like any table', async () => {
    const parity = await sql(`SELECT recording_id, count(*), sum(even::INT) FROM counter_parity GROUP BY ALL ORDER BY 1`);
    // Counts seed..seed+119: exactly half are even.
    expect(parity).toEqual(ids.map((id) => [id, COUNT, COUNT / 2]));
    const lengths = await sql(`SELECT topic, strings, longest FROM chatter_lengths ORDER BY recording_id`);
    expect(lengths).toEqual([
      ['/chatter', COUNT, null],
      ['/chatter', COUNT, null],
    ]);
    for (const manifest of await manifests()) {
      expect(manifest.operators['counter-parity']).toMatch(/^counter-parity@1#/);
      expect(manifest.tables.counter_parity).toMatchObject({ operator: 'counter-parity@1', rows: COUNT });
      expect(manifest.tables.chatter_lengths).toMatchObject({ operator: 'chatter_lengths@1', rows: 1 });
    }
  });

  it('a new table operator version: the backfill reruns only it, reads no recording bytes, keeps every other object', async () => {
    const before = await manifests();
    await start('ops-v2-table.ts');
    const readBefore = await rawBytesRead();
    // Each recording's commit dies once right after replacing its manifest (before noting it):
    // the retry must find its own manifest there, over the base it was planned on, and finish.
    const changes = harness!.services.catalogChanges;
    const note = changes.noteCommitted.bind(changes);
    const died = new Set<string>();
    changes.noteCommitted = async (key) => {
      if (died.has(key)) return note(key);
      died.add(key);
      throw new Error('injected: the commit died after writing its manifest');
    };
    try {
      await backfill();
    } finally {
      changes.noteCommitted = note;
    }
    expect(died.size).toBe(ids.length);
    expect((await rawBytesRead()) - readBefore).toBe(0);
    const after = await manifests();
    for (const [i, manifest] of after.entries()) {
      const { chatter_lengths: changed, ...kept } = objectKeys(manifest);
      const { chatter_lengths: old, ...previously } = objectKeys(before[i]!);
      expect(kept).toEqual(previously);
      expect(changed).not.toEqual(old);
      expect(manifest.tables.chatter_lengths!.operator).toBe('chatter_lengths@2');
      expect(manifest.topics).toEqual(before[i]!.topics);
    }
    expect((await sql(`SELECT count(*) FROM chatter_lengths WHERE longest IS NOT NULL`))[0]).toEqual([2]);
    // The old manifests stay recoverable.
    const superseded: string[] = [];
    for await (const o of harness!.services.store.list(harness!.config.derivedBucket, `${MANIFEST_PREFIX}superseded/`)) superseded.push(o.key);
    for (const id of ids) expect(superseded.some((k) => k.includes(id))).toBe(true);
  }, 120_000);

  it('a new message operator version: the backfill reads only the chunks holding its topic and rewrites only its table', async () => {
    const before = await manifests();
    await start('ops-v3-messages.ts');
    const plans = await Promise.all(before.map((m) => harness!.services.work.loadPlan(m.plan_key)));
    const recordingBytes = plans.reduce((n, p) => n + p.spans.reduce((m, s) => m + s.end - s.start, 0), 0);
    const readBefore = await rawBytesRead();
    await backfill();
    const read = (await rawBytesRead()) - readBefore;
    expect(read).toBeGreaterThan(0);
    // /counter is the second half of each file's chunks.
    expect(read).toBeLessThan(recordingBytes * 0.75);
    const after = await manifests();
    for (const [i, manifest] of after.entries()) {
      const { counter_parity: changed, ...kept } = objectKeys(manifest);
      const { counter_parity: old, ...previously } = objectKeys(before[i]!);
      expect(kept).toEqual(previously);
      expect(changed).not.toEqual(old);
    }
    // v2: whether the count is a multiple of 3 (counts seed..seed+119: 40 of them).
    expect(await sql(`SELECT sum(even::INT) FROM counter_parity`)).toEqual([[80]]);
  }, 120_000);

  it('two stale table operators, one reading the other: the backfill reruns the second over the new table of the first', async () => {
    const before = await manifests();
    await start('ops-v4-chain.ts');
    const readBefore = await rawBytesRead();
    await backfill();
    expect((await rawBytesRead()) - readBefore).toBe(0);
    for (const [i, manifest] of (await manifests()).entries()) {
      const { chatter_lengths: changed, chatter_summary: added, ...kept } = objectKeys(manifest);
      const { chatter_lengths: old, ...previously } = objectKeys(before[i]!);
      expect(kept).toEqual(previously);
      expect(changed).not.toEqual(old);
      expect(added).toHaveLength(1);
      expect(manifest.tables.chatter_lengths!.operator).toBe('chatter_lengths@1');
      expect(manifest.tables.chatter_summary).toMatchObject({ operator: 'chatter_summary@1', rows: 1 });
    }
    // Version 1 leaves `longest` null: the summary read the rewritten table, not the committed one (version 2).
    expect(await sql(`SELECT recording_id, topics, longest_total FROM chatter_summary ORDER BY 1`)).toEqual(ids.map((id) => [id, 1, null]));
  }, 120_000);

  // Last: it leaves the recordings failed.
  it('a commit that died after writing never replaces a manifest committed after it: its retry refuses and the later one stays', async () => {
    await start('ops-v2-table.ts');
    const { store, catalogChanges: changes } = harness!.services;
    const bucket = harness!.config.derivedBucket;
    const note = changes.noteCommitted.bind(changes);
    const later = new Map<string, string>();
    changes.noteCommitted = async (key) => {
      if (later.has(key)) return note(key);
      // Another commit lands between this one's write and its retry.
      const stored = JSON.parse(Buffer.from((await store.get(bucket, key, 'derived'))!).toString('utf8')) as Manifest;
      const text = serializeManifest({ ...stored, reason: 'committed by someone else' });
      await store.put(bucket, key, text, { contentType: 'application/json' });
      later.set(key, text);
      throw new Error('injected: the commit died after writing its manifest');
    };
    const backfills = new Backfills(harness!.services, createLogger('silent'));
    try {
      await backfills.settled(await backfills.start({ bucket: harness!.config.rawBucket, prefix: '' }));
      const statuses = await waitForFinal(harness!.services, ids, { timeoutMs: 60_000 });
      for (const id of ids)
        expect(statuses.get(id)).toMatchObject({ state: 'failed', reason: expect.stringMatching(/committed again since this backfill was planned/) });
    } finally {
      changes.noteCommitted = note;
      await backfills.close();
    }
    expect(later.size).toBe(ids.length);
    for (const [key, text] of later) expect(Buffer.from((await store.get(bucket, key, 'derived'))!).toString('utf8')).toBe(text);
  }, 120_000);
});

/**
 * Similarity search over the committed per-window feature table: two synthetic robot runs go
 * through the real pipeline (imu_windows written at ingest), then the search reads that table
 * through the catalog and answers real windows of the committed recordings, nearest first,
 * never the query window itself, agreeing with an exhaustive search. The index is persisted in
 * the derived bucket, loaded from there by a process that has none, and grows by the recordings
 * committed since, reading only their objects.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryCatalog, type CatalogLocation } from '../../src/catalog/query-session.ts';
import { similarWindows } from '../../src/catalog/similarity.ts';
import { contentOf, forgetOpenedSimilarityIndexes, newSimilarityIndex, persistSimilarityIndex } from '../../src/catalog/similarity-index-store.ts';
import { listCommitted, ObjectCache } from '../../src/catalog/catalog.ts';
import { parseSimilarityDescriptor, parseSimilarityPointer, similarityPointerKey } from '../../src/domain/similarity-index.ts';
import { watchedStore } from '../helpers/watched-store.ts';
import { DEFAULT_START_TIME_NS, generateRobotRun } from '../../src/synth/robot-run.ts';
import { buildTestRecording } from '../helpers/mcap-builders.ts';
import { startHarness, type Harness } from '../helpers/pipeline-harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'mcapflow-similarity-'));
let harness: Harness | undefined;
let location: CatalogLocation;
const robots: string[] = [];
let noImu = '';

interface Row {
  key: string;
  recordingId: string;
  windowStart: bigint;
  features: number[];
}
let rows: Row[] = [];

const keyOf = (recordingId: string, topic: string, windowStart: string | bigint) => `${recordingId} ${topic} ${windowStart}`;

beforeAll(async () => {
  harness = await startHarness('similarity', { MCAPFLOW_SPAN_MAX_BYTES: String(512 * 1024) });
  location = { store: harness.services.store, derivedBucket: harness.config.derivedBucket, home: harness.home };
  for (const seed of [3, 4]) {
    const run = await generateRobotRun({ path: join(dir, `robot-${seed}.mcap`), sizeBytes: 6 * 1024 * 1024, seed, chunkSizeBytes: 256 * 1024 });
    const summary = await harness.process(run.path);
    expect(summary.status).toBe('committed');
    robots.push(summary.recording_id);
  }
  writeFileSync(join(dir, 'no-imu.mcap'), (await buildTestRecording({ startTime: DEFAULT_START_TIME_NS })).bytes);
  const plain = await harness.process(join(dir, 'no-imu.mcap'));
  expect(plain.status).toBe('committed');
  noImu = plain.recording_id;
  const table = await queryCatalog(location, 'SELECT recording_id, topic, window_start, features FROM imu_windows');
  rows = table.rows.map(([recordingId, topic, start, features]) => ({
    key: keyOf(String(recordingId), String(topic), String(start)),
    recordingId: String(recordingId),
    windowStart: BigInt(start as number | string),
    features: features as number[],
  }));
}, 120_000);

afterAll(async () => {
  await harness?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Euclidean distances between z-normalised vectors of every window to `query`, computed exhaustively. */
function exhaustive(query: Row): Map<string, number> {
  const dims = query.features.length;
  const mean = Array.from({ length: dims }, (_, i) => rows.reduce((s, r) => s + r.features[i]!, 0) / rows.length);
  const std = mean.map((m, i) => Math.sqrt(rows.reduce((s, r) => s + (r.features[i]! - m) ** 2, 0) / rows.length));
  const z = (v: number[]) => v.map((x, i) => (std[i]! > 0 ? (x - mean[i]!) / std[i]! : 0));
  const q = z(query.features);
  return new Map(rows.map((r) => [r.key, Math.hypot(...z(r.features).map((x, i) => x - q[i]!))]));
}

describe('similarity search over imu_windows', () => {
  it('the committed runs have per-window features to search', () => {
    expect(new Set(rows.map((r) => r.recordingId))).toEqual(new Set(robots));
    for (const id of robots) expect(rows.filter((r) => r.recordingId === id).length).toBeGreaterThan(3);
  });

  it('answers the k nearest real windows of the committed recordings, nearest first, without the query window', async () => {
    const at = DEFAULT_START_TIME_NS + 2_500_000_000n;
    const answer = await similarWindows(location, { recordingId: robots[0]!, at, k: 5 });
    expect(answer.table).toBe('imu_windows');
    expect(answer.windows).toBe(rows.length);
    expect(answer.query).toEqual({
      recording_id: robots[0],
      topic: '/imu',
      window_start: String(DEFAULT_START_TIME_NS + 2_000_000_000n),
      window_end: String(DEFAULT_START_TIME_NS + 3_000_000_000n),
    });
    const queryKey = keyOf(robots[0]!, '/imu', answer.query.window_start);
    const keys = answer.neighbours.map((n) => keyOf(n.recording_id, n.topic, n.window_start));
    expect(keys).toHaveLength(5);
    expect(keys).not.toContain(queryKey);
    const known = new Set(rows.map((r) => r.key));
    for (const key of keys) expect(known.has(key), key).toBe(true);
    for (const n of answer.neighbours) expect(BigInt(n.window_end) - BigInt(n.window_start)).toBe(1_000_000_000n);
    const distances = answer.neighbours.map((n) => n.distance);
    expect(distances).toEqual([...distances].sort((a, b) => a - b));
    // The same windows and distances as an exhaustive search over the z-normalised vectors.
    const exact = exhaustive(rows.find((r) => r.key === queryKey)!);
    const best = [...exact].filter(([key]) => key !== queryKey).sort((a, b) => a[1] - b[1]);
    expect(keys).toEqual(best.slice(0, 5).map(([key]) => key));
    answer.neighbours.forEach((n, i) => expect(n.distance).toBeCloseTo(exact.get(keys[i]!)!, 3));
  });

  it('matches the window on the topic asked for, and says when the recording has no such topic', async () => {
    const at = DEFAULT_START_TIME_NS + 1_000_000_000n;
    const answer = await similarWindows(location, { recordingId: robots[1]!, at, k: 2, topic: '/imu' });
    expect(answer.query).toMatchObject({ recording_id: robots[1], topic: '/imu', window_start: String(at) });
    await expect(similarWindows(location, { recordingId: robots[1]!, at, k: 2, topic: '/gps' })).rejects.toThrow(
      /no windows on topic \/gps in table imu_windows; its topics there: \/imu/,
    );
  });

  it('says clearly when the recording has no IMU, the time no window, or the table is not a window table', async () => {
    await expect(similarWindows(location, { recordingId: noImu, at: DEFAULT_START_TIME_NS, k: 3 })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringMatching(new RegExp(`recording ${noImu} has no windows in table imu_windows: .*no IMU topic`)),
    });
    await expect(similarWindows(location, { recordingId: robots[0]!, at: DEFAULT_START_TIME_NS - 1n, k: 3 })).rejects.toThrow(
      /has no window in table imu_windows containing \d+ \(outside its windows' span \[/,
    );
    await expect(similarWindows(location, { recordingId: robots[0]!, at: DEFAULT_START_TIME_NS, k: 3, table: 'no_such_windows' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringMatching(/no committed recording has a table no_such_windows; similarity search reads a per-window feature table/),
    });
    await expect(similarWindows(location, { recordingId: robots[0]!, at: DEFAULT_START_TIME_NS, k: 3, table: 'sensor_msgs_msg_Imu' })).rejects.toMatchObject({
      code: 'BAD_ARGUMENT',
      message: expect.stringMatching(
        /table sensor_msgs_msg_Imu lacks columns window_start, window_end, features: similarity search reads a per-window feature table/,
      ),
    });
    await expect(similarWindows(location, { recordingId: 'f'.repeat(32), at: DEFAULT_START_TIME_NS, k: 3 })).rejects.toThrow(/no committed recording f{32}/);
  });
});

describe('the persisted similarity index', () => {
  const at = DEFAULT_START_TIME_NS + 2_500_000_000n;

  it('is stored in the derived bucket, listing the recordings it holds and their windows', async () => {
    await similarWindows(location, { recordingId: robots[0]!, at, k: 3 });
    const { store } = harness!.services;
    const pointer = parseSimilarityPointer(Buffer.from((await store.get(location.derivedBucket, similarityPointerKey('imu_windows'), 'derived'))!).toString());
    const descriptor = parseSimilarityDescriptor(Buffer.from((await store.get(location.derivedBucket, pointer.descriptor.key, 'derived'))!).toString());
    const held = new Map(descriptor.recordings.map((r) => [r.recording_id, r.windows.length]));
    for (const id of robots) expect(held.get(id), id).toBe(rows.filter((r) => r.recordingId === id).length);
    expect(descriptor.dims).toBe(rows[0]!.features.length);
    expect((await store.head(location.derivedBucket, descriptor.graph.key))?.size).toBe(descriptor.graph.bytes);
  });

  it('is loaded by a process that has none, reading no table object, and answers the same', async () => {
    const before = await similarWindows(location, { recordingId: robots[0]!, at, k: 5 });
    forgetOpenedSimilarityIndexes();
    const watched = watchedStore(harness!.services.store);
    const cold = { ...location, store: watched.store, home: mkdtempSync(join(dir, 'cold-')) };
    const after = await similarWindows(cold, { recordingId: robots[0]!, at, k: 5 });
    expect(after.index).toMatchObject({ loadedFrom: 'store', added: 0, removed: 0, rebuilt: false, persisted: false, windowsRead: 0 });
    expect(after.neighbours).toEqual(before.neighbours);
    expect([...watched.streamed.keys()].filter((key) => key.startsWith('objects/'))).toEqual([]);
    // Warm: nothing read again.
    expect((await similarWindows(cold, { recordingId: robots[1]!, at, k: 5 })).index.loadedFrom).toBe('memory');
  });

  it('adds a recording committed later by reading only its windows, and finds its moments', async () => {
    const run = await generateRobotRun({ path: join(dir, 'robot-5.mcap'), sizeBytes: 6 * 1024 * 1024, seed: 5, chunkSizeBytes: 256 * 1024 });
    const summary = await harness!.process(run.path);
    expect(summary.status).toBe('committed');
    const watched = watchedStore(harness!.services.store);
    const cold = { ...location, store: watched.store, home: mkdtempSync(join(dir, 'grow-')) };
    const answer = await similarWindows(cold, { recordingId: summary.recording_id, at, k: 5 });
    const committed = await listCommitted(location.store, location.derivedBucket, new ObjectCache(join(dir, 'list'), location.store, location.derivedBucket));
    const added = committed.find((r) => r.manifest.recording_id === summary.recording_id)!.manifest.tables['imu_windows']!;
    expect(answer.index).toMatchObject({ added: 1, removed: 0, rebuilt: false, persisted: true, windowsRead: added.rows });
    expect(answer.windows).toBe(rows.length + added.rows);
    expect(answer.query).toMatchObject({ recording_id: summary.recording_id, topic: '/imu' });
    expect(answer.neighbours).toHaveLength(5);
    // The only table objects read are the new recording's windows.
    const tableReads = [...watched.streamed.keys()].filter((key) => key.startsWith('objects/'));
    expect(tableReads.sort()).toEqual(added.objects.map((o) => o.key).sort());
    // Another process opening the index now finds the new recording in the store.
    forgetOpenedSimilarityIndexes();
    const again = await similarWindows({ ...location, home: mkdtempSync(join(dir, 'again-')) }, { recordingId: summary.recording_id, at, k: 5 });
    expect(again.index).toMatchObject({ loadedFrom: 'store', added: 0, windowsRead: 0 });
    expect(again.neighbours).toEqual(answer.neighbours);
  }, 60_000);

  it('starts over when the table now has another feature count than the stored index (a new operator version)', async () => {
    // A stored index of an older operator, three features per window: robots[1] as committed now,
    // and ten windows of robots[0] from content the catalog no longer has (too few to force a rebuild by themselves).
    const committed = await listCommitted(
      location.store,
      location.derivedBucket,
      new ObjectCache(join(dir, 'dims-list'), location.store, location.derivedBucket),
    );
    const threeFeatures = (id: string, limit: number) =>
      rows
        .filter((r) => r.recordingId === id)
        .slice(0, limit)
        .map((r) => ({ recordingId: id, topic: '/imu', windowStart: r.windowStart, windowEnd: r.windowStart + 1n, features: r.features.slice(0, 3) }));
    const current = contentOf(
      committed.find((r) => r.manifest.recording_id === robots[1])!,
      'imu_windows',
    )!;
    const old = newSimilarityIndex('imu_windows', [
      [robots[1]!, current, threeFeatures(robots[1]!, Infinity)],
      [robots[0]!, '0'.repeat(64), threeFeatures(robots[0]!, 10)],
    ]);
    await persistSimilarityIndex(location, old);
    forgetOpenedSimilarityIndexes();
    const answer = await similarWindows({ ...location, home: mkdtempSync(join(dir, 'dims-')) }, { recordingId: robots[0]!, at, k: 5 });
    expect(answer.index).toMatchObject({ loadedFrom: 'store', rebuilt: true, persisted: true });
    // Every committed window, 40 features each, not the old index's 3.
    expect(answer.windows).toBe(committed.reduce((n, r) => n + (r.manifest.tables['imu_windows']?.rows ?? 0), 0));
    const { store } = harness!.services;
    const pointer = parseSimilarityPointer(Buffer.from((await store.get(location.derivedBucket, similarityPointerKey('imu_windows'), 'derived'))!).toString());
    const descriptor = parseSimilarityDescriptor(Buffer.from((await store.get(location.derivedBucket, pointer.descriptor.key, 'derived'))!).toString());
    expect(descriptor.dims).toBe(rows[0]!.features.length);
    expect(new Set(descriptor.recordings.map((r) => r.recording_id))).toContain(robots[1]);
  });

  it('is rebuilt once it would hold twice the windows its scaling was measured on, and then scales by all of them', async () => {
    const committed = await listCommitted(
      location.store,
      location.derivedBucket,
      new ObjectCache(join(dir, 'grow-list'), location.store, location.derivedBucket),
    );
    const withWindows = committed.filter((r) => (r.manifest.tables['imu_windows']?.rows ?? 0) > 0);
    const total = withWindows.reduce((n, r) => n + r.manifest.tables['imu_windows']!.rows, 0);
    // A stored index of the first recording alone, as current: its scaling was measured on its windows only.
    const first = withWindows[0]!;
    const own = rows
      .filter((r) => r.recordingId === first.manifest.recording_id)
      .map((r) => ({ recordingId: r.recordingId, topic: '/imu', windowStart: r.windowStart, windowEnd: r.windowStart + 1n, features: r.features }));
    expect(2 * own.length).toBeLessThan(total);
    await persistSimilarityIndex(location, newSimilarityIndex('imu_windows', [[first.manifest.recording_id, contentOf(first, 'imu_windows')!, own]]));
    forgetOpenedSimilarityIndexes();
    const answer = await similarWindows({ ...location, home: mkdtempSync(join(dir, 'outgrown-')) }, { recordingId: robots[0]!, at, k: 5 });
    const withTable = committed.filter((r) => r.manifest.tables['imu_windows'] !== undefined).length;
    expect(answer.index).toMatchObject({ loadedFrom: 'store', rebuilt: true, added: withTable });
    const { store } = harness!.services;
    const pointer = parseSimilarityPointer(Buffer.from((await store.get(location.derivedBucket, similarityPointerKey('imu_windows'), 'derived'))!).toString());
    const descriptor = parseSimilarityDescriptor(Buffer.from((await store.get(location.derivedBucket, pointer.descriptor.key, 'derived'))!).toString());
    expect(descriptor.normaliser.windows).toBe(total);
  });

  it('rebuilds from the catalog, with a warning, when the stored index cannot be read', async () => {
    const { store } = harness!.services;
    await store.put(location.derivedBucket, similarityPointerKey('imu_windows'), '{"format":"mcapflow.similarity-pointer/1","descriptor":{}}');
    forgetOpenedSimilarityIndexes();
    const warnings: string[] = [];
    const quiet = () => {};
    const log = {
      warn: (fields: { problem?: string }) => warnings.push(String(fields.problem)),
      debug: quiet,
      info: quiet,
      error: quiet,
    } as unknown as CatalogLocation['log'];
    const answer = await similarWindows({ ...location, log, home: mkdtempSync(join(dir, 'damaged-')) }, { recordingId: robots[0]!, at, k: 5 });
    expect(answer.index).toMatchObject({ loadedFrom: 'none', rebuilt: true, persisted: true });
    expect(warnings.join('\n')).toMatch(/similarity index pointer field descriptor.key/);
    expect(answer.neighbours).toHaveLength(5);
    const pointer = parseSimilarityPointer(Buffer.from((await store.get(location.derivedBucket, similarityPointerKey('imu_windows'), 'derived'))!).toString());
    expect(pointer.descriptor.key).toMatch(/^similarity\/imu_windows\/[0-9a-f]{64}\.json$/);
  });
});

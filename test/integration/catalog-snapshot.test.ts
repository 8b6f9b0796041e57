/**
 * A query service that starts cold reads the catalog snapshot the admin writes and the commits
 * noted since, not every manifest, against real Redis and the S3 server: what it answers equals
 * a full listing, and the manifests it GETs (counted by key) are only those the snapshot lacks.
 * A snapshot the feed cannot resume from, or one that cannot be read, costs only speed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgetParsedCatalog, listCommitted, listCommittedSince, LISTING_MAX_AGE_MS, ObjectCache, type CommittedRecording } from '../../src/catalog/catalog.ts';
import { readCatalogSnapshot, snapshotOf, writeCatalogSnapshot } from '../../src/catalog/catalog-snapshot-store.ts';
import { startCatalogSnapshotter } from '../../src/admin/catalog-snapshotter.ts';
import { createLogger } from '../../src/log.ts';
import { CATALOG_SNAPSHOT_KEY } from '../../src/domain/catalog-snapshot.ts';
import { MANIFEST_PREFIX } from '../../src/domain/layout.ts';
import { CatalogChanges } from '../../src/status/catalog-changes.ts';
import { startAdmin, type AdminHarness } from '../helpers/admin-harness.ts';
import { buildTestRecording } from '../helpers/mcap-builders.ts';
import { watchedStore } from '../helpers/watched-store.ts';

let admin: AdminHarness;
let dir: string;
let recordings = 0;

async function commitRecording(): Promise<string> {
  recordings += 1;
  const path = join(dir, `run-${recordings}.mcap`);
  writeFileSync(
    path,
    (await buildTestRecording({ messagesPerTopic: 10 + recordings, startTime: 1_700_000_000_000_000_000n + BigInt(recordings) * 10n ** 12n })).bytes,
  );
  const summary = await admin.harness.process(path);
  expect(summary.status).toBe('committed');
  return summary.recording_id;
}

const ids = (committed: readonly CommittedRecording[]) => committed.map((r) => r.manifest.recording_id);
const manifestsRead = (streamed: Map<string, number>) => [...streamed.keys()].filter((k) => k.startsWith(MANIFEST_PREFIX)).sort();

/** A listing as a query service that just started gives it: nothing parsed, an empty object cache, a feed never read. */
async function coldListing(): Promise<{ committed: CommittedRecording[]; manifestsRead: string[]; warnings: string[] }> {
  forgetParsedCatalog();
  const lines: string[] = [];
  const log = createLogger('warn', {}, { destination: { write: (line: string) => lines.push(line) } });
  const { services, config } = admin.harness;
  const { store, streamed } = watchedStore(services.store);
  const cache = new ObjectCache(mkdtempSync(join(dir, 'cache-')), store, config.derivedBucket);
  const committed = await listCommittedSince(new CatalogChanges(services.queues.connection, services.queues.keys), store, config.derivedBucket, cache, log);
  const warnings = lines.map((line) => JSON.parse(line) as { msg: string; problem?: string }).map((l) => `${l.msg}: ${l.problem}`);
  return { committed, manifestsRead: manifestsRead(streamed), warnings };
}

async function fullListing(): Promise<CommittedRecording[]> {
  forgetParsedCatalog();
  const { services, config } = admin.harness;
  await services.store.delete(config.derivedBucket, CATALOG_SNAPSHOT_KEY).catch(() => undefined);
  return listCommitted(services.store, config.derivedBucket, new ObjectCache(mkdtempSync(join(dir, 'cache-')), services.store, config.derivedBucket));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcapflow-catalog-snapshot-'));
  // The admin's own snapshotter is off: each test decides when a snapshot is written. So is its
  // similarity refresher: its listings would refill this process's parsed catalog between a
  // test's forgetting it and its cold listing (seen under load: a "cold" listing GET nothing).
  admin = await startAdmin('catalog-snapshot', { MCAPFLOW_CATALOG_SNAPSHOT_MS: '0', MCAPFLOW_SIMILARITY_REFRESH_MS: '0' });
  await commitRecording();
  await commitRecording();
}, 120_000);

afterAll(async () => {
  await admin?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the catalog snapshot', () => {
  it('is written by the admin with the recordings it holds, and a cold query service then reads no manifest', async () => {
    const { services, config } = admin.harness;
    const log = createLogger('silent');
    const location = { store: services.store, derivedBucket: config.derivedBucket, home: admin.harness.home, log, changes: services.catalogChanges };
    // Its first pass runs at start; stop() waits for it.
    await startCatalogSnapshotter(location, 60_000, log).stop();
    const snapshot = await readCatalogSnapshot(services.store, config.derivedBucket);
    expect(snapshot?.recordings).toHaveLength(2);
    expect(snapshot?.position).toBe(await services.catalogChanges.position());
    const cold = await coldListing();
    expect(cold.warnings).toEqual([]);
    expect(cold.manifestsRead).toEqual([]);
    expect(cold.committed).toEqual(await fullListing());
  });

  it('reads only the manifests committed after the snapshot, from the commit feed', async () => {
    const { services, config } = admin.harness;
    const full = await fullListing();
    await writeCatalogSnapshot(services.store, config.derivedBucket, snapshotOf(await services.catalogChanges.position(), Date.now(), full));
    const third = await commitRecording();
    const cold = await coldListing();
    expect(cold.manifestsRead).toEqual([`${MANIFEST_PREFIX}${third}.json`]);
    expect(ids(cold.committed)).toHaveLength(3);
    expect(cold.committed).toEqual(await fullListing());
  });

  it('lists the manifests when the feed no longer knows its position, and still GETs only what the snapshot lacks', async () => {
    const { services, config } = admin.harness;
    const full = await fullListing();
    // A snapshot of the first two recordings at a position whose following entries are trimmed away.
    await writeCatalogSnapshot(services.store, config.derivedBucket, snapshotOf('1-0|1', Date.now(), full.slice(0, 2)));
    await services.queues.connection.xtrim(services.queues.keys.catalogChanges, 'MAXLEN', 0);
    const cold = await coldListing();
    expect(cold.manifestsRead).toEqual([`${MANIFEST_PREFIX}${full[2]!.manifest.recording_id}.json`]);
    expect(cold.committed).toEqual(full);
  });

  it('is ignored when it cannot be read: every manifest is read and the answer is the same', async () => {
    const { services, config } = admin.harness;
    const full = await fullListing();
    await services.store.put(config.derivedBucket, CATALOG_SNAPSHOT_KEY, 'not gzip');
    const cold = await coldListing();
    expect(cold.warnings).toEqual(['ignoring the catalog snapshot: reading every manifest: incorrect header check']);
    // The answer is a listing's: the snapshot's entries count for nothing.
    expect(cold.manifestsRead).toHaveLength(3);
    expect(cold.committed).toEqual(full);
  });

  it('is as old as its last full listing: past LISTING_MAX_AGE_MS a cold start lists, and a manifest removed by hand is gone', async () => {
    const { services, config } = admin.harness;
    const full = await fullListing();
    // A recording the snapshot holds whose manifest was removed by hand since (never noted as a commit).
    const removed = {
      ...full[0]!,
      manifest: { ...full[0]!.manifest, recording_id: 'e'.repeat(32) },
      version: `${MANIFEST_PREFIX}${'e'.repeat(32)}.json@"gone"`,
    };
    const position = await services.catalogChanges.position();
    await writeCatalogSnapshot(services.store, config.derivedBucket, snapshotOf(position, Date.now(), [...full, removed]));
    // Listed just now: served as it is until the next full listing (at most LISTING_MAX_AGE_MS).
    expect(ids((await coldListing()).committed)).toContain('e'.repeat(32));
    await writeCatalogSnapshot(services.store, config.derivedBucket, snapshotOf(position, Date.now() - 2 * LISTING_MAX_AGE_MS, [...full, removed]));
    const stale = await coldListing();
    expect(stale.committed).toEqual(full);
    expect(stale.manifestsRead).toEqual([]);
  });

  it('is not written again by an admin that started from it while no commit landed', async () => {
    const { services, config } = admin.harness;
    const full = await fullListing();
    await writeCatalogSnapshot(services.store, config.derivedBucket, snapshotOf(await services.catalogChanges.position(), Date.now(), full));
    const before = await services.store.head(config.derivedBucket, CATALOG_SNAPSHOT_KEY);
    forgetParsedCatalog();
    const log = createLogger('silent');
    const feed = new CatalogChanges(services.queues.connection, services.queues.keys);
    const location = { store: services.store, derivedBucket: config.derivedBucket, home: mkdtempSync(join(dir, 'restart-')), log, changes: feed };
    await startCatalogSnapshotter(location, 60_000, log).stop();
    expect((await services.store.head(config.derivedBucket, CATALOG_SNAPSHOT_KEY))?.etag).toBe(before?.etag);
    // One more commit, and the next pass writes it.
    await commitRecording();
    await startCatalogSnapshotter(location, 60_000, log).stop();
    expect((await readCatalogSnapshot(services.store, config.derivedBucket))?.recordings).toHaveLength(full.length + 1);
  });
});

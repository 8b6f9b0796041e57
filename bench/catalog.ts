/**
 * Opening the catalog at fleet size (issue 12: well under a second for 10,000 recordings when
 * warm).
 *
 *   npx tsx bench/catalog.ts [--recordings 10000]
 *
 * One small robot run is committed through the pipeline; its manifest is then written again
 * under `--recordings` recording ids (every copy names the same table objects, which a listing
 * does not read). On that catalog:
 * - *cold*: the first listing of a process (LIST every manifest, GET and check each);
 * - *warm list*: a listing with every manifest already parsed (LIST only);
 * - *tables*: computing the `recordings` and `topics` rows and the table objects from a listing,
 *   then again from a new listing of the same manifests (what a commit costs them);
 * - *snapshot*: writing the catalog snapshot (as the admin does), then a cold start from it:
 *   nothing parsed, an empty object cache, the snapshot and the commit feed read (no manifest
 *   GET); and a cold listing seeded by it (LIST, no manifest GET), as when the feed was trimmed;
 * - *POST /v1/query* of `SELECT count(*) FROM recordings`, p50 of 10 after one warm-up (the
 *   admin relists only when a commit is noted, so this is the warm service's cost);
 * - *after a commit*: one more manifest, noted as the commit job notes it, then one statement
 *   (the service reads that manifest, not the listing).
 * Prints one JSON line.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { forgetParsedCatalog, listCommitted, listCommittedSince, ObjectCache } from '../src/catalog/catalog.ts';
import { snapshotOf, writeCatalogSnapshot } from '../src/catalog/catalog-snapshot-store.ts';
import { CatalogChanges } from '../src/status/catalog-changes.ts';
import { catalogTables } from '../src/catalog/catalog-tables.ts';
import { objectCache } from '../src/catalog/query-session.ts';
import { manifestKey } from '../src/domain/layout.ts';
import { parseManifest } from '../src/domain/manifest-schema.ts';
import { serializeManifest } from '../src/domain/manifest.ts';
import { startAdmin } from '../test/helpers/admin-harness.ts';
import { robotRun } from './inputs.ts';
import { median, timed } from './stats.ts';

export interface CatalogOpenResult {
  recordings: number;
  writeS: number;
  coldListMs: number;
  warmListMs: number;
  tablesMs: number;
  tablesAgainMs: number;
  snapshotWriteMs: number;
  snapshotJsonBytes: number;
  snapshotBytes: number;
  coldFromSnapshotMs: number;
  coldListSeededMs: number;
  httpCountP50Ms: number;
  afterCommitMs: number;
}

export async function measureCatalogOpen(options: { recordings: number; log: (line: string) => void }): Promise<CatalogOpenResult> {
  const { log } = options;
  // No similarity refresher or snapshotter: their listings would run alongside the ones measured
  // (and list before the copies below are written, which are not noted as commits are).
  const admin = await startAdmin('bench-catalog', { MCAPFLOW_SIMILARITY_REFRESH_MS: '0', MCAPFLOW_CATALOG_SNAPSHOT_MS: '0' });
  try {
    const { harness } = admin;
    const { store } = harness.services;
    const bucket = harness.config.derivedBucket;
    const input = await robotRun(4 * 1024 * 1024, 1);
    const summary = await harness.process(input.path);
    if (summary.status !== 'committed') throw new Error(`seed 1: ${summary.status}`);
    const text = Buffer.from((await store.get(bucket, manifestKey(summary.recording_id), 'derived'))!).toString('utf8');
    const manifest = parseManifest(text, summary.recording_id);

    const started = performance.now();
    let next = 0;
    const writer = async () => {
      for (let i = next++; i < options.recordings - 1; i = next++) {
        const id = (i + 1).toString(16).padStart(32, '0');
        const copy = { ...manifest, recording_id: id, source: { ...manifest.source, key: `copies/${id}.mcap` } };
        await store.put(bucket, manifestKey(id), serializeManifest(copy), { contentType: 'application/json' });
      }
    };
    await Promise.all(Array.from({ length: 16 }, writer));
    const writeS = (performance.now() - started) / 1000;
    log(`catalog: ${options.recordings} manifests written in ${writeS.toFixed(1)} s`);

    const cache = objectCache({ store, derivedBucket: bucket, home: harness.home });
    const cold = await timed(() => listCommitted(store, bucket, cache));
    if (cold.value.length !== options.recordings) throw new Error(`listed ${cold.value.length} recordings, wrote ${options.recordings}`);
    const warm = await timed(() => listCommitted(store, bucket, cache));
    const tables = await timed(() => catalogTables(warm.value));
    // What a commit costs them: a new listing of the same parsed manifests (the rows of each are kept).
    const tablesAgain = await timed(() => catalogTables([...warm.value]));
    log(
      `  list cold ${cold.ms.toFixed(0)} ms, warm ${warm.ms.toFixed(0)} ms; recordings/topics/objects ${tables.ms.toFixed(0)} ms, again for a new listing ${tablesAgain.ms.toFixed(0)} ms`,
    );

    const { queues } = harness.services;
    const written = await timed(async () =>
      writeCatalogSnapshot(store, bucket, snapshotOf(await harness.services.catalogChanges.position(), Date.now(), warm.value)),
    );
    const coldCache = () => new ObjectCache(mkdtempSync(join(harness.home, 'cold-cache-')), store, bucket);
    forgetParsedCatalog();
    const fromSnapshot = await timed(() => listCommittedSince(new CatalogChanges(queues.connection, queues.keys), store, bucket, coldCache()));
    if (fromSnapshot.value.length !== options.recordings) throw new Error(`the snapshot gave ${fromSnapshot.value.length} recordings`);
    forgetParsedCatalog();
    const seeded = await timed(() => listCommitted(store, bucket, coldCache()));
    if (seeded.value.length !== options.recordings) throw new Error(`the seeded listing gave ${seeded.value.length} recordings`);
    log(
      `  snapshot: written in ${written.ms.toFixed(0)} ms (${(written.value.jsonBytes / 1e6).toFixed(1)} MB of JSON, ${(written.value.bytes / 1e6).toFixed(1)} MB gzipped: the copies differ by little); cold start from it ${fromSnapshot.ms.toFixed(0)} ms, cold listing seeded by it ${seeded.ms.toFixed(0)} ms`,
    );

    const times: number[] = [];
    for (let q = 0; q < 11; q++) {
      const answer = await timed(() => admin.call('POST', '/v1/query', { body: { sql: 'SELECT count(*) FROM recordings' } }));
      if (answer.value.status !== 200) throw new Error(`POST /v1/query answered ${answer.value.status}: ${JSON.stringify(answer.value.body)}`);
      if (q > 0) times.push(answer.ms);
    }
    log(`  POST /v1/query SELECT count(*) FROM recordings: p50 ${median(times).toFixed(0)} ms (first ${times[0]!.toFixed(0)} ms)`);

    // One more commit, noted as the commit job notes it: the next statement reads that manifest only.
    const id = 'f'.repeat(32);
    await store.put(bucket, manifestKey(id), serializeManifest({ ...manifest, recording_id: id, source: { ...manifest.source, key: `copies/${id}.mcap` } }));
    await harness.services.catalogChanges.noteCommitted(manifestKey(id));
    const afterCommit = await timed(() => admin.call('POST', '/v1/query', { body: { sql: 'SELECT count(*) FROM recordings' } }));
    const counted = Number((afterCommit.value.body as { rows: number[][] }).rows[0]![0]);
    if (counted !== options.recordings + 1) throw new Error(`after a commit the catalog held ${counted} recordings, not ${options.recordings + 1}`);
    log(`  the statement after a commit: ${afterCommit.ms.toFixed(0)} ms`);
    return {
      recordings: options.recordings,
      writeS,
      coldListMs: cold.ms,
      warmListMs: warm.ms,
      tablesMs: tables.ms,
      tablesAgainMs: tablesAgain.ms,
      snapshotWriteMs: written.ms,
      snapshotJsonBytes: written.value.jsonBytes,
      snapshotBytes: written.value.bytes,
      coldFromSnapshotMs: fromSnapshot.ms,
      coldListSeededMs: seeded.ms,
      httpCountP50Ms: median(times),
      afterCommitMs: afterCommit.ms,
    };
  } finally {
    await admin.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { recordings: { type: 'string', default: '10000' } } });
  const result = await measureCatalogOpen({ recordings: Number(values.recordings), log: (line) => process.stderr.write(`${line}\n`) });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

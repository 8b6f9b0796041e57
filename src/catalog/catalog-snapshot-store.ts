/**
 * Reading and writing the catalog snapshot (src/domain/catalog-snapshot.ts) in the derived
 * bucket, gzipped: JSON of parsed manifests shrinks ~10× and gzip runs off the event loop.
 */
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import {
  CATALOG_SNAPSHOT_FORMAT,
  CATALOG_SNAPSHOT_KEY,
  parseCatalogSnapshot,
  serializeCatalogSnapshot,
  type CatalogSnapshot,
} from '../domain/catalog-snapshot.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { CommittedRecording } from './catalog.ts';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** The snapshot in `bucket`, undefined when there is none; an InvalidCatalogSnapshotError when it cannot be used. */
export async function readCatalogSnapshot(store: ObjectStore, bucket: string): Promise<CatalogSnapshot | undefined> {
  const bytes = await store.get(bucket, CATALOG_SNAPSHOT_KEY, 'derived');
  if (bytes === undefined) return undefined;
  return parseCatalogSnapshot((await gunzipAsync(bytes)).toString('utf8'));
}

/** Replaces the bucket's snapshot with `committed` as listed at feed `position`; says how large it is, as JSON and as written. */
export async function writeCatalogSnapshot(
  store: ObjectStore,
  bucket: string,
  position: string,
  committed: readonly CommittedRecording[],
): Promise<{ jsonBytes: number; bytes: number }> {
  const snapshot: CatalogSnapshot = {
    format: CATALOG_SNAPSHOT_FORMAT,
    position,
    written_at: new Date().toISOString(),
    recordings: committed.map((r) => ({ version: r.version, committed_at: r.committedAt?.toISOString() ?? null, manifest: r.manifest })),
  };
  const json = serializeCatalogSnapshot(snapshot);
  const body = await gzipAsync(json, { level: 6 });
  await store.put(bucket, CATALOG_SNAPSHOT_KEY, body, { contentType: 'application/gzip' });
  return { jsonBytes: Buffer.byteLength(json), bytes: body.length };
}

/** The recordings a snapshot holds, as a listing would give them. */
export function snapshotRecordings(snapshot: CatalogSnapshot): CommittedRecording[] {
  return snapshot.recordings.map((r) => ({
    manifest: r.manifest,
    committedAt: r.committed_at === null ? undefined : new Date(r.committed_at),
    version: r.version,
  }));
}

/**
 * Reading and writing the catalog snapshot (src/domain/catalog-snapshot.ts) in the derived
 * bucket, gzipped: JSON of parsed manifests shrinks ~10×. Lines are gzipped as they are made,
 * in libuv's thread pool; each line is stringified and parsed on the event loop, one at a time.
 */
import { promisify } from 'node:util';
import { createGzip, gunzip } from 'node:zlib';
import {
  CATALOG_SNAPSHOT_FORMAT,
  CATALOG_SNAPSHOT_KEY,
  parseCatalogSnapshot,
  serializeCatalogSnapshot,
  type CatalogSnapshot,
} from '../domain/catalog-snapshot.ts';
import { MANIFEST_FORMAT } from '../domain/manifest.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { CommittedRecording } from './catalog.ts';

const gunzipAsync = promisify(gunzip);

/** The lines of `bytes`, without building one string of them all. */
function* linesOf(bytes: Buffer): Generator<string> {
  for (let start = 0; start < bytes.length;) {
    const end = bytes.indexOf(10, start);
    const stop = end < 0 ? bytes.length : end;
    yield bytes.toString('utf8', start, stop);
    start = stop + 1;
  }
}

/** The snapshot in `bucket`, undefined when there is none; an InvalidCatalogSnapshotError when it cannot be used. */
export async function readCatalogSnapshot(store: ObjectStore, bucket: string): Promise<CatalogSnapshot | undefined> {
  const bytes = await store.get(bucket, CATALOG_SNAPSHOT_KEY, 'derived');
  if (bytes === undefined) return undefined;
  return parseCatalogSnapshot(linesOf(await gunzipAsync(bytes)));
}

/** What a listing at feed `position` holds, as a snapshot: `listedAt` is when its manifests were last all listed. */
export function snapshotOf(position: string, listedAt: number, committed: readonly CommittedRecording[]): CatalogSnapshot {
  return {
    format: CATALOG_SNAPSHOT_FORMAT,
    manifest_format: MANIFEST_FORMAT,
    position,
    listed_at: new Date(listedAt).toISOString(),
    written_at: new Date().toISOString(),
    recordings: committed.map((r) => ({ version: r.version, committed_at: r.committedAt?.toISOString() ?? null, manifest: r.manifest })),
  };
}

/** Replaces the bucket's snapshot; says how large it is, as JSON and as written. */
export async function writeCatalogSnapshot(store: ObjectStore, bucket: string, snapshot: CatalogSnapshot): Promise<{ jsonBytes: number; bytes: number }> {
  const gzip = createGzip({ level: 6 });
  const chunks: Buffer[] = [];
  gzip.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    gzip.once('end', resolve);
    gzip.once('error', reject);
  });
  let jsonBytes = 0;
  for (const line of serializeCatalogSnapshot(snapshot)) {
    jsonBytes += Buffer.byteLength(line);
    // Wait for the compressor when its buffer is full: the whole catalog is never held as text.
    if (!gzip.write(line)) await new Promise((resolve) => gzip.once('drain', resolve));
  }
  gzip.end();
  await ended;
  const body = Buffer.concat(chunks);
  await store.put(bucket, CATALOG_SNAPSHOT_KEY, body, { contentType: 'application/gzip' });
  return { jsonBytes, bytes: body.length };
}

/** The recordings a snapshot holds, as a listing would give them. */
export function snapshotRecordings(snapshot: CatalogSnapshot): CommittedRecording[] {
  return snapshot.recordings.map((r) => ({
    manifest: r.manifest,
    committedAt: r.committed_at === null ? undefined : new Date(r.committed_at),
    version: r.version,
  }));
}

/**
 * Comparing two runs of the same inputs: every derived object (by key, size and ETag, which
 * is the MD5 of its bytes) and every manifest byte for byte.
 */
import { CATALOG_SNAPSHOT_KEY } from '../../src/domain/catalog-snapshot.ts';
import { SIMILARITY_PREFIX } from '../../src/domain/similarity-index.ts';
import type { ObjectStore } from '../../src/storage/object-store.ts';

export interface RunSnapshot {
  /** key → "size:etag" of every object in the derived bucket. */
  objects: Map<string, string>;
  /** key → bytes of every manifest. */
  manifests: Map<string, Buffer>;
}

export async function snapshotRun(store: ObjectStore, bucket: string): Promise<RunSnapshot> {
  const objects = new Map<string, string>();
  const manifests = new Map<string, Buffer>();
  for await (const o of store.list(bucket, '')) {
    // Similarity indexes and the catalog snapshot are written from committed manifests whenever an admin process gets to it: not a run's output.
    if (o.key.startsWith('quarantine/') || o.key.startsWith(SIMILARITY_PREFIX) || o.key === CATALOG_SNAPSHOT_KEY) continue;
    objects.set(o.key, `${o.size}:${o.etag}`);
    if (o.key.startsWith('manifests/')) manifests.set(o.key, Buffer.from((await store.get(bucket, o.key, 'derived'))!));
  }
  return { objects, manifests };
}

export interface RunDifference {
  identical: boolean;
  /** In the reference run only. */
  missing: string[];
  /** In the other run only (work written twice under different keys, or garbage). */
  extra: string[];
  /** Same key, different bytes. */
  different: string[];
}

export function compareRuns(reference: RunSnapshot, other: RunSnapshot): RunDifference {
  const missing = [...reference.objects.keys()].filter((k) => !other.objects.has(k));
  const extra = [...other.objects.keys()].filter((k) => !reference.objects.has(k));
  const different = [...reference.objects].filter(([k, v]) => other.objects.has(k) && other.objects.get(k) !== v).map(([k]) => k);
  for (const [key, bytes] of reference.manifests) {
    const theirs = other.manifests.get(key);
    if (theirs !== undefined && !theirs.equals(bytes) && !different.includes(key)) different.push(key);
  }
  return { identical: missing.length === 0 && extra.length === 0 && different.length === 0, missing, extra, different };
}

/** One SQL statement over the committed catalog, from listing manifests to rows. */
import { join } from 'node:path';
import type { ObjectStore } from '../storage/object-store.ts';
import { listCommitted, ObjectCache } from './catalog.ts';
import { QueryEngine, type QueryResult } from './query-engine.ts';

export interface CatalogLocation {
  store: ObjectStore;
  derivedBucket: string;
  /** MCAPFLOW_HOME: the object cache lives under it. */
  home: string;
}

export function objectCache(location: CatalogLocation): ObjectCache {
  return new ObjectCache(join(location.home, 'cache'), location.store, location.derivedBucket);
}

/** Runs `sql`; with `limits`, sandboxed for an untrusted caller (see QueryEngine.runSandboxed). */
export async function queryCatalog(location: CatalogLocation, sql: string, limits?: { maxRows: number; timeoutMs: number }): Promise<QueryResult> {
  const cache = objectCache(location);
  const recordings = await listCommitted(location.store, location.derivedBucket, cache);
  const engine = await QueryEngine.open(recordings, cache, sql);
  try {
    if (limits === undefined) return await engine.run(sql);
    return await engine.runSandboxed(sql, { ...limits, allowedDirectory: join(location.home, 'cache', 'objects', 'tables') });
  } finally {
    engine.close();
  }
}

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

export async function queryCatalog(location: CatalogLocation, sql: string): Promise<QueryResult> {
  const cache = objectCache(location);
  const recordings = await listCommitted(location.store, location.derivedBucket, cache);
  const engine = await QueryEngine.open(recordings, cache, sql);
  try {
    return await engine.run(sql);
  } finally {
    engine.close();
  }
}

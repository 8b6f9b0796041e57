/**
 * What operators get to work with: the store, the settings that shape their outputs and a
 * cache of immutable plans. Operators do all their I/O through this.
 */
import type { RecordingPlan } from '../domain/plan.ts';
import { parsePlan } from '../domain/plan-schema.ts';
import { sha256Hex } from '../domain/hash.ts';
import { NotFoundError } from '../errors.ts';
import type { ObjectStore, PutOptions } from '../storage/object-store.ts';
import type { StoredObject } from '../domain/work.ts';
import type { BlobStorage } from './blobs.ts';
import type { SqlSettings } from './sql-session.ts';
import { countCache } from '../observability/metrics.ts';

export interface WorkSettings {
  derivedBucket: string;
  maxRecordBytes: number;
  maxChunkBytes: number;
  blobThresholdBytes: number;
  blobStorage: BlobStorage;
  parquetTargetBytes: number;
  parquetRowGroupRows: number;
  /** DuckDB for operators' SQL: temp files, memory, threads. */
  sql: SqlSettings;
  /** Local copies of immutable derived objects (input tables of table operators). */
  cacheDir: string;
}

export interface WorkContext {
  store: ObjectStore;
  settings: WorkSettings;
  loadPlan(planKey: string): Promise<RecordingPlan>;
}

const PLAN_CACHE_LIMIT = 64;

export function createWorkContext(store: ObjectStore, settings: WorkSettings): WorkContext {
  const plans = new Map<string, Promise<RecordingPlan>>();
  return {
    store,
    settings,
    loadPlan(planKey) {
      let plan = plans.get(planKey);
      countCache('plan', plan !== undefined);
      if (plan === undefined) {
        plan = store.get(settings.derivedBucket, planKey, 'derived').then((bytes) => {
          if (bytes === undefined) throw new NotFoundError(`plan ${planKey} is missing from bucket ${settings.derivedBucket}`);
          return parsePlan(Buffer.from(bytes).toString('utf8'), planKey);
        });
        plan.catch(() => plans.delete(planKey));
        if (plans.size >= PLAN_CACHE_LIMIT) plans.delete(plans.keys().next().value!);
        plans.set(planKey, plan);
      }
      return plan;
    },
  };
}

/** Writes a derived object and returns its size and byte hash for the manifest. */
export async function writeObject(ctx: WorkContext, key: string, body: Uint8Array, options: PutOptions = {}): Promise<StoredObject> {
  await ctx.store.put(ctx.settings.derivedBucket, key, body, options);
  return { key, bytes: body.length, sha256: sha256Hex(body) };
}

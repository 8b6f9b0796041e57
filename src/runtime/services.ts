/**
 * The long-lived services every role shares, built from the configuration: object store,
 * queues, status store and the operator context. Entry points create one and close it.
 */
import type { Config } from '../config/config.ts';
import { createWorkContext, type WorkContext } from '../operators/context.ts';
import { DeadLetters } from '../queue/dead-letters.ts';
import { Queues } from '../queue/queues.ts';
import { RecordingStatusStore } from '../status/recording-status.ts';
import { CatalogChanges } from '../status/catalog-changes.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { S3Store } from '../storage/s3-store.ts';
import type { S3Credentials } from '../embedded/s3-credentials.ts';
import { storeMetrics } from '../observability/metrics.ts';
import type { OperatorRegistry } from '../operators/registry.ts';
import { join } from 'node:path';

export interface Services {
  config: Config;
  store: ObjectStore;
  queues: Queues;
  status: RecordingStatusStore;
  /** Commits noted in Redis, so query services relist the catalog only when one landed. */
  catalogChanges: CatalogChanges;
  work: WorkContext;
  /** Every operator this process knows: the built-ins and MCAPFLOW_OPERATORS. */
  registry: OperatorRegistry;
  deadLetters: DeadLetters;
  /** Stops consuming; running jobs get `drainTimeoutMs` to finish before they are handed back. */
  close(drainTimeoutMs?: number): Promise<void>;
}

export interface ServiceEndpoints {
  redisUrl: string;
  /** Resolved S3 endpoint; undefined means the AWS default for the region. */
  s3Endpoint: string | undefined;
  /** The embedded server's credentials when talking to it; undefined: the standard AWS credential chain. */
  s3Credentials?: S3Credentials | undefined;
}

export function createStore(config: Config, endpoints: ServiceEndpoints, overrides: { maxAttempts?: number } = {}): S3Store {
  return new S3Store({
    ...overrides,
    endpoint: endpoints.s3Endpoint,
    region: config.s3Region,
    forcePathStyle: config.s3ForcePathStyle,
    requestTimeoutMs: config.s3RequestTimeoutMs,
    observer: storeMetrics,
    ...(endpoints.s3Credentials ? { credentials: endpoints.s3Credentials } : {}),
  });
}

export function createServices(config: Config, endpoints: ServiceEndpoints, registry: OperatorRegistry): Services {
  const store = createStore(config, endpoints);
  const queues = new Queues({
    redisUrl: endpoints.redisUrl,
    prefix: config.prefix,
    jobAttempts: config.jobAttempts,
    jobAttemptsByKind: config.jobAttemptsByKind,
    backoffMs: config.backoffMs,
    lockDurationMs: config.lockDurationMs,
    stalledIntervalMs: config.stalledIntervalMs,
    maxStalledCount: config.maxStalledCount,
  });
  const status = new RecordingStatusStore(queues.connection, queues.keys);
  const operators = createWorkContext(store, {
    derivedBucket: config.derivedBucket,
    maxRecordBytes: config.maxRecordBytes,
    maxChunkBytes: config.maxChunkBytes,
    blobThresholdBytes: config.blobThresholdBytes,
    blobStorage: config.blobStorage,
    parquetTargetBytes: config.parquetTargetBytes,
    parquetRowGroupRows: config.parquetRowGroupRows,
    sql: { tempDir: join(config.home, 'tmp', 'operators'), memoryMb: config.queryMemoryMb, threads: config.queryThreads },
    cacheDir: join(config.home, 'cache'),
  });
  return {
    config,
    store,
    queues,
    status,
    catalogChanges: new CatalogChanges(queues.connection, queues.keys),
    work: operators,
    registry,
    deadLetters: new DeadLetters(queues, { maxEntries: config.dlqMaxEntries, maxEntryBytes: config.dlqMaxEntryBytes }),
    async close(drainTimeoutMs = config.drainTimeoutMs) {
      await queues.close(drainTimeoutMs);
      store.close();
    },
  };
}

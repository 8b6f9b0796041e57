/**
 * The embedded default: use the Redis at REDIS_URL or start one, use S3 at S3_ENDPOINT or
 * start the embedded server over $MCAPFLOW_HOME/s3, and make sure both buckets exist. The
 * embedded server (this process's or a running `serve`'s) is reached with the credentials
 * of the home; an S3_ENDPOINT is reached with the standard AWS credential chain.
 */
import { join } from 'node:path';
import type { Config } from '../config/config.ts';
import { embeddedS3Credentials } from '../embedded/s3-credentials.ts';
import { startEmbeddedS3, type EmbeddedS3 } from '../embedded/s3-server.ts';
import { spawnRedis, type SpawnedRedis } from '../embedded/redis-server.ts';
import { McapflowError } from '../errors.ts';
import { redisAnswers } from '../queue/redis.ts';
import { findLocalServer } from './local-server.ts';
import { createStore, type ServiceEndpoints } from './services.ts';

export interface Environment {
  endpoints: ServiceEndpoints;
  /** Present when this process runs the embedded S3 server (its events feed the pipeline). */
  embeddedS3: EmbeddedS3 | undefined;
  spawnedRedis: SpawnedRedis | undefined;
  stop(): Promise<void>;
}

/**
 * `ensureBuckets: false` (the edge uploader) skips creating the buckets on an S3_ENDPOINT: a
 * robot booting offline must start anyway, and its credentials need not allow CreateBucket.
 */
export async function prepareEnvironment(config: Config, needs: { redis: boolean; ensureBuckets?: boolean } = { redis: true }): Promise<Environment> {
  let spawnedRedis: SpawnedRedis | undefined;
  if (needs.redis && !(await redisAnswers(config.redisUrl))) {
    if (!config.spawnRedis) throw new McapflowError('REDIS_UNAVAILABLE', `no Redis answers at ${config.redisUrl} (MCAPFLOW_SPAWN_REDIS is off)`);
    spawnedRedis = await spawnRedis(config.redisUrl, join(config.home, 'redis'));
  }
  let embeddedS3: EmbeddedS3 | undefined;
  // On the embedded default, a `serve` already running on this home owns the S3 server: use
  // it, so uploads made here raise events there.
  const running = config.s3Endpoint === undefined ? findLocalServer(config.home)?.s3Endpoint : undefined;
  if (config.s3Endpoint === undefined && running === undefined) {
    embeddedS3 = await startEmbeddedS3({
      directory: join(config.home, 's3'),
      port: config.embeddedS3Port,
      buckets: [config.rawBucket, config.derivedBucket],
      credentials: embeddedS3Credentials(config.home, { create: true }),
    });
  }
  const endpoints: ServiceEndpoints = {
    redisUrl: config.redisUrl,
    s3Endpoint: embeddedS3?.endpoint ?? running ?? (config.s3Endpoint === '' ? undefined : config.s3Endpoint),
    s3Credentials: embeddedS3?.credentials ?? (running !== undefined ? embeddedS3Credentials(config.home, { create: false }) : undefined),
  };
  if (embeddedS3 === undefined && needs.ensureBuckets !== false) {
    const store = createStore(config, endpoints);
    try {
      await store.ensureBucket(config.rawBucket);
      await store.ensureBucket(config.derivedBucket);
    } finally {
      store.close();
    }
  }
  return {
    endpoints,
    embeddedS3,
    spawnedRedis,
    async stop() {
      await embeddedS3?.close();
      await spawnedRedis?.stop();
    },
  };
}

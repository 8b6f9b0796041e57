/**
 * A real pipeline for integration tests: the embedded S3 server (s3rver on loopback) over a
 * temp directory, the machine's Redis under a unique key prefix, dispatcher and workers in
 * this process. `close()` stops everything and deletes the keys and the directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { loadConfig, type Config } from '../../src/config/config.ts';
import { createLogger } from '../../src/log.ts';
import { prepareEnvironment, type Environment } from '../../src/runtime/environment.ts';
import { startPipeline, type Pipeline } from '../../src/runtime/pipeline.ts';
import type { Services } from '../../src/runtime/services.ts';
import { RedisKeys } from '../../src/queue/redis-keys.ts';
import { submitFile, waitForFinal } from '../../src/cli/submit.ts';
import { summarize, type RecordingSummary } from '../../src/cli/summary.ts';

export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export function uniquePrefix(label: string): string {
  return `mftest-${label}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

export async function deleteRedisPrefix(prefix: string, url = TEST_REDIS_URL): Promise<number> {
  const redis = new Redis(url);
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', new RedisKeys(prefix).everyKeyPattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

export interface Harness {
  config: Config;
  env: Environment;
  pipeline: Pipeline;
  services: Services;
  home: string;
  /** Uploads a file (its event starts the work) and waits until it is final. */
  process(path: string, timeoutMs?: number): Promise<RecordingSummary>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  roles?: { dispatcher: boolean; worker: boolean };
  /** Route the pipeline's S3 traffic through another endpoint (e.g. a fault proxy) in front of the embedded server. */
  s3Endpoint?: (embeddedEndpoint: string) => Promise<string>;
  /** Reuse a home directory (embedded S3 data) instead of a fresh temp one; it is not deleted. */
  home?: string;
  /** Reuse a Redis key prefix; its keys are still deleted on close. */
  prefix?: string;
}

export async function startHarness(label: string, overrides: Record<string, string> = {}, options: HarnessOptions = {}): Promise<Harness> {
  const home = options.home ?? mkdtempSync(join(tmpdir(), `mcapflow-${label}-`));
  const prefix = options.prefix ?? uniquePrefix(label);
  const config = loadConfig({
    MCAPFLOW_HOME: home,
    MCAPFLOW_PREFIX: prefix,
    REDIS_URL: TEST_REDIS_URL,
    MCAPFLOW_SPAWN_REDIS: 'false',
    MCAPFLOW_BACKOFF_MS: '100',
    ...overrides,
  });
  const prepared = await prepareEnvironment(config);
  const env: Environment = options.s3Endpoint
    ? { ...prepared, endpoints: { ...prepared.endpoints, s3Endpoint: await options.s3Endpoint(prepared.endpoints.s3Endpoint!) } }
    : prepared;
  const pipeline = await startPipeline(config, env, options.roles ?? { dispatcher: true, worker: true }, createLogger('silent'));
  const { services } = pipeline;
  return {
    config,
    env,
    pipeline,
    services,
    home,
    async process(path, timeoutMs = 60_000) {
      const submitted = await submitFile(services, path);
      const statuses = await waitForFinal(services, [submitted.recordingId], { timeoutMs });
      return summarize(services, path, submitted.recordingId, statuses.get(submitted.recordingId));
    },
    async close() {
      await pipeline.stop();
      await env.stop();
      await deleteRedisPrefix(prefix, config.redisUrl);
      if (options.home === undefined) rmSync(home, { recursive: true, force: true });
    },
  };
}

/** Every object in a bucket with its size and ETag, for before/after comparisons. */
export async function listBucket(services: Services, bucket: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const o of services.store.list(bucket, '')) out.set(o.key, `${o.size}:${o.etag}`);
  return out;
}

/**
 * Environment for a separate `mcapflow serve --role worker` process that joins a harness: its
 * Redis prefix, its embedded S3 server (with that server's credentials), no HTTP port clash.
 */
export function workerProcessEnv(harness: Harness, overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    MCAPFLOW_HOME: harness.home,
    MCAPFLOW_PREFIX: harness.config.prefix,
    REDIS_URL: harness.config.redisUrl,
    S3_ENDPOINT: harness.env.endpoints.s3Endpoint!,
    // S3_ENDPOINT is set, so the process signs with the standard AWS variables: the embedded server's own pair.
    AWS_ACCESS_KEY_ID: harness.env.endpoints.s3Credentials!.accessKeyId,
    AWS_SECRET_ACCESS_KEY: harness.env.endpoints.s3Credentials!.secretAccessKey,
    MCAPFLOW_SPAWN_REDIS: 'false',
    MCAPFLOW_HTTP_PORT: '0',
    MCAPFLOW_LOG_LEVEL: 'warn',
    ...overrides,
  };
}

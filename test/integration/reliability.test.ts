/**
 * What happens when infrastructure misbehaves: a Redis that may evict keys is refused at
 * startup; a Redis restart mid-run loses nothing; a worker stopped at its drain deadline
 * hands its job straight back; a worker killed with SIGKILL has its job picked up again.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/log.ts';
import { prepareEnvironment } from '../../src/runtime/environment.ts';
import { startPipeline } from '../../src/runtime/pipeline.ts';
import { submitFile, waitForFinal } from '../../src/cli/submit.ts';
import { generateRobotRun } from '../../src/synth/robot-run.ts';
import { deleteRedisPrefix, startHarness, uniquePrefix, workerProcessEnv } from '../helpers/pipeline-harness.ts';
import { startOwnRedis } from '../helpers/own-redis.ts';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/mcapflow.js');
const dir = mkdtempSync(join(tmpdir(), 'mcapflow-reliability-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(name: string, sizeBytes: number, seed: number, chunkSizeBytes = 256 * 1024): Promise<string> {
  const path = join(dir, name);
  await generateRobotRun({ path, sizeBytes, seed, chunkSizeBytes });
  return path;
}

async function activeJobs(harness: { services: { queues: { queue(n: 'index' | 'extract'): { getActiveCount(): Promise<number> } } } }): Promise<number> {
  return (await harness.services.queues.queue('index').getActiveCount()) + (await harness.services.queues.queue('extract').getActiveCount());
}

async function until(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('startup checks', () => {
  it('refuses a Redis whose maxmemory-policy can evict jobs, naming the policy and the fix', async () => {
    const redis = await startOwnRedis(['--maxmemory-policy', 'allkeys-lru']);
    const home = mkdtempSync(join(dir, 'evict-'));
    const config = loadConfig({ MCAPFLOW_HOME: home, REDIS_URL: redis.url, MCAPFLOW_PREFIX: 'mftest-evict', MCAPFLOW_SPAWN_REDIS: 'false' });
    const env = await prepareEnvironment(config);
    try {
      await expect(startPipeline(config, env, { dispatcher: true, worker: true }, createLogger('silent'))).rejects.toMatchObject({
        code: 'REDIS_MISCONFIGURED',
        message: expect.stringMatching(/allkeys-lru.*noeviction/),
      });
    } finally {
      await env.stop();
      await redis.stop();
    }
  });
});

describe('Redis restart', () => {
  it('commits every recording when Redis (AOF on) restarts mid-run', async () => {
    const redis = await startOwnRedis();
    // A job whose lock renewal fell into the outage finishes but cannot report it; it runs again
    // once its lock lapses. Short locks keep that within the wait below, as in `npm run chaos`.
    const harness = await startHarness('redis-restart', {
      REDIS_URL: redis.url,
      MCAPFLOW_SPAN_MAX_BYTES: String(512 * 1024),
      MCAPFLOW_LOCK_DURATION_MS: '8000',
      MCAPFLOW_STALLED_INTERVAL_MS: '2000',
    });
    try {
      const paths = await Promise.all([1, 2, 3].map((seed) => run(`restart-${seed}.mcap`, 3 * 1024 * 1024, seed)));
      const submitted = [];
      for (const path of paths) submitted.push(await submitFile(harness.services, path));
      await until(async () => (await activeJobs(harness)) > 0, 20_000, 'a span job to start');
      await redis.restart(300);
      const statuses = await waitForFinal(
        harness.services,
        submitted.map((s) => s.recordingId),
        { timeoutMs: 90_000 },
      );
      expect([...statuses.values()].map((s) => s?.state)).toEqual(['committed', 'committed', 'committed']);
    } finally {
      await harness.close();
      await redis.stop();
    }
  }, 120_000);
});

describe('re-uploads', () => {
  it('treats an object re-uploaded with different content as a new recording', async () => {
    const harness = await startHarness('reupload');
    try {
      const key = 'robots/r1/run.mcap';
      const { store } = harness.services;
      const { readFileSync } = await import('node:fs');
      const first = await run('v1.mcap', 1024 * 1024, 11);
      const second = await run('v2.mcap', 1024 * 1024, 12);
      const ids: string[] = [];
      for (const path of [first, second]) {
        await store.put(harness.config.rawBucket, key, readFileSync(path));
        const info = (await store.head(harness.config.rawBucket, key))!;
        const { recordingIdFor } = await import('../../src/domain/identity.ts');
        const id = recordingIdFor({ bucket: info.bucket, key, size: info.size, etag: info.etag });
        ids.push(id);
        expect((await waitForFinal(harness.services, [id], { timeoutMs: 30_000 })).get(id)?.state).toBe('committed');
      }
      expect(ids[0]).not.toBe(ids[1]);
    } finally {
      await harness.close();
    }
  });
});

describe('worker shutdown and crashes', () => {
  it('hands a job still running at the drain deadline straight back to the queue', async () => {
    const prefix = uniquePrefix('drain');
    const home = mkdtempSync(join(dir, 'drain-'));
    const overrides = { MCAPFLOW_LOCK_DURATION_MS: '60000', MCAPFLOW_STALLED_INTERVAL_MS: '60000' };
    const path = await run('drain.mcap', 24 * 1024 * 1024, 21, 4 * 1024 * 1024);
    const first = await startHarness('drain', overrides, { home, prefix });
    const submitted = await submitFile(first.services, path);
    await until(async () => (await activeJobs(first)) > 0, 30_000, 'a span job to start');
    await first.pipeline.stop(0);
    await first.env.stop();

    const handedBackAt = Date.now();
    const second = await startHarness('drain', overrides, { home, prefix });
    try {
      const statuses = await waitForFinal(second.services, [submitted.recordingId], { timeoutMs: 45_000 });
      expect(statuses.get(submitted.recordingId)?.state).toBe('committed');
      // Far sooner than the 60 s lock: nobody waited for the first worker's lock to lapse.
      expect(Date.now() - handedBackAt).toBeLessThan(45_000);
    } finally {
      await second.close();
      rmSync(home, { recursive: true, force: true });
    }
  }, 120_000);

  it('picks up the jobs of a worker killed with SIGKILL once their lock lapses', async () => {
    const overrides = { MCAPFLOW_LOCK_DURATION_MS: '3000', MCAPFLOW_STALLED_INTERVAL_MS: '1000' };
    const harness = await startHarness('sigkill', overrides, { roles: { dispatcher: true, worker: false } });
    const env = workerProcessEnv(harness, overrides);
    const victim = spawn(process.execPath, [BIN, 'serve', '--role', 'worker'], { env, stdio: 'ignore' });
    let rescuer: ReturnType<typeof spawn> | undefined;
    try {
      const path = await run('sigkill.mcap', 24 * 1024 * 1024, 31, 4 * 1024 * 1024);
      const submitted = await submitFile(harness.services, path);
      await until(async () => (await activeJobs(harness)) > 0, 30_000, 'the worker to take a span job');
      victim.kill('SIGKILL');
      rescuer = spawn(process.execPath, [BIN, 'serve', '--role', 'worker'], { env, stdio: 'ignore' });
      const statuses = await waitForFinal(harness.services, [submitted.recordingId], { timeoutMs: 60_000 });
      expect(statuses.get(submitted.recordingId)?.state).toBe('committed');
    } finally {
      victim.kill('SIGKILL');
      rescuer?.kill('SIGTERM');
      await harness.close();
      await deleteRedisPrefix(harness.config.prefix);
    }
  }, 120_000);
});

/**
 * The embedded default: with no Redis answering at REDIS_URL (a loopback address) mcapflow
 * starts its own redis-server under MCAPFLOW_HOME, with AOF and noeviction, and stops it.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { redisAnswers } from '../../src/queue/redis.ts';
import { prepareEnvironment } from '../../src/runtime/environment.ts';
import { freePort } from '../helpers/own-redis.ts';

describe('embedded default', () => {
  it('starts a private redis-server when none answers, and the embedded S3 server with both buckets', async () => {
    const home = mkdtempSync(join(tmpdir(), 'mcapflow-embedded-'));
    const url = `redis://127.0.0.1:${await freePort()}`;
    expect(await redisAnswers(url)).toBe(false);
    const env = await prepareEnvironment(loadConfig({ MCAPFLOW_HOME: home, REDIS_URL: url }));
    try {
      expect(env.spawnedRedis).toBeDefined();
      const redis = new Redis(url);
      expect(await redis.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
      expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      redis.disconnect();
      expect(existsSync(join(home, 'redis'))).toBe(true);
      expect(env.embeddedS3?.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(existsSync(join(home, 's3', 'raw'))).toBe(true);
      expect(existsSync(join(home, 's3', 'derived'))).toBe(true);
    } finally {
      await env.stop();
      rmSync(home, { recursive: true, force: true });
    }
    expect(await redisAnswers(url)).toBe(false);
  });

  it('says what to do when no Redis answers and starting one is off', async () => {
    const home = mkdtempSync(join(tmpdir(), 'mcapflow-embedded-'));
    try {
      const config = loadConfig({ MCAPFLOW_HOME: home, REDIS_URL: `redis://127.0.0.1:${await freePort()}`, MCAPFLOW_SPAWN_REDIS: 'false' });
      await expect(prepareEnvironment(config)).rejects.toMatchObject({
        code: 'REDIS_UNAVAILABLE',
        message: expect.stringMatching(/no Redis answers at .*MCAPFLOW_SPAWN_REDIS is off/),
      });
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

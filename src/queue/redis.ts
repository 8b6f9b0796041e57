/**
 * Redis connections. Every connection mcapflow opens comes from here, configured the way
 * BullMQ needs it (no per-request retry limit, so commands wait out a Redis restart).
 */
import { Redis } from 'ioredis';
import { McapflowError } from '../errors.ts';

export function createRedis(url: string, options: { lazyConnect?: boolean } = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    lazyConnect: options.lazyConnect ?? false,
    retryStrategy: (attempt) => Math.min(200 * attempt, 2000),
  });
}

/** True when a Redis answers PING at `url` within the timeout. */
export async function redisAnswers(url: string, timeoutMs = 1000): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/**
 * BullMQ loses jobs when Redis evicts keys under memory pressure, so refuse any policy but
 * noeviction.
 */
export async function assertNoEviction(redis: Redis): Promise<void> {
  const info = await redis.info('memory');
  const policy = /maxmemory_policy:(\S+)/.exec(info)?.[1];
  if (policy !== undefined && policy !== 'noeviction') {
    throw new McapflowError(
      'REDIS_MISCONFIGURED',
      `Redis maxmemory-policy is ${policy}; mcapflow needs noeviction or queued jobs can be silently evicted (set it with: CONFIG SET maxmemory-policy noeviction, or in redis.conf)`,
    );
  }
}

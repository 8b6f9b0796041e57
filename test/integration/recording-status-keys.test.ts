/**
 * Live recording status under the key factory, on the machine's Redis: ids are checked
 * before they reach a key, and the listing survives an index member that is no recording id.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../src/queue/redis.ts';
import { RedisKeys } from '../../src/queue/redis-keys.ts';
import { RecordingStatusStore } from '../../src/status/recording-status.ts';
import { deleteRedisPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/pipeline-harness.ts';

const prefix = uniquePrefix('status-keys');
const keys = new RedisKeys(prefix);
const redis = createRedis(TEST_REDIS_URL);
const status = new RecordingStatusStore(redis, keys);
const A = 'a'.repeat(32);
const B = 'b'.repeat(32);

beforeAll(async () => {
  await status.set(A, 'queued', { source: 's3://raw/a.mcap' });
  await status.set(B, 'committed', { source: 's3://raw/b.mcap' });
});

afterAll(async () => {
  redis.disconnect();
  await deleteRedisPrefix(prefix);
});

describe('recording status keys', () => {
  it('writes each recording under its factory key, with the index in the same MULTI', async () => {
    expect(await redis.hget(keys.recordingStatus(A), 'state')).toBe('queued');
    expect(await redis.zscore(keys.recordingIndex, B)).not.toBeNull();
  });

  it('refuses an id that is not a recording id and writes nothing for it', async () => {
    await expect(status.set('x:y', 'queued')).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    await expect(status.get('../a')).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    expect(await redis.zscore(keys.recordingIndex, 'x:y')).toBeNull();
    expect((await redis.keys(keys.everyKeyPattern)).sort()).toEqual([keys.recordingStatus(A), keys.recordingStatus(B), keys.recordingIndex].sort());
  });

  it('lists every recording even when the index holds a member that is no recording id', async () => {
    await redis.zadd(keys.recordingIndex, Date.now() + 1000, 'not-a-recording');
    const { items } = await status.list({ limit: 10 });
    expect(items.map((s) => s.recordingId).sort()).toEqual([A, B]);
  });
});

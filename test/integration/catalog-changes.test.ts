/**
 * The commit log a query service reads instead of listing every manifest, against real Redis:
 * what was noted since a position, in order; nothing when nothing was; and "cannot say" (the
 * reader lists) once the entries after its position were trimmed away.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../src/queue/redis.ts';
import { RedisKeys } from '../../src/queue/redis-keys.ts';
import { CatalogChanges } from '../../src/status/catalog-changes.ts';
import { deleteRedisPrefix, TEST_REDIS_URL } from '../helpers/pipeline-harness.ts';

const prefix = `mfcatalogchanges${process.pid}`;
const redis = createRedis(TEST_REDIS_URL);
const keys = new RedisKeys(prefix);
const changes = new CatalogChanges(redis, keys);

afterAll(async () => {
  redis.disconnect();
  await deleteRedisPrefix(prefix);
});

describe('the catalog change log', () => {
  it('answers the manifests noted since a position, in order, and none when none were', async () => {
    const start = await changes.position();
    expect(start).toBe('0-0|0');
    for (const id of ['a', 'b', 'a']) await changes.noteCommitted(`manifests/${id.repeat(32)}.json`);
    const first = await changes.since(start);
    expect(first?.manifestKeys).toEqual([`manifests/${'a'.repeat(32)}.json`, `manifests/${'b'.repeat(32)}.json`, `manifests/${'a'.repeat(32)}.json`]);
    expect(first?.position).toBe(await changes.position());
    expect(await changes.since(first!.position)).toEqual({ position: first!.position, manifestKeys: [] });
    await changes.noteCommitted(`manifests/${'c'.repeat(32)}.json`);
    expect((await changes.since(first!.position))?.manifestKeys).toEqual([`manifests/${'c'.repeat(32)}.json`]);
  });

  it('cannot say what changed once the entries after a position were trimmed, so the reader lists', async () => {
    const old = await changes.position();
    for (let i = 0; i < 3; i++) await changes.noteCommitted(`manifests/${String(i).repeat(32)}.json`);
    await redis.xtrim(keys.catalogChanges, 'MAXLEN', 1);
    expect(await changes.since(old)).toBeUndefined();
    const now = await changes.position();
    expect(await changes.since(now)).toEqual({ position: now, manifestKeys: [] });
  });

  it('cannot say what changed when the stream was replaced by another with as many entries (Redis emptied and refilled)', async () => {
    const before = await changes.position();
    const [, added] = before.split('|');
    await redis.del(keys.catalogChanges);
    for (let i = 0; i < Number(added); i++) await changes.noteCommitted(`manifests/${'d'.repeat(32)}.json`);
    expect((await changes.position()).split('|')[1]).toBe(added);
    expect(await changes.since(before)).toBeUndefined();
  });
});

/**
 * A counter of commits in Redis: each commit increments it after writing its manifest, so a
 * query service can tell in one GET whether the catalog may have changed since it last listed
 * the manifests, instead of listing them for every statement.
 */
import type { Redis } from 'ioredis';
import type { CatalogChangeFeed } from '../catalog/catalog.ts';
import type { RedisKeys } from '../queue/redis-keys.ts';

export class CatalogChanges implements CatalogChangeFeed {
  readonly #redis: Redis;
  readonly #key: string;

  constructor(redis: Redis, keys: RedisKeys) {
    this.#redis = redis;
    this.#key = keys.catalogChanges;
  }

  /** After a manifest is written (or found already written: a retry must not lose the change). */
  async noteCommitted(): Promise<void> {
    await this.#redis.incr(this.#key);
  }

  async token(): Promise<string> {
    return (await this.#redis.get(this.#key)) ?? '0';
  }
}

/**
 * Browser sessions of the status page. Signing in with the admin token creates a random
 * session id, which is all the cookie holds: a leaked cookie is not the admin token, ends
 * when it expires or is signed out, and every admin process sharing the Redis knows it.
 * Redis keeps only a hash of the id (a key listing reveals no live cookie) and a
 * fingerprint of the admin token it was issued under, so changing the token ends every
 * session.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { isSessionId, type RedisKeys } from '../queue/redis-keys.ts';

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export class AdminSessions {
  readonly #redis: Redis;
  readonly #keys: RedisKeys;
  readonly #fingerprint: string;
  readonly ttlSeconds: number;

  constructor(redis: Redis, options: { keys: RedisKeys; adminToken: string; ttlSeconds: number }) {
    this.#redis = redis;
    this.#keys = options.keys;
    this.#fingerprint = sha256(`mcapflow admin session\n${options.adminToken}`);
    this.ttlSeconds = options.ttlSeconds;
  }

  /** Session ids are 32 random bytes, base64url (anything else is not looked up). */
  async create(): Promise<string> {
    const id = randomBytes(32).toString('base64url');
    await this.#redis.set(this.#keys.adminSession(id), this.#fingerprint, 'EX', this.ttlSeconds);
    return id;
  }

  /** True when `id` is a live session issued under the current admin token. */
  async valid(id: string): Promise<boolean> {
    if (!isSessionId(id)) return false;
    return (await this.#redis.get(this.#keys.adminSession(id))) === this.#fingerprint;
  }

  async revoke(id: string): Promise<void> {
    if (isSessionId(id)) await this.#redis.del(this.#keys.adminSession(id));
  }
}

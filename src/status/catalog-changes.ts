/**
 * The commits in order, in a Redis stream: each commit appends its manifest's key after writing
 * it, so a query service reads what changed since it last looked (one XINFO when no commit
 * landed, an XRANGE when some did) instead of listing every manifest. Capped: a reader some of
 * whose entries were trimmed away lists the manifests, which stay the truth.
 */
import type { Redis } from 'ioredis';
import type { CatalogChangeFeed } from '../catalog/catalog.ts';
import type { RedisKeys } from '../queue/redis-keys.ts';

/** Entries kept: far more commits than a reader falls behind between two statements. */
export const CATALOG_CHANGES_KEPT = 100_000;
/** Entries read per XRANGE call. */
const PAGE = 1000;

export class CatalogChanges implements CatalogChangeFeed {
  readonly #redis: Redis;
  readonly #key: string;

  constructor(redis: Redis, keys: RedisKeys) {
    this.#redis = redis;
    this.#key = keys.catalogChanges;
  }

  /** After a manifest is written (or found already written: the attempt that wrote it may have failed before noting it). */
  async noteCommitted(manifestKey: string): Promise<void> {
    await this.#redis.xadd(this.#key, 'MAXLEN', '~', String(CATALOG_CHANGES_KEPT), '*', 'manifest', manifestKey);
  }

  /** The stream's newest id and how many entries were ever added to it; undefined when there is no stream. */
  async #head(): Promise<{ lastId: string; added: number } | undefined> {
    let info: unknown[];
    try {
      info = (await this.#redis.call('XINFO', 'STREAM', this.#key)) as unknown[];
    } catch (error) {
      if (/no such key/i.test((error as Error).message)) return undefined;
      throw error;
    }
    const field = (name: string) => info[info.indexOf(name) + 1];
    const lastId = field('last-generated-id');
    const added = field('entries-added');
    if (typeof lastId !== 'string' || typeof added !== 'number')
      throw new Error('XINFO STREAM lacks last-generated-id or entries-added: Redis 7 or later is needed');
    return { lastId, added };
  }

  /** `<newest id>|<entries ever added>`: the count tells a reader whether entries after it were trimmed. */
  async position(): Promise<string> {
    const head = await this.#head();
    return head === undefined ? '0-0|0' : `${head.lastId}|${head.added}`;
  }

  async since(position: string): Promise<{ position: string; manifestKeys: string[] } | undefined> {
    const match = /^(\d+-\d+)\|(\d+)$/.exec(position);
    if (match === null) return undefined;
    const [, fromId, fromAdded] = match as unknown as [string, string, string];
    const head = await this.#head();
    if (head === undefined) return Number(fromAdded) === 0 ? { position, manifestKeys: [] } : undefined;
    const expected = head.added - Number(fromAdded);
    // As many entries as then, but another newest one: another stream (Redis was emptied and refilled), so it cannot say.
    if (expected === 0) return head.lastId === fromId ? { position, manifestKeys: [] } : undefined;
    if (expected < 0) return undefined;
    const manifestKeys: string[] = [];
    let after = fromId;
    let read = 0;
    for (;;) {
      const page = await this.#redis.xrange(this.#key, `(${after}`, head.lastId, 'COUNT', PAGE);
      for (const [id, fields] of page) {
        after = id;
        read += 1;
        const at = fields.indexOf('manifest');
        if (at >= 0 && fields[at + 1] !== undefined) manifestKeys.push(fields[at + 1]!);
      }
      if (page.length < PAGE) break;
    }
    // Fewer entries than were added since: some were trimmed away, and what they said is lost.
    if (read < expected) return undefined;
    return { position: `${head.lastId}|${head.added}`, manifestKeys };
  }
}

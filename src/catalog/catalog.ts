/**
 * The catalog: every committed recording, read from the manifests in the derived bucket.
 * Manifests and the objects they list are immutable, so a local copy is always correct.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { MANIFEST_PREFIX, recordingIdFromManifestKey } from '../domain/layout.ts';
import type { Manifest } from '../domain/manifest.ts';
import { InvalidManifestError, parseManifest } from '../domain/manifest-schema.ts';
import { validateObjectKey } from '../domain/object-keys.ts';
import { StorageError } from '../errors.ts';
import { createLogger, type Logger } from '../log.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { countCache, manifestsInvalid } from '../observability/metrics.ts';

export interface CommittedRecording {
  manifest: Manifest;
  committedAt: Date | undefined;
  /** The manifest's key and ETag: another version is another manifest. */
  version: string;
}

let downloads = 0;

/** Local copies of immutable derived objects, verified against their manifest hash. */
export class ObjectCache {
  readonly #dir: string;
  readonly #store: ObjectStore;
  readonly #bucket: string;
  hits = 0;
  misses = 0;

  constructor(dir: string, store: ObjectStore, bucket: string) {
    this.#dir = dir;
    this.#store = store;
    this.#bucket = bucket;
  }

  /**
   * Path of the local copy, downloading it first when missing. `version` (e.g. an ETag)
   * names the copy of an object that can be replaced; immutable objects need none.
   */
  async path(key: string, sha256?: string, version?: string): Promise<string> {
    const local = join(this.#dir, validateObjectKey(version === undefined ? key : `${key}.${version.replace(/[^A-Za-z0-9]/g, '')}`));
    if (existsSync(local)) {
      this.hits += 1;
      countCache('object', true);
      return local;
    }
    this.misses += 1;
    countCache('object', false);
    mkdirSync(dirname(local), { recursive: true });
    // One name per download: two readers of one object in this process must not share a partial file.
    const partial = `${local}.${process.pid}.${(downloads += 1)}.partial`;
    const hash = createHash('sha256');
    try {
      const body = await this.#store.stream(this.#bucket, key, 'cache');
      body.on('data', (chunk: Buffer) => hash.update(chunk));
      await pipeline(body, createWriteStream(partial));
      const actual = hash.digest('hex');
      if (sha256 !== undefined && actual !== sha256) {
        throw new StorageError(`object ${key} has sha256 ${actual}, but its manifest says ${sha256}`, undefined, false);
      }
      renameSync(partial, local);
    } finally {
      rmSync(partial, { force: true });
    }
    return local;
  }

  async read(key: string, sha256?: string, version?: string): Promise<Buffer> {
    return readFile(await this.path(key, sha256, version));
  }
}

let defaultLog: Logger | undefined;
/**
 * Manifests already parsed, per bucket, by key and ETag: every query lists the catalog, and
 * reading and checking each manifest again cost most of a query's time on a catalog of 20 runs.
 * Callers must not mutate what they get.
 */
const parsedManifests = new Map<string, Map<string, Manifest>>();
/** Manifest versions already warned about: every query lists them, one warning each is enough. */
const warned = new Set<string>();

/**
 * Every committed recording in the derived bucket, in recording-id order. A manifest that
 * cannot be used (see parseManifest) is skipped, counted in mcapflow_manifests_invalid_total
 * and logged, so one bad object never hides the other recordings.
 */
export async function listCommitted(store: ObjectStore, bucket: string, cache: ObjectCache, log?: Logger): Promise<CommittedRecording[]> {
  const committed: CommittedRecording[] = [];
  const known = parsedManifests.get(bucket) ?? new Map<string, Manifest>();
  const listed = new Map<string, Manifest>();
  for await (const object of store.list(bucket, MANIFEST_PREFIX)) {
    const recordingId = recordingIdFromManifestKey(object.key);
    if (recordingId === undefined) continue;
    // A manifest changes only when a reprocess replaces it, and then its ETag changes too.
    const version = object.etag ?? String(object.lastModified?.getTime());
    const parsed = known.get(`${object.key}@${version}`);
    if (parsed !== undefined) {
      listed.set(`${object.key}@${version}`, parsed);
      committed.push({ manifest: parsed, committedAt: object.lastModified, version: `${object.key}@${version}` });
      continue;
    }
    const text = (await cache.read(object.key, undefined, version)).toString('utf8');
    try {
      const manifest = parseManifest(text, recordingId);
      listed.set(`${object.key}@${version}`, manifest);
      committed.push({ manifest, committedAt: object.lastModified, version: `${object.key}@${version}` });
    } catch (error) {
      if (!(error instanceof InvalidManifestError)) throw error;
      manifestsInvalid.inc();
      if (warned.has(`${object.key}@${version}`)) continue;
      warned.add(`${object.key}@${version}`);
      (log ?? (defaultLog ??= createLogger('warn'))).warn({ key: object.key, bucket, problem: error.message }, 'skipping an invalid manifest');
    }
  }
  // Only what this listing holds stays: replaced and deleted manifests are forgotten.
  parsedManifests.set(bucket, listed);
  return committed;
}

/** Tells whether the catalog may have changed: a token that moves with every commit. */
export interface CatalogChangeFeed {
  token(): Promise<string>;
}

/** Longest a listing is reused while the token stands still: manifests written or removed by hand show up after this. */
export const LISTING_MAX_AGE_MS = 30_000;
const listings = new WeakMap<CatalogChangeFeed, Map<string, { token: string; at: number; committed: CommittedRecording[] }>>();

/**
 * {@link listCommitted}, reused while `feed`'s token has not moved (and for at most
 * LISTING_MAX_AGE_MS): a statement after no commit costs one token read, not a LIST of every
 * manifest. Without a feed, or when it cannot be read, the manifests are listed.
 */
export async function listCommittedSince(
  feed: CatalogChangeFeed | undefined,
  store: ObjectStore,
  bucket: string,
  cache: ObjectCache,
  log?: Logger,
): Promise<CommittedRecording[]> {
  if (feed === undefined) return listCommitted(store, bucket, cache, log);
  // Read before listing: a commit landing during the listing moves the token past this one.
  const token = await feed.token().catch(() => undefined);
  const known = listings.get(feed)?.get(bucket);
  if (token !== undefined && known?.token === token && Date.now() - known.at < LISTING_MAX_AGE_MS) return known.committed;
  const committed = await listCommitted(store, bucket, cache, log);
  if (token !== undefined) {
    const byBucket = listings.get(feed) ?? new Map<string, { token: string; at: number; committed: CommittedRecording[] }>();
    byBucket.set(bucket, { token, at: Date.now(), committed });
    listings.set(feed, byBucket);
  }
  return committed;
}

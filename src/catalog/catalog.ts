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
import type { ObjectInfo, ObjectStore } from '../storage/object-store.ts';
import { countCache, manifestsInvalid } from '../observability/metrics.ts';
import { CATALOG_SNAPSHOT_KEY } from '../domain/catalog-snapshot.ts';
import { readCatalogSnapshot, snapshotRecordings } from './catalog-snapshot-store.ts';

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
 * The committed recording a manifest object holds, parsed once per key and ETag (`known`), or
 * undefined for an object that is not a manifest or cannot be used (counted and logged once).
 */
async function readCommitted(
  object: ObjectInfo,
  cache: ObjectCache,
  known: Map<string, Manifest>,
  log: Logger | undefined,
): Promise<CommittedRecording | undefined> {
  const recordingId = recordingIdFromManifestKey(object.key);
  if (recordingId === undefined) return undefined;
  // A manifest changes only when a reprocess replaces it, and then its ETag changes too.
  const version = `${object.key}@${object.etag ?? String(object.lastModified?.getTime())}`;
  const parsed = known.get(version);
  if (parsed !== undefined) return { manifest: parsed, committedAt: object.lastModified, version };
  const text = (await cache.read(object.key, undefined, version.slice(object.key.length + 1))).toString('utf8');
  try {
    const manifest = parseManifest(text, recordingId);
    known.set(version, manifest);
    return { manifest, committedAt: object.lastModified, version };
  } catch (error) {
    if (!(error instanceof InvalidManifestError)) throw error;
    manifestsInvalid.inc();
    if (!warned.has(version)) {
      warned.add(version);
      (log ?? (defaultLog ??= createLogger('warn'))).warn({ key: object.key, bucket: object.bucket, problem: error.message }, 'skipping an invalid manifest');
    }
    return undefined;
  }
}

/** What a bucket's catalog snapshot held when this process first looked: read once per process and bucket. */
interface SnapshotSeed {
  position: string;
  /** When the snapshot's manifests were last all listed (epoch ms): its listing is as old as that. */
  listedAt: number;
  committed: CommittedRecording[];
}
const seeds = new Map<string, Promise<SnapshotSeed | undefined>>();

/**
 * The bucket's catalog snapshot, once per process: its manifests join the parsed ones, so the
 * first listing GETs only manifests written or replaced since it. A snapshot that is missing or
 * cannot be used is no loss (logged): the manifests are read as without one.
 */
function seedFromSnapshot(store: ObjectStore, bucket: string, log: Logger | undefined): Promise<SnapshotSeed | undefined> {
  let seed = seeds.get(bucket);
  if (seed === undefined) {
    seed = readCatalogSnapshot(store, bucket).then(
      (snapshot) => {
        if (snapshot === undefined) return undefined;
        const committed = snapshotRecordings(snapshot);
        const known = parsedManifests.get(bucket) ?? new Map<string, Manifest>();
        for (const r of committed) known.set(r.version, r.manifest);
        parsedManifests.set(bucket, known);
        return { position: snapshot.position, listedAt: Date.parse(snapshot.listed_at), committed };
      },
      (error: unknown) => {
        (log ?? (defaultLog ??= createLogger('warn'))).warn(
          { bucket, key: CATALOG_SNAPSHOT_KEY, problem: (error as Error).message },
          'ignoring the catalog snapshot: reading every manifest',
        );
        return undefined;
      },
    );
    seeds.set(bucket, seed);
  }
  return seed;
}

/** Whether `committed` is what this process read from the bucket's snapshot, unchanged (then writing it again would say nothing new). */
export async function isFromSnapshot(bucket: string, committed: readonly CommittedRecording[]): Promise<boolean> {
  const seed = await seeds.get(bucket);
  return seed !== undefined && seed.committed === committed;
}

/** Forgets every parsed manifest and snapshot, as a process that just started: for benchmarks and tests of a cold start. */
export function forgetParsedCatalog(): void {
  parsedManifests.clear();
  seeds.clear();
  warned.clear();
}

/**
 * Every committed recording in the derived bucket, in recording-id order. A manifest that
 * cannot be used (see parseManifest) is skipped, counted in mcapflow_manifests_invalid_total
 * and logged, so one bad object never hides the other recordings.
 */
export async function listCommitted(store: ObjectStore, bucket: string, cache: ObjectCache, log?: Logger): Promise<CommittedRecording[]> {
  await seedFromSnapshot(store, bucket, log);
  const committed: CommittedRecording[] = [];
  const known = parsedManifests.get(bucket) ?? new Map<string, Manifest>();
  const listed = new Map<string, Manifest>();
  for await (const object of store.list(bucket, MANIFEST_PREFIX)) {
    const recording = await readCommitted(object, cache, known, log);
    if (recording === undefined) continue;
    listed.set(recording.version, recording.manifest);
    committed.push(recording);
  }
  // Only what this listing holds stays: replaced and deleted manifests are forgotten.
  parsedManifests.set(bucket, listed);
  return committed;
}

/**
 * Where commits are noted, in order: a position that moves with every commit, and the manifest
 * keys written since a position (undefined when that is no longer known, e.g. trimmed: list).
 */
export interface CatalogChangeFeed {
  position(): Promise<string>;
  since(position: string): Promise<{ position: string; manifestKeys: string[] } | undefined>;
}

/** Longest a listing is kept up to date from the feed alone: manifests written or removed by hand show up after this. */
export const LISTING_MAX_AGE_MS = 5 * 60_000;

interface Listing {
  position: string;
  at: number;
  committed: CommittedRecording[];
}
const listings = new WeakMap<CatalogChangeFeed, Map<string, Listing>>();

/** `listing` with the manifests at `keys` read again (HEAD, then GET if new): added, replaced or gone. */
async function applyChanges(
  store: ObjectStore,
  bucket: string,
  cache: ObjectCache,
  listing: Listing,
  keys: string[],
  log?: Logger,
): Promise<CommittedRecording[]> {
  if (keys.length === 0) return listing.committed;
  const known = parsedManifests.get(bucket) ?? new Map<string, Manifest>();
  parsedManifests.set(bucket, known);
  const byId = new Map(listing.committed.map((r) => [r.manifest.recording_id, r]));
  for (const key of new Set(keys)) {
    const recordingId = recordingIdFromManifestKey(key);
    if (recordingId === undefined) continue;
    const object = await store.head(bucket, key);
    const recording = object === undefined ? undefined : await readCommitted(object, cache, known, log);
    if (recording === undefined) byId.delete(recordingId);
    else byId.set(recordingId, recording);
  }
  return [...byId.values()].sort((a, b) => (a.manifest.recording_id < b.manifest.recording_id ? -1 : 1));
}

/**
 * {@link listCommitted}, kept up to date from `feed`: after a first listing, a statement reads
 * only the manifests committed since (none: one feed read, no request to the store), and lists
 * everything again when the feed cannot say (trimmed, unreadable) or every LISTING_MAX_AGE_MS.
 * Without a feed, the manifests are listed.
 */
export async function listCommittedSince(
  feed: CatalogChangeFeed | undefined,
  store: ObjectStore,
  bucket: string,
  cache: ObjectCache,
  log?: Logger,
): Promise<CommittedRecording[]> {
  if (feed === undefined) return listCommitted(store, bucket, cache, log);
  const byBucket = listings.get(feed) ?? new Map<string, Listing>();
  listings.set(feed, byBucket);
  let listing = byBucket.get(bucket);
  if (listing === undefined) {
    // A cold start: the snapshot and the commits noted since it, when the feed still knows its
    // position. Its age counts from its last full listing, so a snapshot older than
    // LISTING_MAX_AGE_MS only saves GETs: the manifests are listed (and hand-made changes seen) now.
    const seed = await seedFromSnapshot(store, bucket, log);
    if (seed !== undefined) listing = { position: seed.position, at: seed.listedAt, committed: seed.committed };
  }
  if (listing !== undefined && Date.now() - listing.at < LISTING_MAX_AGE_MS) {
    const changes = await feed.since(listing.position).catch(() => undefined);
    if (changes !== undefined) {
      const committed = await applyChanges(store, bucket, cache, listing, changes.manifestKeys, log);
      byBucket.set(bucket, { ...listing, position: changes.position, committed });
      return committed;
    }
  }
  // Read before listing: a commit landing during the listing is applied next time.
  const position = await feed.position().catch(() => undefined);
  const committed = await listCommitted(store, bucket, cache, log);
  if (position !== undefined) byBucket.set(bucket, { position, at: Date.now(), committed });
  else byBucket.delete(bucket);
  return committed;
}

/**
 * The listing `feed` last gave for `bucket`: the feed position it is current at and when its
 * manifests were last all listed (epoch ms) — what a catalog snapshot holds.
 */
export function currentListing(feed: CatalogChangeFeed, bucket: string): { position: string; listedAt: number; committed: CommittedRecording[] } | undefined {
  const listing = listings.get(feed)?.get(bucket);
  return listing === undefined ? undefined : { position: listing.position, listedAt: listing.at, committed: listing.committed };
}

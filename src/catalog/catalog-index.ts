/**
 * The catalog of committed recordings, kept up to date by the commits themselves: each commit
 * writes a catalog entry (`catalog/entries/<time>-<recording>-<manifest sha>.json`, the
 * manifest with its commit time) after its manifest. A reader keeps a local snapshot under
 * MCAPFLOW_HOME and, to refresh, lists only the entries after its watermark — never every
 * manifest. The manifests stay the truth: a reader without a snapshot (or told to) rebuilds
 * from them.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson } from '../domain/canonical-json.ts';
import { serializeManifest, type Manifest } from '../domain/manifest.ts';
import { InvalidManifestError, parseManifest } from '../domain/manifest-schema.ts';
import type { Logger } from '../log.ts';
import { manifestsInvalid } from '../observability/metrics.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { listCommitted, type CommittedRecording, type ObjectCache } from './catalog.ts';

export const CATALOG_ENTRY_PREFIX = 'catalog/entries/';
const SNAPSHOT_FORMAT = 'mcapflow.catalog-snapshot/1';
/** Entries written by a worker whose clock runs behind are still found: each refresh looks back this far. */
const CLOCK_SKEW_MS = 10 * 60 * 1000;

/** `2026-12-02T08:55:01.123Z` → `20261202T085501123Z`: keys sort by commit time. */
function timeKey(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:.]/g, '');
}

function entryKey(manifest: Manifest, sha256: string, committedAtMs: number): string {
  return `${CATALOG_ENTRY_PREFIX}${timeKey(committedAtMs)}-${manifest.recording_id}-${sha256.slice(0, 16)}.json`;
}

/** Written by the commit after the manifest; a retried commit may write it again (readers keep one). */
export async function writeCatalogEntry(store: ObjectStore, bucket: string, manifest: Manifest, committedAtMs: number): Promise<void> {
  const body = serializeManifest(manifest);
  const sha256 = createHash('sha256').update(body).digest('hex');
  await store.put(bucket, entryKey(manifest, sha256, committedAtMs), body, { contentType: 'application/json' });
}

interface Known {
  manifest: Manifest;
  committedAtMs: number | null;
}

export interface CatalogLocationLike {
  store: ObjectStore;
  derivedBucket: string;
  home: string;
  log?: Logger | undefined;
}

/** The recordings a query sees, refreshed from the catalog entries. */
export class CatalogIndex {
  readonly #location: CatalogLocationLike;
  readonly #recordings = new Map<string, Known>();
  /** Key of the newest entry applied. */
  #watermark = '';
  /** Entries applied since the look-back window began (so looking back applies nothing twice). */
  #recent = new Set<string>();
  /** Changes on every change, so a holder of derived state knows to rebuild it. */
  version = 0;

  private constructor(location: CatalogLocationLike) {
    this.#location = location;
  }

  get #snapshotPath(): string {
    return join(this.#location.home, 'catalog', 'snapshot.json');
  }

  /** Opens from the local snapshot (a rebuild from the manifests when there is none) and refreshes. */
  static async open(location: CatalogLocationLike, cache: ObjectCache): Promise<CatalogIndex> {
    const index = new CatalogIndex(location);
    if (!index.#loadSnapshot()) await index.rebuild(cache);
    else await index.refresh();
    return index;
  }

  #loadSnapshot(): boolean {
    let text: string;
    try {
      text = readFileSync(this.#snapshotPath, 'utf8');
    } catch {
      return false;
    }
    try {
      const snapshot = JSON.parse(text) as {
        format: string;
        watermark: string;
        recent: string[];
        recordings: { id: string; manifest: string; committedAtMs: number | null }[];
      };
      if (snapshot.format !== SNAPSHOT_FORMAT) return false;
      // Each manifest is parsed as when read from the bucket: a snapshot written by an older
      // version, or edited, cannot smuggle in what the schema refuses.
      for (const r of snapshot.recordings) this.#recordings.set(r.id, { manifest: parseManifest(r.manifest, r.id), committedAtMs: r.committedAtMs });
      this.#watermark = snapshot.watermark;
      this.#recent = new Set(snapshot.recent);
      this.version += 1;
      return true;
    } catch {
      // A torn, foreign or stale snapshot is only a cache: rebuild from the manifests.
      this.#recordings.clear();
      return false;
    }
  }

  #saveSnapshot(): void {
    const dir = join(this.#location.home, 'catalog');
    mkdirSync(dir, { recursive: true });
    const partial = `${this.#snapshotPath}.${process.pid}.partial`;
    const recordings = [...this.#recordings.values()].map((r) => ({ manifest: r.manifest, committedAtMs: r.committedAtMs }));
    writeFileSync(partial, JSON.stringify({ format: SNAPSHOT_FORMAT, watermark: this.#watermark, recent: [...this.#recent], recordings }));
    renameSync(partial, this.#snapshotPath);
  }

  /** Every recording from its manifest (the truth), then the entries written since. */
  async rebuild(cache: ObjectCache): Promise<void> {
    const { store, derivedBucket, log } = this.#location;
    // Entries first: any commit after this point is found by the next refresh.
    let watermark = '';
    for await (const o of store.list(derivedBucket, CATALOG_ENTRY_PREFIX)) if (o.key > watermark) watermark = o.key;
    this.#recordings.clear();
    for (const r of await listCommitted(store, derivedBucket, cache, log))
      this.#recordings.set(r.manifest.recording_id, { manifest: r.manifest, committedAtMs: r.committedAt?.getTime() ?? null });
    this.#watermark = watermark;
    this.#recent.clear();
    this.version += 1;
    await this.refresh();
    this.#saveSnapshot();
  }

  /** Applies the entries written since the last refresh; returns how many changed the catalog. */
  async refresh(): Promise<number> {
    const { store, derivedBucket } = this.#location;
    const from = this.#lookBack();
    let changed = 0;
    const seen = new Set<string>();
    for await (const o of store.list(derivedBucket, CATALOG_ENTRY_PREFIX, from)) {
      seen.add(o.key);
      if (this.#recent.has(o.key)) continue;
      this.#recent.add(o.key);
      if (o.key > this.#watermark) this.#watermark = o.key;
      if (await this.#apply(o.key)) changed += 1;
    }
    // Only entries inside the look-back window can still arrive out of order.
    const horizon = this.#lookBack();
    this.#recent = new Set([...this.#recent].filter((k) => horizon === undefined || k > horizon || seen.has(k)));
    if (changed > 0) {
      this.version += 1;
      this.#saveSnapshot();
    }
    return changed;
  }

  #lookBack(): string | undefined {
    const match = /^catalog\/entries\/(\d{8})T(\d{9})Z/.exec(this.#watermark);
    if (match === null) return undefined;
    const [date, time] = [match[1]!, match[2]!];
    const iso = `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${time.slice(0, 2)}:${time.slice(2, 4)}:${time.slice(4, 6)}.${time.slice(6)}Z`;
    return `${CATALOG_ENTRY_PREFIX}${timeKey(Date.parse(iso) - CLOCK_SKEW_MS)}`;
  }

  async #apply(key: string): Promise<boolean> {
    const { store, derivedBucket, log } = this.#location;
    const match = /^catalog\/entries\/(\d{8}T\d{9}Z)-([0-9a-f]{32})-[0-9a-f]{16}\.json$/.exec(key);
    if (match === null) return false;
    const bytes = await store.get(derivedBucket, key, 'derived');
    if (bytes === undefined) return false;
    let manifest: Manifest;
    try {
      manifest = parseManifest(Buffer.from(bytes).toString('utf8'), match[2]!);
    } catch (error) {
      if (!(error instanceof InvalidManifestError)) throw error;
      manifestsInvalid.inc();
      log?.warn({ key, problem: error.message }, 'skipping an invalid catalog entry');
      return false;
    }
    const known = this.#recordings.get(manifest.recording_id);
    if (known !== undefined && canonicalJson(known.manifest) === canonicalJson(manifest)) return false;
    const t = match[1]!;
    const committedAtMs = Date.parse(
      `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T${t.slice(9, 11)}:${t.slice(11, 13)}:${t.slice(13, 15)}.${t.slice(15, 18)}Z`,
    );
    this.#recordings.set(manifest.recording_id, { manifest, committedAtMs });
    return true;
  }

  recordings(): CommittedRecording[] {
    return [...this.#recordings.values()]
      .sort((a, b) => a.manifest.recording_id.localeCompare(b.manifest.recording_id))
      .map((r) => ({
        manifest: r.manifest,
        committedAt: r.committedAtMs === null ? undefined : new Date(r.committedAtMs),
        version: `${r.manifest.recording_id}@${r.committedAtMs ?? ''}`,
      }));
  }

  get(recordingId: string): Manifest | undefined {
    return this.#recordings.get(recordingId)?.manifest;
  }
}

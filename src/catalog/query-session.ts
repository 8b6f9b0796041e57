/**
 * One SQL statement over the committed catalog, from listing manifests to rows: in this
 * process for trusted callers (the CLI), in a sandbox process for the admin API.
 */
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Config, InPlaceMode } from '../config/config.ts';
import { McapflowError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { queriesTotal, type QueryOutcome } from '../observability/metrics.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { listCommittedSince, ObjectCache, type CatalogChangeFeed, type CommittedRecording } from './catalog.ts';
import { catalogTables, mentionedTables, type CatalogTables, type TableObjectRef } from './catalog-tables.ts';
import { inPlaceReads } from './in-place-reads.ts';
import { neededObjects, tableReads } from './query-pruning.ts';
import { parseSql } from './sql-parse.ts';
import { QueryEngine, type EngineSettings, type LoadedCatalog, type QueryResult } from './query-engine.ts';
import { SandboxPool, SandboxStopped } from './sandbox-pool.ts';

export interface CatalogLocation {
  store: ObjectStore;
  derivedBucket: string;
  /** MCAPFLOW_HOME: the object cache and DuckDB's temporary files live under it. */
  home: string;
  /** DuckDB's memory, threads and spill limits; unset, DuckDB's defaults. */
  resources?: QueryResources | undefined;
  log?: Logger | undefined;
  /** Where commits are noted (the admin role passes Redis): the catalog is relisted only when one landed. */
  changes?: CatalogChangeFeed | undefined;
  /** MCAPFLOW_QUERY_READ_IN_PLACE; unset: `never` (objects are copied into the cache). */
  readInPlace?: InPlaceMode | undefined;
}

/** The catalog as a configured process reads it (the CLI; the admin adds its commit feed and logger). */
export function catalogLocation(config: Config, store: ObjectStore): CatalogLocation {
  return { store, derivedBucket: config.derivedBucket, home: config.home, resources: queryResources(config), readInPlace: config.queryReadInPlace };
}

/** The committed recordings, listed again only when a commit may have landed (see listCommittedSince). */
export function committedRecordings(location: CatalogLocation): Promise<CommittedRecording[]> {
  return listCommittedSince(location.changes, location.store, location.derivedBucket, objectCache(location), location.log);
}

export interface QueryResources {
  memoryLimitMb: number;
  threads: number;
  maxTempMb: number;
}

export interface SandboxLimits extends QueryResources {
  maxRows: number;
  maxResultBytes: number;
  timeoutMs: number;
  concurrency: number;
}

export function queryResources(config: Config): QueryResources {
  return { memoryLimitMb: config.queryMemoryMb, threads: config.queryThreads, maxTempMb: config.queryTempMaxMb };
}

export function sandboxLimits(config: Config): SandboxLimits {
  return {
    ...queryResources(config),
    maxRows: config.queryMaxRows,
    maxResultBytes: config.queryMaxResultBytes,
    timeoutMs: config.queryTimeoutMs,
    concurrency: config.queryConcurrency,
  };
}

export function objectCache(location: CatalogLocation): ObjectCache {
  return new ObjectCache(join(location.home, 'cache'), location.store, location.derivedBucket);
}

/** The directory DuckDB spills to, one per running engine; under MCAPFLOW_HOME, never the working directory. */
function tempRoot(home: string): string {
  return join(home, 'tmp', 'query');
}

/** The directory of committed table objects: the only one a sandboxed query may read. */
function tablesDirectory(home: string): string {
  return join(home, 'cache', 'objects', 'tables');
}

/** What one query read of the catalog: objects and bytes copied per table, against the table's total. */
export interface CatalogReads {
  table: string;
  objects: number;
  bytes: number;
  totalObjects: number;
  totalBytes: number;
  /** Read where they lie (DuckDB's httpfs fetches only the row groups it needs, so `bytes` bounds it), not copied. */
  inPlace: boolean;
}

/**
 * `recordings`, `topics` and local copies of the objects of every table `sql` mentions that its
 * predicates can need (query-pruning.ts): all of them when the statement cannot be pruned.
 */
async function loadCatalog(location: CatalogLocation, sql: string, signal?: AbortSignal): Promise<{ catalog: LoadedCatalog; reads: CatalogReads[] }> {
  const cache = objectCache(location);
  const committed = await committedRecordings(location);
  const { tables, version } = computedOf(committed);
  const mentioned = mentionedTables(sql, tables.tables.keys());
  const reads = mentioned.length === 0 ? null : tableReads(await parseSql(sql));
  const needed = new Map(mentioned.map((name) => [name, keepSchema(neededObjects(reads, name, tables.tables.get(name)!), tables.tables.get(name)!)]));
  // Any table object tells whether in-place reads work: the same answer for every statement, so engines are reused across them.
  const probeKey = [...tables.tables.values()].find((objects) => objects.length > 0)?.[0]?.key;
  const inPlace = await inPlaceReads(location.readInPlace ?? 'never', location.store, location.derivedBucket, probeKey, location.log);
  const views: LoadedCatalog['views'] = [];
  const accounted: CatalogReads[] = [];
  for (const [name, objects] of needed) {
    const paths: string[] = [];
    for (const o of objects) {
      signal?.throwIfAborted();
      paths.push(inPlace === undefined ? await cache.path(o.key, o.sha256) : `s3://${location.derivedBucket}/${o.key}`);
    }
    views.push({ name, paths });
    const all = tables.tables.get(name)!;
    const sum = (list: readonly TableObjectRef[]) => list.reduce((n, o) => n + o.bytes, 0);
    accounted.push({
      table: name,
      objects: objects.length,
      bytes: sum(objects),
      totalObjects: all.length,
      totalBytes: sum(all),
      inPlace: inPlace !== undefined,
    });
  }
  if (accounted.length > 0) location.log?.debug({ reads: accounted }, 'query objects');
  const catalog: LoadedCatalog = {
    // Another set of credentials is another engine: one opened with expired ones must not serve.
    version: inPlace === undefined ? version : `${version}.${inPlace.identity}`,
    recordings: tables.recordings,
    topics: tables.topics,
    views,
    ...(inPlace === undefined ? {} : { inPlace: { setup: inPlace.setup, allowedPrefix: inPlace.allowedPrefix } }),
  };
  return { catalog, reads: accounted };
}

const computed = new WeakMap<readonly CommittedRecording[], { tables: CatalogTables; version: string }>();

/** What a listing holds, computed once per listing: a reused one (no commit since) costs nothing again. */
export function computedOf(committed: readonly CommittedRecording[]): { tables: CatalogTables; version: string } {
  let known = computed.get(committed);
  if (known === undefined) {
    known = { tables: catalogTables(committed), version: catalogVersion(committed) };
    computed.set(committed, known);
  }
  return known;
}

/** Changes when a manifest is added, replaced or removed (its version is its key and ETag). */
function catalogVersion(committed: readonly CommittedRecording[]): string {
  const hash = createHash('sha256');
  for (const r of committed) hash.update(`${r.version}\n`);
  return hash.digest('hex');
}

/** A view needs one file for its columns: when no object can match, the smallest one (its rows fail the predicates). */
function keepSchema(needed: TableObjectRef[], all: readonly TableObjectRef[]): TableObjectRef[] {
  if (needed.length > 0 || all.length === 0) return needed;
  return [all.reduce((a, b) => (b.bytes < a.bytes ? b : a))];
}

let engines = 0;

/**
 * Runs `sql` in this process, for a trusted caller (the CLI): no row, byte or time limit. The
 * answer says which objects of each mentioned table the statement's predicates let it skip.
 */
export async function queryCatalog(location: CatalogLocation, sql: string): Promise<QueryResult & { reads: CatalogReads[] }> {
  const { catalog, reads } = await loadCatalog(location, sql);
  const settings: EngineSettings = {
    tempDirectory: join(tempRoot(location.home), `${process.pid}-cli-${(engines += 1)}`),
    ...(location.resources
      ? { memoryLimitMb: location.resources.memoryLimitMb, threads: location.resources.threads, maxTempMb: location.resources.maxTempMb }
      : {}),
  };
  const engine = await QueryEngine.open(catalog, settings);
  try {
    return { ...(await engine.run(sql)), reads };
  } finally {
    engine.close();
    rmSync(settings.tempDirectory, { recursive: true, force: true });
  }
}

const OUTCOMES: Partial<Record<string, QueryOutcome>> = {
  QUERY_FAILED: 'failed',
  QUERY_REFUSED: 'refused',
  QUERY_TIMEOUT: 'timeout',
  QUERY_TOO_LARGE: 'too_large',
  QUERY_BUSY: 'busy',
};

/**
 * Statements of untrusted callers (the admin API), each in a sandbox process with every
 * limit of `limits`; at most `limits.concurrency` at once, the rest refused with QUERY_BUSY.
 */
export class SandboxedQueries {
  readonly #location: CatalogLocation;
  readonly #limits: SandboxLimits;
  readonly #pool: SandboxPool;
  #ids = 0;

  constructor(location: CatalogLocation, limits: SandboxLimits) {
    this.#location = location;
    this.#limits = limits;
    // The heap holds the JSON answer a few times over while it is built and sent.
    const heapMb = 512 + Math.ceil((8 * limits.maxResultBytes) / (1024 * 1024));
    this.#pool = new SandboxPool({ size: limits.concurrency, heapMb }, tempRoot(location.home));
  }

  /** The JSON text `{"columns": [...], "rows": [...], "truncated": bool}` of `sql`. */
  async run(sql: string, signal?: AbortSignal): Promise<string> {
    const slot = this.#pool.tryAcquire();
    if (slot === undefined) {
      queriesTotal.inc({ outcome: 'busy' });
      if (this.#pool.closed) throw new SandboxStopped('closed', 'the admin process is shutting down; retry the query on another one');
      throw new McapflowError(
        'QUERY_BUSY',
        `${this.#limits.concurrency} queries are already running, the most this admin process runs at once (MCAPFLOW_QUERY_CONCURRENCY); retry shortly`,
        { retryable: true },
      );
    }
    try {
      const { catalog } = await loadCatalog(this.#location, sql, signal);
      const { memoryLimitMb, threads, maxTempMb, maxRows, maxResultBytes, timeoutMs } = this.#limits;
      const id = (this.#ids += 1);
      const json = await slot.run(
        {
          id,
          sql,
          catalog,
          settings: { tempDirectory: slot.tempDirectory, memoryLimitMb, threads, maxTempMb },
          sandbox: { allowedDirectory: tablesDirectory(this.#location.home), maxRows, maxResultBytes },
        },
        timeoutMs,
        signal,
      );
      queriesTotal.inc({ outcome: 'ok' });
      return json;
    } catch (error) {
      const outcome = signal?.aborted ? 'cancelled' : (OUTCOMES[(error as Partial<McapflowError>).code ?? ''] ?? 'failed');
      queriesTotal.inc({ outcome });
      if (outcome !== 'failed' && outcome !== 'refused') this.#location.log?.info({ outcome, sql: sql.slice(0, 500) }, 'query stopped at a limit');
      throw error;
    } finally {
      slot.release();
    }
  }

  /** Stops running statements (they answer that the process is shutting down) and every sandbox. */
  close(): Promise<void> {
    return this.#pool.close();
  }
}

/**
 * Similarity search over a committed per-window feature table (one row per recording, topic
 * and window with a `features` vector, as every windowFeatures operator writes; `imu_windows`
 * by default): the vectors are read through the catalog, z-normalised, indexed with HNSW
 * (hnswlib-node) and searched. "Which moments of the fleet look like this one?" Features
 * are computed once per recording at ingest, never from the whole schema table at query time.
 */
import hnswlib from 'hnswlib-node';
import { TABLE_NAME_PATTERN } from '../domain/table-names.ts';
import { InvalidInputError, McapflowError, NotFoundError } from '../errors.ts';
import { listCommitted } from './catalog.ts';
import { catalogTables } from './catalog-tables.ts';
import type { QueryResult } from './query-engine.ts';
import { objectCache, queryCatalog, type CatalogLocation } from './query-session.ts';

/** The window-feature table of the built-in imu_windows operator. */
export const DEFAULT_WINDOW_TABLE = 'imu_windows';

/** The columns search reads; every table a windowFeatures operator writes has them. */
export const WINDOW_COLUMNS = ['recording_id', 'topic', 'window_start', 'window_end', 'features'] as const;

const WINDOW_TABLE_HINT = `a per-window feature table made by a windowFeatures operator (columns ${WINDOW_COLUMNS.join(', ')}), e.g. ${DEFAULT_WINDOW_TABLE}`;

export interface FeatureWindow {
  recordingId: string;
  topic: string;
  /** The window is [windowStart, windowEnd), log time in nanoseconds. */
  windowStart: bigint;
  windowEnd: bigint;
  features: number[];
}

export function windowsSql(table: string): string {
  return `SELECT ${WINDOW_COLUMNS.join(', ')} FROM "${table}" ORDER BY recording_id, topic, window_start`;
}

function integer(value: unknown): bigint | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  return undefined;
}

/** The rows of {@link windowsSql}, checked: a malformed row is an error naming it, never skipped or zeroed. */
export function windowsOf(result: QueryResult, table: string): FeatureWindow[] {
  const at = (name: (typeof WINDOW_COLUMNS)[number]) => result.columns.indexOf(name);
  const columns = WINDOW_COLUMNS.map(at);
  const windows: FeatureWindow[] = [];
  for (const row of result.rows) {
    const [recordingId, topic, start, end, features] = columns.map((c) => row[c]);
    const windowStart = integer(start);
    const windowEnd = integer(end);
    const where = `table ${table}, recording ${String(recordingId)} topic ${String(topic)} window ${String(start)}`;
    if (typeof recordingId !== 'string' || typeof topic !== 'string' || windowStart === undefined || windowEnd === undefined || windowEnd <= windowStart)
      throw new InvalidInputError('BAD_ARGUMENT', `${where}: not a window row (recording_id and topic text, window_start < window_end integers)`);
    if (!Array.isArray(features) || features.length === 0 || !features.every((v): v is number => typeof v === 'number' && Number.isFinite(v)))
      throw new InvalidInputError('BAD_ARGUMENT', `${where}: features must be a non-empty list of finite numbers, got ${JSON.stringify(features)}`);
    windows.push({ recordingId, topic, windowStart, windowEnd, features });
  }
  const dims = windows[0]?.features.length;
  const odd = windows.find((w) => w.features.length !== dims);
  if (odd !== undefined)
    throw new InvalidInputError(
      'BAD_ARGUMENT',
      `table ${table} mixes feature vectors of ${dims} and ${odd.features.length} values (recording ${odd.recordingId}); windows of different operators cannot be compared`,
    );
  return windows;
}

/** Each feature shifted and scaled to mean 0 and standard deviation 1 over `vectors`, so no unit dominates the distance; a constant feature becomes 0. */
export function zNormalise(vectors: readonly number[][]): number[][] {
  const dims = vectors[0]?.length ?? 0;
  const mean = new Array<number>(dims).fill(0);
  const variance = new Array<number>(dims).fill(0);
  for (const v of vectors) v.forEach((x, i) => (mean[i]! += x / vectors.length));
  for (const v of vectors) v.forEach((x, i) => (variance[i]! += (x - mean[i]!) ** 2 / vectors.length));
  const std = variance.map(Math.sqrt);
  return vectors.map((v) => v.map((x, i) => (std[i]! > 0 ? (x - mean[i]!) / std[i]! : 0)));
}

/** Nearest-neighbour search over labelled vectors (label = position in the list indexed). */
export interface WindowIndex {
  readonly size: number;
  /** Up to `k` labels nearest `vector`, by ascending Euclidean distance. */
  nearest(vector: number[], k: number): { label: number; distance: number }[];
}

/**
 * An HNSW index over `vectors`, built in memory. The one place the index is made, so an index
 * persisted at commit time (issue 12) can take its place.
 */
export function buildWindowIndex(vectors: readonly number[][]): WindowIndex {
  const dims = vectors[0]?.length ?? 1;
  const index = new hnswlib.HierarchicalNSW('l2', dims);
  index.initIndex(Math.max(1, vectors.length), 16, 200, 42);
  vectors.forEach((v, label) => index.addPoint(v, label));
  return {
    size: vectors.length,
    nearest(vector, k) {
      const count = Math.min(k, vectors.length);
      if (count === 0) return [];
      index.setEf(Math.max(50, count * 4));
      const found = index.searchKnn(vector, count);
      // hnswlib's l2 space answers squared distances.
      return found.neighbors.map((label, i) => ({ label, distance: Math.sqrt(found.distances[i]!) })).sort((a, b) => a.distance - b.distance);
    },
  };
}

/** The window of `recordingId` (on `topic`, if given) that contains `at`. */
export function findQueryWindow(
  windows: readonly FeatureWindow[],
  table: string,
  request: { recordingId: string; at: bigint; topic?: string | undefined },
): number {
  const own = windows.filter((w) => w.recordingId === request.recordingId);
  if (own.length === 0)
    throw new NotFoundError(
      `recording ${request.recordingId} has no windows in table ${table}: it has none of the data the table's operator summarises (for ${DEFAULT_WINDOW_TABLE}: no IMU topic)`,
    );
  const topics = [...new Set(own.map((w) => w.topic))].sort();
  if (request.topic !== undefined && !topics.includes(request.topic))
    throw new NotFoundError(
      `recording ${request.recordingId} has no windows on topic ${request.topic} in table ${table}; its topics there: ${topics.join(', ')}`,
    );
  const matches = windows
    .map((w, i) => ({ w, i }))
    .filter(
      ({ w }) =>
        w.recordingId === request.recordingId &&
        (request.topic === undefined || w.topic === request.topic) &&
        w.windowStart <= request.at &&
        request.at < w.windowEnd,
    );
  if (matches.length === 0) {
    const first = own.reduce((a, w) => (w.windowStart < a ? w.windowStart : a), own[0]!.windowStart);
    const last = own.reduce((a, w) => (w.windowEnd > a ? w.windowEnd : a), own[0]!.windowEnd);
    const span = `[${first}, ${last})`;
    const why = request.at < first || request.at >= last ? `outside its windows' span ${span}` : `no data was recorded then; its windows span ${span}`;
    throw new NotFoundError(`recording ${request.recordingId} has no window in table ${table} containing ${request.at} (${why})`);
  }
  if (matches.length > 1)
    throw new InvalidInputError(
      'BAD_ARGUMENT',
      `recording ${request.recordingId} has windows on several topics at ${request.at} in table ${table} (${matches.map(({ w }) => w.topic).join(', ')}): name one topic`,
    );
  return matches[0]!.i;
}

export interface Neighbour {
  recording_id: string;
  topic: string;
  window_start: string;
  window_end: string;
  distance: number;
}

/**
 * The `k` windows nearest the window at `queryIndex` by Euclidean distance between
 * z-normalised feature vectors, nearest first, the query window itself left out.
 */
export function nearestWindows(windows: readonly FeatureWindow[], queryIndex: number, k: number, makeIndex = buildWindowIndex): Neighbour[] {
  const vectors = zNormalise(windows.map((w) => w.features));
  const index = makeIndex(vectors);
  // One more than asked: the query window is (almost always) its own nearest neighbour.
  return index
    .nearest(vectors[queryIndex]!, k + 1)
    .filter(({ label }) => label !== queryIndex)
    .slice(0, k)
    .map(({ label, distance }) => ({
      recording_id: windows[label]!.recordingId,
      topic: windows[label]!.topic,
      window_start: windows[label]!.windowStart.toString(),
      window_end: windows[label]!.windowEnd.toString(),
      distance,
    }));
}

export interface SimilarityRequest {
  recordingId: string;
  /** A log time (ns) inside the window to match. */
  at: bigint;
  k: number;
  /** The window-feature table; default {@link DEFAULT_WINDOW_TABLE}. */
  table?: string | undefined;
  /** The topic of the query window, when the recording has windows on several topics. */
  topic?: string | undefined;
}

export interface SimilarityAnswer {
  table: string;
  query: { recording_id: string; topic: string; window_start: string; window_end: string };
  neighbours: Neighbour[];
  /** How many windows were searched (every window of the table, across recordings and topics). */
  windows: number;
}

/** Why `table` could not be read as a window table: the columns it lacks, or the original error. */
async function diagnose(location: CatalogLocation, table: string, error: unknown): Promise<never> {
  if (!(error instanceof McapflowError) || error.code !== 'QUERY_FAILED') throw error;
  const described = await queryCatalog(location, `DESCRIBE "${table}"`);
  const names = new Set(described.rows.map((row) => String(row[0])));
  const missing = WINDOW_COLUMNS.filter((c) => !names.has(c));
  if (missing.length > 0)
    throw new InvalidInputError(
      'BAD_ARGUMENT',
      `table ${table} lacks column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: similarity search reads ${WINDOW_TABLE_HINT}`,
    );
  throw error;
}

/** Reads the window table through the catalog, finds the query window and its nearest neighbours. */
export async function similarWindows(location: CatalogLocation, request: SimilarityRequest): Promise<SimilarityAnswer> {
  const requested = request.table ?? DEFAULT_WINDOW_TABLE;
  if (!TABLE_NAME_PATTERN.test(requested)) throw new InvalidInputError('BAD_ARGUMENT', `${JSON.stringify(requested)} is not a table name`);
  const committed = await listCommitted(location.store, location.derivedBucket, objectCache(location), location.log);
  if (!committed.some((r) => r.manifest.recording_id === request.recordingId)) throw new NotFoundError(`no committed recording ${request.recordingId}`);
  // SQL compares table names ignoring case; answer with the name the catalog uses.
  const table = [...catalogTables(committed).tables.keys()].find((name) => name.toLowerCase() === requested.toLowerCase());
  if (table === undefined) throw new NotFoundError(`no committed recording has a table ${requested}; similarity search reads ${WINDOW_TABLE_HINT}`);
  const result = await queryCatalog(location, windowsSql(table)).catch((error: unknown) => diagnose(location, table, error));
  const windows = windowsOf(result, table);
  const queryIndex = findQueryWindow(windows, table, request);
  const query = windows[queryIndex]!;
  return {
    table,
    query: { recording_id: query.recordingId, topic: query.topic, window_start: query.windowStart.toString(), window_end: query.windowEnd.toString() },
    neighbours: nearestWindows(windows, queryIndex, request.k),
    windows: windows.length,
  };
}

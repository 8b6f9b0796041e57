/**
 * Similarity search over per-window feature vectors: every numeric field of a schema table
 * (structs flattened, lists left out) summarised per recording and time window by its mean
 * and standard deviation, z-normalised, indexed with HNSW (hnswlib-node). "Which moments of
 * the fleet look like this one?"
 */
import hnswlib from 'hnswlib-node';
import type { ColumnPlan, TopColumn } from '../decode/column-plan.ts';
import { InvalidInputError, NotFoundError } from '../errors.ts';
import type { RecordingPlan } from '../domain/plan.ts';
import { decoderFor } from '../decode/registry.ts';
import { listCommitted } from './catalog.ts';
import type { QueryResult } from './query-engine.ts';
import { objectCache, queryCatalog, type CatalogLocation } from './query-session.ts';

const NUMERIC = new Set(['int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'float32', 'float64']);

/** SQL paths of the numeric scalar leaves of a table's columns (`linear_acceleration.x`, …). */
export function numericLeaves(columns: TopColumn[]): string[] {
  const out: string[] = [];
  const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;
  const walk = (plan: ColumnPlan, path: string) => {
    if (plan.kind === 'primitive' && NUMERIC.has(plan.primitive)) out.push(path);
    if (plan.kind === 'struct') for (const field of plan.fields) walk(field, `${path}.${quote(field.name)}`);
  };
  for (const { plan } of columns) walk(plan, quote(plan.name));
  return out;
}

/** The SQL that turns a table into one row per (recording, window): mean and std of every leaf. */
export function windowFeaturesSql(table: string, leaves: string[], windowNs: bigint): string {
  if (leaves.length === 0) throw new InvalidInputError('BAD_ARGUMENT', `table ${table} has no numeric fields to compare`);
  const features = leaves.flatMap((leaf, i) => [`avg(CAST(${leaf} AS DOUBLE)) AS m${i}`, `coalesce(stddev_pop(CAST(${leaf} AS DOUBLE)), 0) AS s${i}`]);
  return `SELECT recording_id, (log_time // ${windowNs}) * ${windowNs} AS window_start, ${features.join(', ')} FROM "${table.replace(/"/g, '""')}" GROUP BY ALL ORDER BY recording_id, window_start`;
}

export interface Window {
  recordingId: string;
  windowStart: bigint;
  vector: number[];
}

export function windowsOf(result: QueryResult): Window[] {
  return result.rows.map((row) => ({
    recordingId: String(row[0]),
    windowStart: BigInt(row[1] as number | string),
    vector: row.slice(2).map((v) => (typeof v === 'number' && Number.isFinite(v) ? v : 0)),
  }));
}

export interface Neighbour {
  recording_id: string;
  window_start: string;
  distance: number;
}

/**
 * The `k` windows most like the window of `recordingId` containing `at`, by Euclidean distance
 * between z-normalised feature vectors, excluding that window itself.
 */
export function nearestWindows(windows: Window[], recordingId: string, at: bigint, windowNs: bigint, k: number): { query: Window; neighbours: Neighbour[] } {
  const start = (at / windowNs) * windowNs;
  const queryIndex = windows.findIndex((w) => w.recordingId === recordingId && w.windowStart === start);
  if (queryIndex < 0) throw new NotFoundError(`recording ${recordingId} has no data in the window starting at ${start}`);
  const dims = windows[0]!.vector.length;
  // z-normalise every feature so no unit dominates the distance.
  const mean = new Array<number>(dims).fill(0);
  const std = new Array<number>(dims).fill(0);
  for (const w of windows) w.vector.forEach((v, i) => (mean[i]! += v / windows.length));
  for (const w of windows) w.vector.forEach((v, i) => (std[i]! += (v - mean[i]!) ** 2 / windows.length));
  const normalise = (v: number[]) => v.map((x, i) => (std[i]! > 0 ? (x - mean[i]!) / Math.sqrt(std[i]!) : 0));
  const index = new hnswlib.HierarchicalNSW('l2', dims);
  index.initIndex(windows.length, 16, 200, 42);
  windows.forEach((w, i) => index.addPoint(normalise(w.vector), i));
  index.setEf(Math.max(50, k * 4));
  const found = index.searchKnn(normalise(windows[queryIndex]!.vector), Math.min(windows.length, k + 1));
  const neighbours = found.neighbors
    .map((n, i) => ({ n, distance: Math.sqrt(found.distances[i]!) }))
    .filter(({ n }) => n !== queryIndex)
    .slice(0, k)
    .map(({ n, distance }) => ({
      recording_id: windows[n]!.recordingId,
      window_start: windows[n]!.windowStart.toString(),
      distance: Math.round(distance * 1000) / 1000,
    }));
  return { query: windows[queryIndex]!, neighbours };
}

/** Locates the table's schema in the recording's plan, builds the window vectors and searches. */
export async function similarWindows(
  location: CatalogLocation,
  request: { recordingId: string; table: string; at: bigint; windowNs: bigint; k: number },
): Promise<{ query: { recording_id: string; window_start: string }; neighbours: Neighbour[]; windows: number }> {
  const cache = objectCache(location);
  const manifest = (await listCommitted(location.store, location.derivedBucket, cache)).find((r) => r.manifest.recording_id === request.recordingId)?.manifest;
  if (manifest === undefined) throw new NotFoundError(`no committed recording ${request.recordingId}`);
  const topic = manifest.topics.find((t) => t.table === request.table);
  if (topic === undefined) throw new NotFoundError(`recording ${request.recordingId} has no table ${request.table}`);
  const plan = JSON.parse((await cache.read(manifest.plan_key)).toString('utf8')) as RecordingPlan;
  const schema = plan.schemas.find((s) => s.id === plan.topics.find((t) => t.channelId === topic.channel_id)?.schemaId);
  const columns = decoderFor(schema, { blobThresholdBytes: plan.params.blobThresholdBytes }, topic.message_encoding).columns;
  const windows = windowsOf(await queryCatalog(location, windowFeaturesSql(request.table, numericLeaves(columns), request.windowNs)));
  const { query, neighbours } = nearestWindows(windows, request.recordingId, request.at, request.windowNs, request.k);
  return { query: { recording_id: query.recordingId, window_start: query.windowStart.toString() }, neighbours, windows: windows.length };
}

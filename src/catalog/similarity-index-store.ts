/**
 * Persisted similarity indexes, one per window-feature table, brought up to date with the
 * catalog incrementally: recordings committed since the stored index was written are read
 * (only their objects, through query pruning) and added to the graph; recordings replaced or
 * gone are marked deleted. A changed index is written back as content-addressed objects under
 * `similarity/<table>/` and the pointer `similarity/<table>/current.json` moved to it. Each
 * process keeps the index it opened, so a warm caller loads it once.
 *
 * Two writers racing on the pointer lose nothing: the pointer is a hint, and whoever opens the
 * index next adds what the catalog has and the index lacks.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from '../domain/hash.ts';
import {
  parseSimilarityDescriptor,
  parseSimilarityPointer,
  normalise,
  normaliserOf,
  similarityObjectKey,
  similarityPointerKey,
  SIMILARITY_INDEX_FORMAT,
  SIMILARITY_POINTER_FORMAT,
  InvalidSimilarityIndexError,
  type IndexedRecording,
  type SimilarityIndexDescriptor,
} from '../domain/similarity-index.ts';
import { McapflowError } from '../errors.ts';
import type { CommittedRecording } from './catalog.ts';
import { objectCache, queryCatalog, type CatalogLocation } from './query-session.ts';
import { windowsOf, windowsSql, type FeatureWindow } from './window-table.ts';
import { GRAPH_EF_CONSTRUCTION, GRAPH_M, WindowGraph } from './window-graph.ts';

/** Recordings whose windows one statement reads: bounds the SQL text, not the work. */
const RECORDINGS_PER_READ = 200;

export interface LiveSimilarityIndex {
  descriptor: SimilarityIndexDescriptor;
  graph: WindowGraph;
  byRecording: Map<string, IndexedRecording>;
}

/** What bringing the index up to date did. */
export interface IndexRefresh {
  /** Recordings whose windows were added (all of them when rebuilt). */
  added: number;
  /** Recordings whose windows were marked deleted (replaced or no longer committed). */
  removed: number;
  rebuilt: boolean;
  /** Whether a new index was written to the store. */
  persisted: boolean;
  /** Where the index came from before refreshing. */
  loadedFrom: 'memory' | 'store' | 'none';
  /** Windows read from the table to refresh. */
  windowsRead: number;
}

const opened = new Map<string, LiveSimilarityIndex>();
const refreshing = new Map<string, Promise<void>>();

/** Identifies what a recording's windows were read from: its table objects, by content. */
export function contentOf(recording: CommittedRecording, table: string): string | undefined {
  const spec = recording.manifest.tables[table];
  if (spec === undefined) return undefined;
  return sha256Hex(`${spec.fingerprint}\n${spec.objects.map((o) => o.sha256).join('\n')}`);
}

async function loadStored(location: CatalogLocation, table: string): Promise<LiveSimilarityIndex | undefined> {
  const pointerBytes = await location.store.get(location.derivedBucket, similarityPointerKey(table), 'derived');
  if (pointerBytes === undefined) return undefined;
  try {
    const pointer = parseSimilarityPointer(Buffer.from(pointerBytes).toString('utf8'));
    const cache = objectCache(location);
    const descriptor = parseSimilarityDescriptor((await cache.read(pointer.descriptor.key, pointer.descriptor.sha256)).toString('utf8'));
    if (descriptor.table !== table) throw new InvalidSimilarityIndexError('index descriptor', `is for table ${descriptor.table}, not ${table}`);
    const live = descriptor.recordings.reduce((n, r) => n + r.windows.length, 0);
    const graph = WindowGraph.read(await cache.path(descriptor.graph.key, descriptor.graph.sha256), descriptor.dims, live);
    return { descriptor, graph, byRecording: new Map(descriptor.recordings.map((r) => [r.recording_id, r])) };
  } catch (error) {
    // A damaged or foreign index costs a rebuild, never a wrong answer.
    if (!(error instanceof McapflowError)) throw error;
    location.log?.warn({ table, problem: error.message }, 'rebuilding the similarity index: the stored one cannot be used');
    return undefined;
  }
}

/** The windows of `recordingIds` in `table`, grouped by recording; only their objects are read. */
async function readWindows(location: CatalogLocation, table: string, recordingIds: string[]): Promise<Map<string, FeatureWindow[]>> {
  const byRecording = new Map<string, FeatureWindow[]>(recordingIds.map((id) => [id, []]));
  for (let i = 0; i < recordingIds.length; i += RECORDINGS_PER_READ) {
    const ids = recordingIds.slice(i, i + RECORDINGS_PER_READ);
    // Recording ids are 32 hex digits (checked by the manifest schema): safe to inline.
    const sql = windowsSql(table, `recording_id IN (${ids.map((id) => `'${id}'`).join(', ')})`);
    for (const window of windowsOf(await queryCatalog(location, sql), table)) byRecording.get(window.recordingId)?.push(window);
  }
  return byRecording;
}

/** A new index over `recordings` (id, content digest, windows), normalised by the statistics of all their windows. */
export function newSimilarityIndex(
  table: string,
  recordings: readonly [id: string, content: string, windows: FeatureWindow[]][],
  fallbackDims = 1,
): LiveSimilarityIndex {
  const vectors = recordings.flatMap(([, , windows]) => windows.map((w) => w.features));
  const dims = vectors[0]?.length ?? fallbackDims;
  const descriptor: SimilarityIndexDescriptor = {
    format: SIMILARITY_INDEX_FORMAT,
    table,
    dims,
    m: GRAPH_M,
    ef_construction: GRAPH_EF_CONSTRUCTION,
    normaliser: { ...normaliserOf(vectors, dims), windows: vectors.length },
    graph: { key: '', sha256: '', bytes: 0 },
    next_label: 0,
    deleted: 0,
    recordings: [],
  };
  const index = { descriptor, graph: WindowGraph.create(dims, vectors.length), byRecording: new Map<string, IndexedRecording>() };
  for (const [id, content, windows] of recordings) addRecordingToIndex(index, id, content, windows);
  return index;
}

/** Adds one recording's windows under the next labels, normalised as the index's first windows were. */
export function addRecordingToIndex(index: LiveSimilarityIndex, recordingId: string, content: string, windows: FeatureWindow[]): void {
  const { descriptor, graph } = index;
  const indexed: IndexedRecording = { recording_id: recordingId, content, first_label: descriptor.next_label, windows: [] };
  for (const w of windows) {
    if (w.features.length !== descriptor.dims)
      throw new McapflowError(
        'BAD_ARGUMENT',
        `table ${descriptor.table}: recording ${recordingId} has feature vectors of ${w.features.length} values, the index ${descriptor.dims}; windows of different operators cannot be compared`,
      );
    graph.add(normalise(w.features, descriptor.normaliser), descriptor.next_label);
    descriptor.next_label += 1;
    indexed.windows.push([w.topic, w.windowStart.toString(), w.windowEnd.toString()]);
  }
  descriptor.recordings.push(indexed);
  index.byRecording.set(recordingId, indexed);
}

function removeRecording(index: LiveSimilarityIndex, recordingId: string): void {
  const indexed = index.byRecording.get(recordingId);
  if (indexed === undefined) return;
  for (let i = 0; i < indexed.windows.length; i += 1) index.graph.delete(indexed.first_label + i);
  index.descriptor.deleted += indexed.windows.length;
  index.descriptor.recordings = index.descriptor.recordings.filter((r) => r !== indexed);
  index.byRecording.delete(recordingId);
}

/** Writes the graph and descriptor (content-addressed), then moves the pointer to them. */
export async function persistSimilarityIndex(location: CatalogLocation, index: LiveSimilarityIndex): Promise<void> {
  const { descriptor } = index;
  const dir = join(location.home, 'tmp', 'similarity');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${process.pid}-${Date.now()}.hnsw`);
  try {
    index.graph.write(file);
    const bytes = readFileSync(file);
    const sha256 = sha256Hex(bytes);
    descriptor.graph = { key: similarityObjectKey(descriptor.table, sha256, 'hnsw'), sha256, bytes: bytes.length };
    await location.store.put(location.derivedBucket, descriptor.graph.key, bytes, { contentType: 'application/octet-stream' });
  } finally {
    rmSync(file, { force: true });
  }
  const text = JSON.stringify(descriptor);
  const descriptorSha = sha256Hex(text);
  const descriptorKey = similarityObjectKey(descriptor.table, descriptorSha, 'json');
  await location.store.put(location.derivedBucket, descriptorKey, text, { contentType: 'application/json' });
  const pointer = { format: SIMILARITY_POINTER_FORMAT, descriptor: { key: descriptorKey, sha256: descriptorSha } };
  await location.store.put(location.derivedBucket, similarityPointerKey(descriptor.table), JSON.stringify(pointer), { contentType: 'application/json' });
}

/**
 * The similarity index of `table`, up to date with `committed`: loaded once per process (from
 * memory, else the store), then only the recordings it lacks are read and added. Rebuilt from
 * scratch when there is none, it cannot be read, its feature count changed, it would hold more
 * than twice the windows its normaliser was measured on, or more than half its labels are
 * deleted.
 */
export async function openSimilarityIndex(
  location: CatalogLocation,
  table: string,
  committed: readonly CommittedRecording[],
): Promise<{ index: LiveSimilarityIndex; refresh: IndexRefresh }> {
  const memoKey = `${location.derivedBucket}/${table}`;
  // One refresh of a table at a time in this process: two would both add what the index lacks.
  const previous = refreshing.get(memoKey) ?? Promise.resolve();
  const run = previous.then(() => refreshIndex(location, table, committed, memoKey));
  const settled = run.then(
    () => undefined,
    () => undefined,
  );
  refreshing.set(memoKey, settled);
  try {
    return await run;
  } catch (error) {
    // A refresh that failed half way may have changed the graph: the next one starts from the store.
    opened.delete(memoKey);
    throw error;
  } finally {
    if (refreshing.get(memoKey) === settled) refreshing.delete(memoKey);
  }
}

async function refreshIndex(
  location: CatalogLocation,
  table: string,
  committed: readonly CommittedRecording[],
  memoKey: string,
): Promise<{ index: LiveSimilarityIndex; refresh: IndexRefresh }> {
  const wanted = new Map<string, string>();
  for (const recording of committed) {
    const content = contentOf(recording, table);
    if (content !== undefined) wanted.set(recording.manifest.recording_id, content);
  }
  let index = opened.get(memoKey);
  const loadedFrom: IndexRefresh['loadedFrom'] = index !== undefined ? 'memory' : (index = await loadStored(location, table)) !== undefined ? 'store' : 'none';
  const stale = index === undefined ? [] : [...index.byRecording.values()].filter((r) => wanted.get(r.recording_id) !== r.content).map((r) => r.recording_id);
  const missing = [...wanted].filter(([id, content]) => index?.byRecording.get(id)?.content !== content).map(([id]) => id);
  const staleLabels = stale.reduce((n, id) => n + (index?.byRecording.get(id)?.windows.length ?? 0), 0);
  const rebuild = index === undefined || (index.descriptor.deleted + staleLabels) * 2 > Math.max(1, index.descriptor.next_label);
  const toRead = rebuild ? [...wanted.keys()] : missing;
  const refresh: IndexRefresh = { added: 0, removed: 0, rebuilt: rebuild, persisted: false, loadedFrom, windowsRead: 0 };
  if (!rebuild && toRead.length === 0 && stale.length === 0) {
    opened.set(memoKey, index!);
    return { index: index!, refresh };
  }

  let windows = await readWindows(location, table, toRead.sort());
  const dims = index?.descriptor.dims;
  const adding = [...windows.values()].reduce((n, w) => n + w.length, 0);
  // Another feature count (a new version of the table's operator): the old vectors cannot be
  // compared. Twice the windows its scaling was measured on: the scaling may no longer fit.
  // Either way, start over.
  const outgrown = index !== undefined && index.graph.size - staleLabels + adding > 2 * (index.descriptor.normaliser.windows ?? 0);
  if (!rebuild && (outgrown || [...windows.values()].some((ws) => ws.some((w) => w.features.length !== dims)))) {
    refresh.rebuilt = true;
    toRead.splice(0, toRead.length, ...[...wanted.keys()].sort());
    windows = await readWindows(location, table, toRead);
  }
  refresh.windowsRead = [...windows.values()].reduce((n, w) => n + w.length, 0);
  if (refresh.rebuilt || index === undefined) {
    index = newSimilarityIndex(
      table,
      toRead.map((id) => [id, wanted.get(id)!, windows.get(id)!]),
      index?.descriptor.dims,
    );
  } else {
    for (const id of stale) removeRecording(index, id);
    refresh.removed = stale.length;
    for (const id of toRead) addRecordingToIndex(index, id, wanted.get(id)!, windows.get(id)!);
  }
  refresh.added = toRead.length;
  opened.set(memoKey, index);
  try {
    await persistSimilarityIndex(location, index);
    refresh.persisted = true;
  } catch (error) {
    // The answer stands without it: the next process to open the index adds the same recordings.
    if (!(error instanceof McapflowError)) throw error;
    location.log?.warn({ table, problem: error.message }, 'could not store the similarity index');
  }
  return { index, refresh };
}

/** The window tables of `bucket` whose index this process holds. */
export function openedSimilarityTables(bucket: string): string[] {
  return [...opened.keys()].filter((key) => key.startsWith(`${bucket}/`)).map((key) => key.slice(bucket.length + 1));
}

/** Forgets the indexes this process opened (tests; a process that wants to read the store again). */
export function forgetOpenedSimilarityIndexes(): void {
  opened.clear();
}

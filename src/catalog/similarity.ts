/**
 * Similarity search over a committed per-window feature table: "which moments of the fleet
 * look like this one?" The windows are indexed once in a persisted HNSW index (see
 * similarity-index-store.ts), brought up to date with the catalog incrementally, and searched
 * by the z-normalised distance between feature vectors. Features are computed once per
 * recording at ingest, never from the whole schema table at query time.
 */
import { TABLE_NAME_PATTERN } from '../domain/table-names.ts';
import { windowOfLabel } from '../domain/similarity-index.ts';
import { InvalidInputError, McapflowError, NotFoundError } from '../errors.ts';
import { committedRecordings, computedOf, queryCatalog, type CatalogLocation } from './query-session.ts';
import { openSimilarityIndex, type IndexRefresh, type LiveSimilarityIndex } from './similarity-index-store.ts';
import { DEFAULT_WINDOW_TABLE, WINDOW_COLUMNS, WINDOW_TABLE_HINT, type WindowSpan } from './window-table.ts';

export { DEFAULT_WINDOW_TABLE } from './window-table.ts';

/** The window of `recordingId` (on `topic`, if given) that contains `at`. */
export function findQueryWindow(
  windows: readonly WindowSpan[],
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
  /** What opening the persisted index took: what it was loaded from and what was added to it. */
  index: IndexRefresh;
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

/** The `k` windows nearest the query window in `index`, nearest first, the query window itself left out. */
export function searchIndex(index: LiveSimilarityIndex, request: SimilarityRequest, table: string): Omit<SimilarityAnswer, 'index'> {
  const indexed = index.byRecording.get(request.recordingId);
  const own: WindowSpan[] = (indexed?.windows ?? []).map(([topic, start, end]) => ({
    recordingId: request.recordingId,
    topic,
    windowStart: BigInt(start),
    windowEnd: BigInt(end),
  }));
  const position = findQueryWindow(own, table, request);
  const label = indexed!.first_label + position;
  const query = own[position]!;
  // One more than asked: the query window is (almost always) its own nearest neighbour.
  const neighbours = index.graph
    .nearest(index.graph.vectorOf(label), request.k + 1)
    .filter((n) => n.label !== label)
    .slice(0, request.k)
    .map(({ label: found, distance }) => {
      const at = windowOfLabel(index.descriptor.recordings, found);
      if (at === undefined) throw new McapflowError('INTERNAL', `similarity index of ${table} answered label ${found}, which no indexed recording holds`);
      return { recording_id: at.recording.recording_id, topic: at.window[0], window_start: at.window[1], window_end: at.window[2], distance };
    });
  return {
    table,
    query: { recording_id: query.recordingId, topic: query.topic, window_start: query.windowStart.toString(), window_end: query.windowEnd.toString() },
    neighbours,
    windows: index.graph.size,
  };
}

/** Finds the query window and its nearest neighbours in the table's similarity index, brought up to date with the catalog first. */
export async function similarWindows(location: CatalogLocation, request: SimilarityRequest): Promise<SimilarityAnswer> {
  const requested = request.table ?? DEFAULT_WINDOW_TABLE;
  if (!TABLE_NAME_PATTERN.test(requested)) throw new InvalidInputError('BAD_ARGUMENT', `${JSON.stringify(requested)} is not a table name`);
  const committed = await committedRecordings(location);
  if (!committed.some((r) => r.manifest.recording_id === request.recordingId)) throw new NotFoundError(`no committed recording ${request.recordingId}`);
  // SQL compares table names ignoring case; answer with the name the catalog uses.
  const table = [...computedOf(committed).tables.tables.keys()].find((name) => name.toLowerCase() === requested.toLowerCase());
  if (table === undefined) throw new NotFoundError(`no committed recording has a table ${requested}; similarity search reads ${WINDOW_TABLE_HINT}`);
  const { index, refresh } = await openSimilarityIndex(location, table, committed).catch((error: unknown) => diagnose(location, table, error));
  return { ...searchIndex(index, request, table), index: refresh };
}

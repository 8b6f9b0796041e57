/**
 * What an extraction will read: the committed recording's manifest and plan, the channels of
 * the requested topics, and the chunks that can hold their messages in the time window — from
 * the `chunks` table (per chunk and channel, first/last log time) when the recording has one,
 * else from the plan's per-chunk time ranges. Everything a request can get wrong (recording,
 * topics, times) is refused here, before a byte of output is written.
 */
import * as arrow from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { isRecordingId } from '../domain/identity.ts';
import type { Manifest } from '../domain/manifest.ts';
import { parsePlan } from '../domain/plan-schema.ts';
import type { RecordingPlan, TopicPlan } from '../domain/plan.ts';
import type { Segment } from '../domain/spans.ts';
import { InvalidInputError, NotFoundError } from '../errors.ts';
import { CHUNKS_TABLE } from '../operators/builtin/chunk-index.ts';
import { readManifest, readQuarantine } from '../operators/commit-op.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { ObjectCache } from './catalog.ts';
import { CountingStore, type ReadCount } from './read-accounting.ts';

export type ExtractFormat = 'mcap' | 'parquet';
export const EXTRACT_FORMATS: readonly ExtractFormat[] = ['mcap', 'parquet'];

export interface ExtractionRequest {
  recordingId: string;
  /** Topic names; empty means every topic. */
  topics: readonly string[];
  /** Inclusive lower bound of log_time (ns); undefined: unbounded. */
  start?: bigint | undefined;
  /** Exclusive upper bound of log_time (ns); undefined: unbounded. */
  end?: bigint | undefined;
  /** Parquet needs decodable topics: a named one that is not is refused; of every topic, those are skipped. Default mcap. */
  format?: ExtractFormat;
}

export interface ExtractionSource {
  /** The store the recording and its derived objects are read through; wrapped to count reads. */
  store: ObjectStore;
  derivedBucket: string;
  /** Local cache of immutable derived objects (plan, chunks table): MCAPFLOW_HOME/cache. */
  cacheDir: string;
  maxRecordBytes: number;
  maxChunkBytes: number;
}

/** One ranged GET: consecutive selected segments and the message indexes between them. */
export interface ReadRun {
  start: number;
  end: number;
  segments: Segment[];
}

export interface ExtractionPlan {
  recordingId: string;
  manifest: Manifest;
  plan: RecordingPlan;
  /** The channels extracted, in channel-id order. */
  channels: TopicPlan[];
  /** Parquet: the schema tables the channels decode to (table → its channels); empty for MCAP. */
  tables: Map<string, TopicPlan[]>;
  /** Parquet of every topic: the undecodable topics left out. */
  skipped: TopicPlan[];
  start: bigint | undefined;
  end: bigint | undefined;
  /** How chunks were chosen: the `chunks` table (channels and times) or the plan's chunk times alone. */
  selectedBy: 'chunk-index' | 'chunk-times';
  /** Segments the data section has / the ones that can hold selected messages. */
  segmentsTotal: number;
  segments: Segment[];
  runs: ReadRun[];
  /** Sum of the selected segments' lengths. */
  segmentBytes: number;
  /** Bytes between selected segments read anyway to save a request (their message indexes). */
  gapBytes: number;
  /** What reading the manifest, plan and chunks table cost (0 bytes for cached objects). */
  metadataRead: ReadCount;
  source: ExtractionSource;
  counting: CountingStore;
  cache: ObjectCache;
}

/** Neighbouring chunks are fetched in one GET when what lies between them is at most this (their message indexes). */
export const RUN_MAX_GAP_BYTES = 64 * 1024;
/** One GET's range is capped so a slow consumer never holds one S3 response open for long. */
export const RUN_MAX_BYTES = 32 * 1024 * 1024;

/** Nanoseconds from `1768467600000000000` or an ISO 8601 time with up to 9 fractional digits; `name` is the argument, for the error. */
export function parseTimeArgument(name: string, text: string): bigint {
  if (/^\d{1,19}$/.test(text) && BigInt(text) < 2n ** 63n) return BigInt(text);
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d)$/.exec(text);
  const ms = match ? Date.parse(`${match[1]}${match[3]}`) : Number.NaN;
  if (!match || Number.isNaN(ms) || ms < 0)
    throw new InvalidInputError(
      'BAD_ARGUMENT',
      `${name} ${JSON.stringify(text)} is neither integer nanoseconds nor an ISO 8601 time such as 2026-01-15T09:00:01.5Z`,
    );
  return BigInt(ms) * 1_000_000n + BigInt((match[2] ?? '').padEnd(9, '0'));
}

export function parseFormat(text: string | undefined): ExtractFormat {
  const format = text ?? 'mcap';
  if (!(EXTRACT_FORMATS as readonly string[]).includes(format))
    throw new InvalidInputError('BAD_ARGUMENT', `format ${JSON.stringify(format)} is not one of ${EXTRACT_FORMATS.join(', ')}`);
  return format as ExtractFormat;
}

async function committedManifest(store: ObjectStore, bucket: string, recordingId: string): Promise<Manifest> {
  if (!isRecordingId(recordingId)) throw new InvalidInputError('BAD_ARGUMENT', `${JSON.stringify(recordingId)} is not a recording id (32 hex characters)`);
  const manifest = await readManifest(store, bucket, recordingId);
  if (manifest !== undefined) return manifest;
  const quarantine = await readQuarantine(store, bucket, recordingId);
  if (quarantine !== undefined) throw new NotFoundError(`recording ${recordingId} was quarantined, so it has nothing to extract: ${quarantine.reason}`);
  throw new NotFoundError(`no committed recording ${recordingId}`);
}

function selectedChannels(plan: RecordingPlan, topics: readonly string[]): TopicPlan[] {
  if (topics.length === 0) return [...plan.topics].sort((a, b) => a.channelId - b.channelId);
  const known = [...new Set(plan.topics.map((t) => t.topic))].sort();
  const unknown = [...new Set(topics)].filter((t) => !known.includes(t));
  if (unknown.length > 0) {
    const list = known.length === 0 ? 'none' : known.join(', ');
    throw new InvalidInputError(
      'BAD_ARGUMENT',
      `recording ${plan.recordingId} has no topic ${unknown.map((t) => JSON.stringify(t)).join(', ')}; its topics are: ${list}`,
    );
  }
  // A topic may be published on several channels: every one of them is extracted.
  return plan.topics.filter((t) => topics.includes(t.topic)).sort((a, b) => a.channelId - b.channelId);
}

/** Parquet rows come from decoding: undecodable topics are refused when named, skipped (and reported) otherwise. */
function forFormat(channels: TopicPlan[], request: ExtractionRequest): { channels: TopicPlan[]; tables: Map<string, TopicPlan[]>; skipped: TopicPlan[] } {
  const tables = new Map<string, TopicPlan[]>();
  if ((request.format ?? 'mcap') === 'mcap') return { channels, tables, skipped: [] };
  const undecodable = channels.filter((c) => c.status !== 'ok' || c.table === null);
  if (request.topics.length > 0 && undecodable.length > 0) {
    const why = undecodable.map((c) => `${c.topic}: ${c.reason ?? 'cannot be decoded'}`).join('; ');
    throw new InvalidInputError('BAD_ARGUMENT', `cannot write Parquet rows of topics that cannot be decoded (extract them as MCAP instead): ${why}`);
  }
  const decodable = channels.filter((c) => !undecodable.includes(c));
  if (decodable.length === 0)
    throw new InvalidInputError('BAD_ARGUMENT', `recording ${request.recordingId} has no topic that can be decoded into Parquet rows`);
  for (const c of decodable) tables.set(c.table!, [...(tables.get(c.table!) ?? []), c]);
  return { channels: decodable, tables: new Map([...tables].sort(([a], [b]) => a.localeCompare(b))), skipped: undecodable };
}

function overlaps(first: bigint, last: bigint, start: bigint | undefined, end: bigint | undefined): boolean {
  return (start === undefined || last >= start) && (end === undefined || first < end);
}

interface ChunkRow {
  offset: number;
  channelId: number;
  first: bigint;
  last: bigint;
}

/** Rows of the `chunks` table, or undefined when the recording has none (or one this code cannot read). */
async function chunkRows(manifest: Manifest, cache: ObjectCache): Promise<ChunkRow[] | undefined> {
  const objects = manifest.tables[CHUNKS_TABLE]?.objects;
  if (objects === undefined) return undefined;
  const rows: ChunkRow[] = [];
  for (const object of objects) {
    const table = arrow.tableFromIPC(readParquet(await cache.read(object.key, object.sha256)).intoIPCStream());
    const offset = table.getChild('chunk_offset');
    const channel = table.getChild('channel_id');
    const first = table.getChild('first_log_time');
    const last = table.getChild('last_log_time');
    if (offset === null || channel === null || first === null || last === null) return undefined;
    for (let i = 0; i < table.numRows; i++) {
      rows.push({ offset: Number(offset.get(i) as bigint), channelId: channel.get(i) as number, first: first.get(i) as bigint, last: last.get(i) as bigint });
    }
  }
  return rows;
}

/** The segment holding file offset `offset` (a chunk's own offset, or a top-level message's inside a records segment). */
function segmentAt(sorted: readonly Segment[], offset: number): Segment | undefined {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = sorted[mid]!;
    if (offset < s.offset) hi = mid - 1;
    else if (offset >= s.offset + s.length) lo = mid + 1;
    else return s;
  }
  return undefined;
}

/**
 * Segments that can hold a message of `channels` logged in the window. A segment the chunks
 * table says nothing about (no messages indexed in it) is chosen by its own time range, so an
 * incomplete table costs bytes, never messages.
 */
function selectSegments(
  segments: readonly Segment[],
  rows: ChunkRow[] | undefined,
  channels: ReadonlySet<number>,
  start: bigint | undefined,
  end: bigint | undefined,
): Segment[] {
  const byTime = (s: Segment) => overlaps(BigInt(s.messageStartTime), BigInt(s.messageEndTime), start, end);
  if (rows === undefined) return segments.filter(byTime);
  const described = new Set<Segment>();
  const chosen = new Set<Segment>();
  for (const row of rows) {
    const segment = segmentAt(segments, row.offset);
    if (segment === undefined) continue;
    described.add(segment);
    if (channels.has(row.channelId) && overlaps(row.first, row.last, start, end)) chosen.add(segment);
  }
  return segments.filter((s) => chosen.has(s) || (!described.has(s) && byTime(s)));
}

/** Groups selected segments into GETs: neighbours with only a small gap (no unselected segment) between them share one. */
function readRuns(all: readonly Segment[], selected: readonly Segment[]): { runs: ReadRun[]; gapBytes: number } {
  const chosen = new Set(selected);
  const runs: ReadRun[] = [];
  let gapBytes = 0;
  let current: ReadRun | undefined;
  let previousChosen = false;
  for (const segment of all) {
    if (!chosen.has(segment)) {
      previousChosen = false;
      continue;
    }
    const end = segment.offset + segment.length;
    const gap = current === undefined ? 0 : segment.offset - current.end;
    if (current !== undefined && previousChosen && gap >= 0 && gap <= RUN_MAX_GAP_BYTES && end - current.start <= RUN_MAX_BYTES) {
      gapBytes += gap;
      current.end = end;
      current.segments.push(segment);
    } else {
      current = { start: segment.offset, end, segments: [segment] };
      runs.push(current);
    }
    previousChosen = true;
  }
  return { runs, gapBytes };
}

/** Checks the request against the committed recording and chooses what to read. */
export async function planExtraction(source: ExtractionSource, request: ExtractionRequest): Promise<ExtractionPlan> {
  const { start, end } = request;
  if (start !== undefined && end !== undefined && start >= end)
    throw new InvalidInputError('BAD_ARGUMENT', `the time window is empty: start ${start} is not before end ${end} (end is exclusive)`);
  const counting = new CountingStore(source.store);
  const cache = new ObjectCache(source.cacheDir, counting, source.derivedBucket);
  const manifest = await committedManifest(counting, source.derivedBucket, request.recordingId);
  const plan = parsePlan((await cache.read(manifest.plan_key)).toString('utf8'), manifest.plan_key);
  const { channels, tables, skipped } = forFormat(selectedChannels(plan, request.topics), request);
  const rows = await chunkRows(manifest, cache);
  const metadataRead = counting.snapshot();
  const all = plan.spans.flatMap((s) => s.segments).sort((a, b) => a.offset - b.offset);
  const segments = selectSegments(all, rows, new Set(channels.map((c) => c.channelId)), start, end);
  const { runs, gapBytes } = readRuns(all, segments);
  return {
    recordingId: manifest.recording_id,
    manifest,
    plan,
    channels,
    tables,
    skipped,
    start,
    end,
    selectedBy: rows === undefined ? 'chunk-times' : 'chunk-index',
    segmentsTotal: all.length,
    segments,
    runs,
    segmentBytes: segments.reduce((n, s) => n + s.length, 0),
    gapBytes,
    metadataRead,
    source,
    counting,
    cache,
  };
}

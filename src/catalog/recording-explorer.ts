/**
 * What the data browser shows of one committed recording beyond its manifest: a coverage
 * timeline per topic with its gaps and out-of-order stretches, the numeric fields of a table,
 * and a time series of them downsampled on the server. Statements run through `run` (the
 * admin's query sandbox), so the limits of every other query apply to these too.
 */
import type { Manifest } from '../domain/manifest.ts';
import { GAP_FACTOR } from '../domain/topic-timing.ts';
import { InvalidInputError, NotFoundError } from '../errors.ts';
import {
  columnTypesSql,
  coverageSql,
  fieldName,
  gapsSql,
  numericLeaves,
  outOfOrderSql,
  seriesSql,
  TIME_COLUMNS,
  type FieldPath,
  type TimeBuckets,
} from './browse-sql.ts';

export interface QueryAnswer {
  columns: string[];
  rows: unknown[][];
  truncated: boolean;
}

export type RunQuery = (sql: string) => Promise<QueryAnswer>;

export interface ExplorerLimits {
  /** The most rows one statement may answer (MCAPFLOW_QUERY_MAX_ROWS). */
  maxRows: number;
}

export interface TopicCoverage {
  topic: string;
  schema: string;
  table: string | null;
  messages: number;
  rate_hz: number | null;
  status: string;
  reason: string | null;
  decode_errors: number;
  /** Messages per bucket. */
  counts: number[];
  out_of_order: { count: number; buckets: number[] };
  /** The longest gaps first, as [start, end] nanosecond strings; `count` is the manifest's total. */
  gaps: { count: number; intervals: [string, string][] };
}

export interface Timeline {
  start_time: string | null;
  end_time: string | null;
  buckets: number;
  bucket_ns: string | null;
  topics: TopicCoverage[];
}

export interface TableFields {
  table: string;
  time_column: string;
  topics: string[];
  fields: string[];
}

export interface SeriesRequest {
  table: string;
  fields: readonly string[];
  topic?: string | undefined;
  start?: bigint | undefined;
  end?: bigint | undefined;
  points: number;
}

export interface Series {
  table: string;
  topic: string | null;
  time_column: string;
  start: string;
  end: string;
  /** Source rows in the range; more than `points` means each point is a bucket's envelope. */
  rows: number;
  points: number;
  downsampled: boolean;
  /** Seconds since the epoch (a bucket's mean time). */
  t: number[];
  series: Record<string, { min: (number | null)[]; max: (number | null)[]; mean: (number | null)[] }>;
}

/** Columns that place a row in time or identify it: never offered as a value to plot. */
const NOT_VALUES = new Set<string>([...TIME_COLUMNS, 'publish_time', 'header_stamp', 'window_end', 'recording_id', 'channel_id', 'sequence']);
const MAX_LISTED_GAPS = 200;

const asNumber = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function recordedRange(m: Manifest): { start: bigint; end: bigint } | undefined {
  if (m.start_time === null || m.end_time === null) return undefined;
  // The end is inclusive in the manifest; buckets are half-open.
  return { start: BigInt(m.start_time), end: BigInt(m.end_time) + 1n };
}

/** Column types of a recording's table, remembered per version of its objects: a plot's every zoom would otherwise ask again. */
const FIELDS_REMEMBERED = 256;

export class RecordingExplorer {
  readonly #run: RunQuery;
  readonly #limits: ExplorerLimits;
  readonly #columnTypes = new Map<string, Promise<QueryAnswer>>();

  constructor(run: RunQuery, limits: ExplorerLimits) {
    this.#run = run;
    this.#limits = limits;
  }

  async timeline(m: Manifest, requestedBuckets: number): Promise<Timeline> {
    const range = recordedRange(m);
    // One row per topic and bucket must fit in one answer.
    const buckets = Math.max(1, Math.min(requestedBuckets, Math.floor(this.#limits.maxRows / Math.max(1, m.topics.length))));
    const topics = new Map<string, TopicCoverage>(
      m.topics.map((t) => {
        const span = t.first_log_time === null || t.last_log_time === null ? 0 : Number(BigInt(t.last_log_time) - BigInt(t.first_log_time)) / 1e9;
        return [
          t.topic,
          {
            topic: t.topic,
            schema: t.schema,
            table: t.table,
            messages: t.messages,
            rate_hz: span > 0 ? (t.messages - 1) / span : null,
            status: t.status,
            reason: t.reason,
            decode_errors: t.decode_errors,
            counts: new Array<number>(buckets).fill(0),
            out_of_order: { count: t.out_of_order, buckets: [] },
            gaps: { count: t.gaps, intervals: [] },
          },
        ];
      }),
    );
    if (range === undefined || m.message_count === 0)
      return { start_time: m.start_time, end_time: m.end_time, buckets, bucket_ns: null, topics: [...topics.values()] };
    const b: TimeBuckets = { ...range, count: buckets };
    const bucketOf = (ns: bigint) => Math.min(buckets - 1, Number(((ns - range.start) * BigInt(buckets)) / (range.end - range.start)));

    for (const [topic, bucket, messages] of (await this.#run(coverageSql(m.recording_id, b))).rows) {
      const entry = topics.get(String(topic));
      if (entry !== undefined) entry.counts[Number(bucket)] = Number(messages);
    }
    if (m.topics.some((t) => t.out_of_order > 0)) {
      const marked = new Map<string, Set<number>>();
      for (const [topic, logTime] of (await this.#run(outOfOrderSql(m.recording_id, this.#limits.maxRows))).rows) {
        const set = marked.get(String(topic)) ?? new Set<number>();
        set.add(bucketOf(BigInt(String(logTime))));
        marked.set(String(topic), set);
      }
      for (const [topic, set] of marked) {
        const entry = topics.get(topic);
        if (entry !== undefined) entry.out_of_order.buckets = [...set].sort((x, y) => x - y);
      }
    }
    const thresholds = new Map(
      m.topics.filter((t) => t.gaps > 0 && t.median_period_ns !== null).map((t) => [t.topic, GAP_FACTOR * BigInt(t.median_period_ns!)] as const),
    );
    if (thresholds.size > 0)
      for (const [topic, start, end] of (await this.#run(gapsSql(m.recording_id, thresholds, MAX_LISTED_GAPS))).rows)
        topics.get(String(topic))?.gaps.intervals.push([String(start), String(end)]);
    return {
      start_time: m.start_time,
      end_time: m.end_time,
      buckets,
      bucket_ns: ((range.end - range.start) / BigInt(buckets)).toString(),
      topics: [...topics.values()],
    };
  }

  /** The numeric fields of `table` as this recording holds it, and the column its rows are placed in time by. */
  async fields(m: Manifest, table: string): Promise<TableFields & { paths: FieldPath[] }> {
    const entry = m.tables[table];
    if (entry === undefined)
      throw new NotFoundError(`recording ${m.recording_id} has no table ${JSON.stringify(table)} (it has ${Object.keys(m.tables).sort().join(', ')})`);
    const answer = await this.#typesOf(m, table);
    const types = answer.rows[0] ?? [];
    const columns = answer.columns.map((name, i) => [name, String(types[i] ?? '')] as const);
    const timeColumn = TIME_COLUMNS.find((c) => columns.some(([name]) => name === c));
    if (timeColumn === undefined)
      throw new InvalidInputError('BAD_ARGUMENT', `table ${table} has no time column (${TIME_COLUMNS.join(' or ')}), so it cannot be plotted over time`);
    const paths = numericLeaves(columns).filter((p) => !(p.length === 1 && NOT_VALUES.has(p[0]!)));
    const fromObjects = entry.objects.flatMap((o) => o.topics ?? []);
    const topics = [...new Set(fromObjects.length > 0 ? fromObjects : m.topics.filter((t) => t.table === table).map((t) => t.topic))].sort();
    return { table, time_column: timeColumn, topics, fields: paths.map(fieldName), paths };
  }

  #typesOf(m: Manifest, table: string): Promise<QueryAnswer> {
    const version = `${m.recording_id}\n${table}\n${m.tables[table]!.objects.map((o) => o.sha256).join(',')}`;
    let answer = this.#columnTypes.get(version);
    if (answer === undefined) {
      answer = this.#run(columnTypesSql(table, m.recording_id));
      // A failed statement (a busy sandbox) is asked again next time.
      answer.catch(() => this.#columnTypes.delete(version));
      this.#columnTypes.set(version, answer);
      if (this.#columnTypes.size > FIELDS_REMEMBERED) this.#columnTypes.delete(this.#columnTypes.keys().next().value!);
    }
    return answer;
  }

  async series(m: Manifest, request: SeriesRequest): Promise<Series> {
    const known = await this.fields(m, request.table);
    if (request.fields.length === 0) throw new InvalidInputError('BAD_ARGUMENT', 'name at least one field to plot');
    const paths = request.fields.map((name) => {
      const path = known.paths.find((p) => fieldName(p) === name);
      if (path === undefined)
        throw new InvalidInputError(
          'BAD_ARGUMENT',
          `table ${request.table} has no numeric field ${JSON.stringify(name)} (fields: ${known.fields.slice(0, 40).join(', ')}${known.fields.length > 40 ? ', …' : ''})`,
        );
      return path;
    });
    if (request.topic !== undefined && !known.topics.includes(request.topic))
      throw new InvalidInputError('BAD_ARGUMENT', `table ${request.table} holds no rows of topic ${JSON.stringify(request.topic)} in this recording`);
    const range = recordedRange(m);
    const start = request.start ?? range?.start;
    const end = request.end ?? range?.end;
    if (start === undefined || end === undefined) throw new InvalidInputError('BAD_ARGUMENT', `recording ${m.recording_id} has no messages to plot`);
    if (end <= start) throw new InvalidInputError('BAD_ARGUMENT', 'the plot range ends before it starts');
    const answer = await this.#run(
      seriesSql({
        table: request.table,
        recordingId: m.recording_id,
        timeColumn: known.time_column,
        topic: request.topic,
        fields: paths,
        buckets: { start, end, count: request.points },
      }),
    );
    const series: Series['series'] = {};
    request.fields.forEach((name, i) => {
      const column = (k: number) => answer.rows.map((row) => asNumber(row[3 + 3 * i + k]));
      series[name] = { min: column(0), max: column(1), mean: column(2) };
    });
    const rows = answer.rows.reduce((n, row) => n + Number(row[2]), 0);
    return {
      table: request.table,
      topic: request.topic ?? null,
      time_column: known.time_column,
      start: start.toString(),
      end: end.toString(),
      rows,
      points: answer.rows.length,
      downsampled: rows > answer.rows.length,
      t: answer.rows.map((row) => Number(row[1]) / 1e9),
      series,
    };
  }
}

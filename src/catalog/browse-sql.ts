/**
 * The statements the data browser runs: a coverage timeline, timing faults and downsampled
 * series of one recording. Every identifier comes from the catalog (checked, then quoted) and
 * every value is a literal made here, so these are safe to run in the query sandbox. Each
 * statement is one SELECT over one table with its predicates at the top (QUALIFY, never a
 * subquery), which is what query pruning needs to read only this recording's objects.
 */
import { InvalidInputError } from '../errors.ts';

export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** A path to a numeric leaf of a table's columns: `["linear_acceleration", "x"]`. */
export type FieldPath = readonly string[];

export function fieldName(path: FieldPath): string {
  return path.join('.');
}

export function fieldExpression(path: FieldPath): string {
  return path.map(quoteIdentifier).join('.');
}

const NUMERIC_TYPE = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL(\(\d+,\s*\d+\))?|BOOLEAN)$/;

/** Splits `a INT, b STRUCT(c INT, d VARCHAR)` at its top-level commas. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === '(') depth += 1;
    else if (!quoted && c === ')') depth -= 1;
    else if (!quoted && depth === 0 && c === ',') {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = text.slice(start).trim();
  if (last !== '') parts.push(last);
  return parts;
}

/** `"name" TYPE` or `name TYPE` → [name, TYPE]. */
function splitMember(member: string): [string, string] {
  if (member.startsWith('"')) {
    let i = 1;
    let name = '';
    while (i < member.length) {
      if (member[i] === '"' && member[i + 1] === '"') {
        name += '"';
        i += 2;
      } else if (member[i] === '"') break;
      else name += member[i++];
    }
    return [name, member.slice(i + 1).trim()];
  }
  const space = member.indexOf(' ');
  return [member.slice(0, space), member.slice(space + 1).trim()];
}

/**
 * The numeric leaves of columns given as (name, DuckDB type text) — structs walked into, lists
 * and maps skipped (a plot needs one value per row) — as paths in column order.
 */
export function numericLeaves(columns: readonly (readonly [string, string])[]): FieldPath[] {
  const out: FieldPath[] = [];
  const walk = (path: string[], type: string) => {
    if (NUMERIC_TYPE.test(type)) out.push(path);
    else if (type.startsWith('STRUCT(') && type.endsWith(')'))
      for (const member of splitTopLevel(type.slice(7, -1))) {
        const [name, memberType] = splitMember(member);
        walk([...path, name], memberType);
      }
  };
  for (const [name, type] of columns) walk([name], type);
  return out;
}

/** Columns a row's time can come from, in order of preference: a message's log time, a window's start. */
export const TIME_COLUMNS = ['log_time', 'window_start'] as const;

/** The column types of `table` as this recording's rows have them (no row: no columns). */
export function columnTypesSql(table: string, recordingId: string): string {
  return `SELECT typeof(COLUMNS(*)) FROM ${quoteIdentifier(table)} WHERE recording_id = ${quoteString(recordingId)} LIMIT 1`;
}

export interface TimeBuckets {
  start: bigint;
  /** Exclusive. */
  end: bigint;
  count: number;
}

/** Integer bucket of a nanosecond column in [start, end): HUGEINT so long recordings times many buckets cannot overflow. */
function bucketOf(column: string, b: TimeBuckets): string {
  const width = b.end - b.start;
  if (width <= 0n) throw new InvalidInputError('BAD_ARGUMENT', 'the time range is empty: its end is not after its start');
  return `least(${b.count - 1}, ((${column} - ${b.start})::HUGEINT * ${b.count} // ${width})::INTEGER)`;
}

/** Messages per topic and time bucket, from the `messages` index. */
export function coverageSql(recordingId: string, buckets: TimeBuckets): string {
  return `SELECT topic, ${bucketOf('log_time', buckets)} AS bucket, count(*) AS messages FROM messages WHERE recording_id = ${quoteString(recordingId)} GROUP BY ALL ORDER BY topic, bucket`;
}

/** Log times of messages logged earlier than the one before them on their topic, in file order. */
export function outOfOrderSql(recordingId: string, limit: number): string {
  return `SELECT topic, log_time FROM messages WHERE recording_id = ${quoteString(recordingId)} QUALIFY log_time < lag(log_time) OVER (PARTITION BY topic ORDER BY chunk_offset, offset_in_chunk) ORDER BY log_time LIMIT ${limit}`;
}

/** The longest intervals between consecutive messages of a topic that exceed its threshold (ns), longest first. */
export function gapsSql(recordingId: string, thresholds: ReadonlyMap<string, bigint>, limit: number): string {
  if (thresholds.size === 0) throw new InvalidInputError('BAD_ARGUMENT', 'no topic has a gap threshold');
  const cases = [...thresholds].map(([topic, ns]) => `WHEN ${quoteString(topic)} THEN ${ns}`).join(' ');
  const gap = 'log_time - lag(log_time) OVER (PARTITION BY topic ORDER BY log_time)';
  return `SELECT topic, log_time - (${gap}) AS gap_start, log_time AS gap_end FROM messages WHERE recording_id = ${quoteString(recordingId)} QUALIFY ${gap} > CASE topic ${cases} END ORDER BY ${gap} DESC LIMIT ${limit}`;
}

export interface SeriesQuery {
  table: string;
  recordingId: string;
  timeColumn: string;
  /** When the table has a topic column and the caller names one. */
  topic?: string | undefined;
  fields: readonly FieldPath[];
  buckets: TimeBuckets;
}

/**
 * Per time bucket: mean time, row count and the min, max and mean of every field — a plot's
 * envelope, so a spike survives downsampling. Fields are cast to DOUBLE (64-bit integers
 * would otherwise arrive as strings).
 */
export function seriesSql(q: SeriesQuery): string {
  const time = quoteIdentifier(q.timeColumn);
  const where = [
    `recording_id = ${quoteString(q.recordingId)}`,
    ...(q.topic === undefined ? [] : [`topic = ${quoteString(q.topic)}`]),
    `${time} >= ${q.buckets.start}`,
    `${time} < ${q.buckets.end}`,
  ];
  const aggregates = q.fields.flatMap((path) => {
    const value = `${fieldExpression(path)}::DOUBLE`;
    return [`min(${value})`, `max(${value})`, `avg(${value})`];
  });
  return `SELECT ${bucketOf(time, q.buckets)} AS bucket, avg(${time})::DOUBLE AS t, count(*) AS n, ${aggregates.join(', ')} FROM ${quoteIdentifier(q.table)} WHERE ${where.join(' AND ')} GROUP BY bucket ORDER BY bucket`;
}

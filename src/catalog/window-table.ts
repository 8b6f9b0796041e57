/**
 * Per-window feature tables (one row per recording, topic and window with a `features`
 * vector, as every windowFeatures operator writes; `imu_windows` by default): their columns
 * and their rows, checked.
 */
import { InvalidInputError } from '../errors.ts';
import type { QueryResult } from './query-engine.ts';

/** The window-feature table of the built-in imu_windows operator. */
export const DEFAULT_WINDOW_TABLE = 'imu_windows';

/** The columns search reads; every table a windowFeatures operator writes has them. */
export const WINDOW_COLUMNS = ['recording_id', 'topic', 'window_start', 'window_end', 'features'] as const;

export const WINDOW_TABLE_HINT = `a per-window feature table made by a windowFeatures operator (columns ${WINDOW_COLUMNS.join(', ')}), e.g. ${DEFAULT_WINDOW_TABLE}`;

/** Where a window is: its recording, topic and time range. */
export interface WindowSpan {
  recordingId: string;
  topic: string;
  /** The window is [windowStart, windowEnd), log time in nanoseconds. */
  windowStart: bigint;
  windowEnd: bigint;
}

export interface FeatureWindow extends WindowSpan {
  features: number[];
}

/** The statement that reads a window table's rows, optionally only those matching `where` (trusted SQL). */
export function windowsSql(table: string, where?: string): string {
  return `SELECT ${WINDOW_COLUMNS.join(', ')} FROM "${table}"${where === undefined ? '' : ` WHERE ${where}`} ORDER BY recording_id, topic, window_start`;
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

/**
 * The data browser's list of recordings: committed ones from their manifests, the rest from
 * their processing status, filtered, sorted and cut into pages. Pure: the caller fetches both.
 */
import type { Manifest } from '../domain/manifest.ts';
import { InvalidInputError } from '../errors.ts';
import type { RecordingStatus, RecordingState } from '../status/recording-status.ts';

export const RECORDING_SORTS = ['updated', 'start_time', 'duration', 'size', 'messages', 'source'] as const;
export type RecordingSort = (typeof RECORDING_SORTS)[number];

export interface RecordingFilter {
  /** Case-insensitive substring of the source URI or the recording id. */
  text?: string | undefined;
  /** Exact topic name the recording must have. */
  topic?: string | undefined;
  /** Case-insensitive substring of one of its schema names. */
  schema?: string | undefined;
  state?: RecordingState | undefined;
  /** Recorded time range [from, to) in nanoseconds the recording must overlap. */
  from?: bigint | undefined;
  to?: bigint | undefined;
  sort: RecordingSort;
  descending: boolean;
  page: number;
  perPage: number;
}

export interface RecordingListItem {
  recording_id: string;
  state: RecordingState;
  source: string | null;
  start_time: string | null;
  end_time: string | null;
  duration_s: number | null;
  size: number | null;
  message_count: number | null;
  topics: number | null;
  schemas: string[];
  updated_at: string | null;
  reason: string | null;
}

export interface RecordingListPage {
  items: RecordingListItem[];
  total: number;
  page: number;
  per_page: number;
  pages: number;
}

export interface CommittedEntry {
  manifest: Manifest;
  committedAt: Date | undefined;
}

function fromManifest({ manifest: m, committedAt }: CommittedEntry, status: RecordingStatus | undefined): RecordingListItem {
  const start = m.start_time === null ? null : BigInt(m.start_time);
  const end = m.end_time === null ? null : BigInt(m.end_time);
  return {
    recording_id: m.recording_id,
    state: 'committed',
    source: m.source.uri,
    start_time: m.start_time,
    end_time: m.end_time,
    duration_s: start === null || end === null ? null : Number(end - start) / 1e9,
    size: m.source.size,
    message_count: m.message_count,
    topics: m.topics.length,
    schemas: [...new Set(m.topics.map((t) => t.schema))].sort(),
    updated_at: committedAt?.toISOString() ?? status?.updatedAt ?? null,
    reason: m.reason,
  };
}

function fromStatus(s: RecordingStatus): RecordingListItem {
  return {
    recording_id: s.recordingId,
    state: s.state,
    source: s.source,
    start_time: null,
    end_time: null,
    duration_s: null,
    size: null,
    message_count: null,
    topics: null,
    schemas: [],
    updated_at: s.updatedAt,
    reason: s.reason,
  };
}

/** One row per recording: a manifest wins over a status (a committed recording may still have an older status entry). */
export function recordingListItems(
  committed: readonly CommittedEntry[],
  statuses: readonly RecordingStatus[],
): { item: RecordingListItem; manifest?: Manifest }[] {
  const byId = new Map(statuses.map((s) => [s.recordingId, s]));
  const rows: { item: RecordingListItem; manifest?: Manifest }[] = committed.map((c) => ({
    item: fromManifest(c, byId.get(c.manifest.recording_id)),
    manifest: c.manifest,
  }));
  const seen = new Set(rows.map((r) => r.item.recording_id));
  for (const s of statuses) if (!seen.has(s.recordingId)) rows.push({ item: fromStatus(s) });
  return rows;
}

function matches(row: { item: RecordingListItem; manifest?: Manifest }, f: RecordingFilter): boolean {
  const { item, manifest } = row;
  if (f.state !== undefined && item.state !== f.state) return false;
  if (f.text) {
    const text = f.text.toLowerCase();
    if (!item.recording_id.includes(text) && !(item.source ?? '').toLowerCase().includes(text)) return false;
  }
  if (f.topic !== undefined && !(manifest?.topics.some((t) => t.topic === f.topic) ?? false)) return false;
  if (f.schema) {
    const schema = f.schema.toLowerCase();
    if (!item.schemas.some((s) => s.toLowerCase().includes(schema))) return false;
  }
  if (f.from !== undefined || f.to !== undefined) {
    // Time filters need the recorded range, which only a committed recording has.
    if (item.start_time === null || item.end_time === null) return false;
    if (f.from !== undefined && BigInt(item.end_time) < f.from) return false;
    if (f.to !== undefined && BigInt(item.start_time) >= f.to) return false;
  }
  return true;
}

const SORT_VALUES: Record<RecordingSort, (item: RecordingListItem) => string | number | bigint | null> = {
  updated: (i) => i.updated_at,
  start_time: (i) => (i.start_time === null ? null : BigInt(i.start_time)),
  duration: (i) => i.duration_s,
  size: (i) => i.size,
  messages: (i) => i.message_count,
  source: (i) => i.source,
};

/** Sorted by `sort` (missing values last either way), then by id so pages are stable. */
export function listRecordings(rows: { item: RecordingListItem; manifest?: Manifest }[], f: RecordingFilter): RecordingListPage {
  if (f.from !== undefined && f.to !== undefined && f.to <= f.from) throw new InvalidInputError('BAD_ARGUMENT', 'the time filter ends before it starts');
  const value = SORT_VALUES[f.sort];
  const kept = rows
    .filter((r) => matches(r, f))
    .map((r) => r.item)
    .sort((a, b) => {
      const va = value(a);
      const vb = value(b);
      if (va === null || vb === null) return va === vb ? a.recording_id.localeCompare(b.recording_id) : va === null ? 1 : -1;
      const order = va < vb ? -1 : va > vb ? 1 : 0;
      return (f.descending ? -order : order) || a.recording_id.localeCompare(b.recording_id);
    });
  const pages = Math.max(1, Math.ceil(kept.length / f.perPage));
  const start = (f.page - 1) * f.perPage;
  return { items: kept.slice(start, start + f.perPage), total: kept.length, page: f.page, per_page: f.perPage, pages };
}

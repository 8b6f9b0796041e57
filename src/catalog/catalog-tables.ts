/**
 * What a query sees, computed from the committed manifests without touching DuckDB: the rows
 * of `recordings` and `topics`, and the objects behind every other table under the name it
 * is queried by (domain/table-names.ts: names are unique ignoring case, as SQL compares
 * them), each version of a table under its own view (table-versions.ts). Plain values only, so a catalog can be handed to another process as it is.
 */
import type { Manifest } from '../domain/manifest.ts';
import type { CommittedRecording } from './catalog.ts';
import type { PrunableObject } from './query-pruning.ts';
import { tableVersionsOf } from './table-versions.ts';

export type ColumnType = 'VARCHAR' | 'BIGINT' | 'INTEGER' | 'BOOLEAN' | 'TIMESTAMPTZ';
/** A cell: BIGINT as bigint, TIMESTAMPTZ as bigint microseconds since the epoch. */
export type CatalogValue = string | number | bigint | boolean | null;

export interface CatalogColumn {
  name: string;
  type: ColumnType;
}

export const RECORDINGS_COLUMNS: readonly CatalogColumn[] = [
  { name: 'recording_id', type: 'VARCHAR' },
  { name: 'source_uri', type: 'VARCHAR' },
  { name: 'size', type: 'BIGINT' },
  { name: 'start_time', type: 'BIGINT' },
  { name: 'end_time', type: 'BIGINT' },
  { name: 'message_count', type: 'BIGINT' },
  { name: 'committed_at', type: 'TIMESTAMPTZ' },
  { name: 'recovered', type: 'BOOLEAN' },
  { name: 'reason', type: 'VARCHAR' },
  { name: 'profile', type: 'VARCHAR' },
  { name: 'library', type: 'VARCHAR' },
];

export const TOPICS_COLUMNS: readonly CatalogColumn[] = [
  { name: 'recording_id', type: 'VARCHAR' },
  { name: 'topic', type: 'VARCHAR' },
  { name: 'channel_id', type: 'INTEGER' },
  { name: 'schema', type: 'VARCHAR' },
  { name: 'schema_encoding', type: 'VARCHAR' },
  { name: 'message_encoding', type: 'VARCHAR' },
  { name: 'message_count', type: 'BIGINT' },
  { name: 'first_log_time', type: 'BIGINT' },
  { name: 'last_log_time', type: 'BIGINT' },
  /** The name the topic's table is queried by (not always the manifest's: see queryableTableNames). */
  { name: 'table_name', type: 'VARCHAR' },
  { name: 'decode_errors', type: 'BIGINT' },
  { name: 'out_of_order', type: 'BIGINT' },
  { name: 'gaps', type: 'BIGINT' },
  { name: 'median_period_ns', type: 'BIGINT' },
  { name: 'max_gap_ns', type: 'BIGINT' },
  { name: 'status', type: 'VARCHAR' },
  { name: 'reason', type: 'VARCHAR' },
];

export interface TableObjectRef extends PrunableObject {
  key: string;
  sha256: string;
  bytes: number;
}

export interface CatalogTables {
  recordings: CatalogValue[][];
  topics: CatalogValue[][];
  /** Every table besides `recordings` and `topics`, by the name it is queried by. */
  tables: Map<string, TableObjectRef[]>;
}

const big = (value: string | number | null): bigint | null => (value === null ? null : BigInt(value));

function recordingRow(m: Manifest, committedAt: Date | undefined): CatalogValue[] {
  return [
    m.recording_id,
    m.source.uri,
    BigInt(m.source.size),
    big(m.start_time),
    big(m.end_time),
    BigInt(m.message_count),
    committedAt === undefined ? null : BigInt(committedAt.getTime()) * 1000n,
    m.recovered,
    m.reason,
    m.profile,
    m.library,
  ];
}

/** One recording's part of the catalog tables, given the names its tables are queried by. */
interface RecordingRows {
  /** What the rows took from outside the manifest (commit time, the names its tables are queried by): when it differs, they are made again. */
  naming: string;
  recording: CatalogValue[];
  topics: CatalogValue[][];
  objects: [name: string, refs: TableObjectRef[]][];
}

/**
 * Rows of each manifest, kept while the manifest is (listings share parsed manifests): after a
 * commit only the new recording's rows are made, not every recording's again.
 */
const rowsOfManifest = new WeakMap<Manifest, RecordingRows>();

function recordingRows(m: Manifest, committedAt: Date | undefined, views: Map<string, string>, names: Map<string, string>): RecordingRows {
  const topicTables = m.topics.map((t) => (t.table === null ? null : (views.get(t.table) ?? names.get(t.table) ?? t.table)));
  // Everything the rows take from outside the manifest: its commit time and the names its tables are queried by.
  const naming = [String(committedAt?.getTime()), ...views.values(), ...topicTables.map(String)].join('\n');
  const known = rowsOfManifest.get(m);
  if (known !== undefined && known.naming === naming) return known;
  const objects: RecordingRows['objects'] = Object.entries(m.tables).map(([table, { objects: list }]) => [
    views.get(table)!,
    list.map((o) => ({
      key: o.key,
      sha256: o.sha256,
      bytes: o.bytes,
      recordingId: m.recording_id,
      topics: o.topics,
      minLogTime: big(o.min_log_time),
      maxLogTime: big(o.max_log_time),
    })),
  ]);
  const topics = m.topics.map((t, i) => [
    m.recording_id,
    t.topic,
    t.channel_id,
    t.schema,
    t.schema_encoding,
    t.message_encoding,
    BigInt(t.messages),
    big(t.first_log_time),
    big(t.last_log_time),
    topicTables[i] ?? null,
    BigInt(t.decode_errors),
    BigInt(t.out_of_order),
    BigInt(t.gaps),
    big(t.median_period_ns),
    big(t.max_gap_ns),
    t.status,
    t.reason,
  ]);
  const rows = { naming, recording: recordingRow(m, committedAt), topics, objects };
  rowsOfManifest.set(m, rows);
  return rows;
}

export function catalogTables(recordings: readonly CommittedRecording[]): CatalogTables {
  const { names, viewOf } = tableVersionsOf(recordings);
  const tables = new Map<string, TableObjectRef[]>();
  const topics: CatalogValue[][] = [];
  const recordingRowsList: CatalogValue[][] = [];
  for (const { manifest: m, committedAt } of recordings) {
    // Where this recording's rows of each table are queried: the view of its table's version.
    const views = new Map(Object.entries(m.tables).map(([table, spec]) => [table, viewOf(names.get(table)!, spec.operator, spec.fingerprint)]));
    const rows = recordingRows(m, committedAt, views, names);
    for (const [name, refs] of rows.objects) {
      const list = tables.get(name);
      if (list === undefined) tables.set(name, [...refs]);
      else for (const ref of refs) list.push(ref);
    }
    for (const row of rows.topics) topics.push(row);
    recordingRowsList.push(rows.recording);
  }
  return { recordings: recordingRowsList, topics, tables };
}

/** Tables whose name appears as a word in the SQL text, compared ignoring case as SQL does. */
export function mentionedTables(sql: string, tables: Iterable<string>): string[] {
  const words = new Set(sql.toLowerCase().match(/[a-z0-9_]+/g) ?? []);
  return [...tables].filter((t) => words.has(t.toLowerCase()));
}

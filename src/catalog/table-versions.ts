/**
 * The versions of each table across the committed recordings: a version is what made the rows
 * (operator name@version) and their shape (schema fingerprint). Two recordings whose message
 * definitions for the same schema name differ, or whose table an operator's new version wrote,
 * hold different versions of one table. A query sees each version as its own view, never two
 * shapes unioned: the table's name is its newest version (the one the latest commit wrote);
 * every other version is `<table>__v<12 hex>`. `mcapflow tables` lists them with their views.
 */
import { createHash } from 'node:crypto';
import { queryableTableNames } from '../domain/table-names.ts';
import type { CommittedRecording } from './catalog.ts';

export interface TableVersion {
  /** The name the table is queried by. */
  table: string;
  /** The name this version is queried by: `table` for the newest version, else `<table>__v<id>`. */
  view: string;
  operator: string;
  fingerprint: string;
  sortKeys: string[];
  recordings: number;
  rows: number;
  objects: number;
  bytes: number;
  /** When the newest recording holding this version committed (ISO 8601), when known. */
  lastCommitted: string | null;
}

/** Manifest table name → the name it is queried by (domain/table-names.ts), earliest commit first. */
function queriedTableNames(recordings: readonly CommittedRecording[]): Map<string, string> {
  const firstCommitted = new Map<string, number | undefined>();
  for (const { manifest, committedAt } of recordings) {
    for (const table of Object.keys(manifest.tables)) {
      const time = committedAt?.getTime();
      const known = firstCommitted.get(table);
      firstCommitted.set(table, known === undefined ? time : time === undefined ? known : Math.min(known, time));
    }
  }
  return queryableTableNames([...firstCommitted].map(([name, firstCommittedMs]) => ({ name, firstCommittedMs })));
}

function versionKey(table: string, operator: string, fingerprint: string): string {
  return `${table}\n${operator}\n${fingerprint}`;
}

/** The view of an older version: stable for as long as its operator and fingerprint are. */
function olderVersionView(table: string, operator: string, fingerprint: string): string {
  return `${table}__v${createHash('sha256').update(`${operator}\n${fingerprint}`).digest('hex').slice(0, 12)}`;
}

export interface TableVersions {
  /** Manifest table name → the name it is queried by (see queriedTableNames). */
  names: Map<string, string>;
  /** By table name, then newest version first. */
  versions: TableVersion[];
  /** The view a recording's table is queried by, from its queried name, operator and fingerprint. */
  viewOf: (table: string, operator: string, fingerprint: string) => string;
}

export function tableVersionsOf(committed: readonly CommittedRecording[]): TableVersions {
  const names = queriedTableNames(committed);
  const versions = new Map<string, TableVersion & { lastMs: number }>();
  for (const { manifest, committedAt } of committed) {
    for (const [name, table] of Object.entries(manifest.tables)) {
      const queried = names.get(name) ?? name;
      const id = versionKey(queried, table.operator, table.fingerprint);
      const v = versions.get(id) ?? {
        table: queried,
        view: queried,
        operator: table.operator,
        fingerprint: table.fingerprint,
        sortKeys: table.sort_keys,
        recordings: 0,
        rows: 0,
        objects: 0,
        bytes: 0,
        lastCommitted: null,
        lastMs: -Infinity,
      };
      v.recordings += 1;
      v.rows += table.rows;
      v.objects += table.objects.length;
      v.bytes += table.objects.reduce((n, o) => n + o.bytes, 0);
      const ms = committedAt?.getTime();
      if (ms !== undefined && ms > v.lastMs) {
        v.lastMs = ms;
        v.lastCommitted = new Date(ms).toISOString();
      }
      versions.set(id, v);
    }
  }
  const sorted = [...versions.values()].sort(
    (a, b) => a.table.localeCompare(b.table) || b.lastMs - a.lastMs || a.operator.localeCompare(b.operator) || a.fingerprint.localeCompare(b.fingerprint),
  );
  const views = new Map<string, string>();
  sorted.forEach((v, i) => {
    // The first of each table's entries is its newest version and keeps the table's name.
    if (i > 0 && sorted[i - 1]!.table === v.table) v.view = olderVersionView(v.table, v.operator, v.fingerprint);
    views.set(versionKey(v.table, v.operator, v.fingerprint), v.view);
  });
  return {
    names,
    versions: sorted.map(({ lastMs: _lastMs, ...v }) => v),
    viewOf: (table, operator, fingerprint) => views.get(versionKey(table, operator, fingerprint)) ?? table,
  };
}

/** One entry per table and version, by table name, then newest version first. */
export function tableVersions(committed: readonly CommittedRecording[]): TableVersion[] {
  return tableVersionsOf(committed).versions;
}

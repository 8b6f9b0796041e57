/**
 * The versions of each table across the committed recordings: a version is what made the rows
 * (operator name@version) and their shape (schema fingerprint). Two recordings whose message
 * definitions for the same schema name differ, or whose table an operator's new version wrote,
 * hold different versions of one table. `mcapflow tables` lists them; queries still see every
 * version of a table unioned by column name (issue 12: versions as separate views is not done).
 */
import type { CommittedRecording } from './catalog.ts';
import { queriedTableNames } from './catalog-tables.ts';

export interface TableVersion {
  /** The name the table is queried by. */
  table: string;
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

/** One entry per table and version, by table name, then newest version first. */
export function tableVersions(committed: readonly CommittedRecording[]): TableVersion[] {
  const names = queriedTableNames(committed);
  const versions = new Map<string, TableVersion & { lastMs: number }>();
  for (const { manifest, committedAt } of committed) {
    for (const [name, table] of Object.entries(manifest.tables)) {
      const queried = names.get(name) ?? name;
      const id = `${queried}\n${table.operator}\n${table.fingerprint}`;
      const v = versions.get(id) ?? {
        table: queried,
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
  return [...versions.values()]
    .sort((a, b) => a.table.localeCompare(b.table) || b.lastMs - a.lastMs || a.fingerprint.localeCompare(b.fingerprint))
    .map(({ lastMs: _lastMs, ...v }) => v);
}

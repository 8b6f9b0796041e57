/**
 * Table names. SQL (DuckDB) compares identifiers ignoring case, so every rule here does too:
 * two tables whose names differ only by case would be one name to a query.
 */
import { sha256Hex } from './hash.ts';

export const MESSAGES_TABLE = 'messages';
export const ATTACHMENTS_TABLE = 'attachments';
export const METADATA_TABLE = 'metadata';

/** Tables mcapflow itself defines; a schema table never takes one of these names, in any case. */
export const CATALOG_TABLES = [MESSAGES_TABLE, 'topics', 'recordings', ATTACHMENTS_TABLE, METADATA_TABLE] as const;

/** Tables a manifest may list under their own name (the others are built from the manifests). */
const RECORDING_TABLES: readonly string[] = [MESSAGES_TABLE, ATTACHMENTS_TABLE, METADATA_TABLE];

/** What every table name is: safe to use in SQL unquoted, and as a word in the SQL text. */
export const TABLE_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;

function isCatalogName(name: string): boolean {
  const lower = name.toLowerCase();
  return (CATALOG_TABLES as readonly string[]).includes(lower);
}

/**
 * Table name of a message schema: every non-alphanumeric character becomes `_`
 * (`sensor_msgs/msg/Imu` → `sensor_msgs_msg_Imu`); a name that is a catalog table's name in
 * any case gets `_schema` appended (`Recordings` → `Recordings_schema`).
 */
export function tableNameForSchema(schemaName: string, reserved: ReadonlySet<string> = new Set()): string {
  const base = schemaName.replace(/[^A-Za-z0-9]/g, '_');
  const name = base === '' ? 'schema_' : /^[0-9]/.test(base) ? `t_${base}` : base;
  // Operators' own tables (chunks, imu_windows, …) are reserved like the catalog's.
  return isCatalogName(name) || reserved.has(name.toLowerCase()) ? `${name}_schema` : name;
}

/** A committed table as the catalog sees it: its name in the manifests and when it first appeared. */
export interface CommittedTableName {
  name: string;
  /** Earliest commit time (ms since the epoch) of a recording listing it; unknown sorts last. */
  firstCommittedMs: number | undefined;
}

/**
 * The name each committed table is queried by, keyed by its name in the manifests. Names that
 * are unique ignoring case are kept as they are. Of names equal ignoring case (`pkg_Foo` and
 * `pkg_foo`), the one committed first keeps its name (ties: code-point order) and each other
 * one becomes `<name>_<first 8 hex digits of sha256(name)>` (`pkg_foo_<8 hex>`). A schema
 * table committed under a catalog table's name before that was reserved (`Recordings`) is
 * queried as `tableNameForSchema` names it today (`Recordings_schema`). The answer depends
 * only on the names and their commit times, never on listing order.
 */
export function queryableTableNames(tables: readonly CommittedTableName[]): Map<string, string> {
  const candidateOf = (name: string) => (RECORDING_TABLES.includes(name) || !isCatalogName(name) ? name : `${name}_schema`);
  // Earliest commit per candidate: an old `Recordings` and a new `Recordings_schema` are one table.
  const firstByCandidate = new Map<string, number>();
  for (const { name, firstCommittedMs } of tables) {
    const candidate = candidateOf(name);
    const time = firstCommittedMs ?? Number.POSITIVE_INFINITY;
    firstByCandidate.set(candidate, Math.min(time, firstByCandidate.get(candidate) ?? Number.POSITIVE_INFINITY));
  }
  const byFolded = new Map<string, string[]>();
  for (const candidate of firstByCandidate.keys()) {
    const folded = candidate.toLowerCase();
    byFolded.set(folded, [...(byFolded.get(folded) ?? []), candidate]);
  }
  const queryable = new Map<string, string>();
  const taken = new Set<string>(CATALOG_TABLES.filter((t) => !RECORDING_TABLES.includes(t)));
  const renamed: string[] = [];
  for (const spellings of byFolded.values()) {
    spellings.sort((a, b) => firstByCandidate.get(a)! - firstByCandidate.get(b)! || (a < b ? -1 : a > b ? 1 : 0));
    queryable.set(spellings[0]!, spellings[0]!);
    taken.add(spellings[0]!.toLowerCase());
    renamed.push(...spellings.slice(1));
  }
  // A suffixed name could still meet a real one (a schema named `pkg_foo_1a2b3c4d`): then the
  // suffix grows until it is unique, so no name ever hides another.
  for (const spelling of renamed.sort()) {
    const hex = sha256Hex(spelling);
    let name = '';
    for (let digits = 8; name === '' || taken.has(name.toLowerCase()); digits += 8) {
      name = `${spelling}_${digits <= 64 ? hex.slice(0, digits) : `${hex}_${digits}`}`;
    }
    taken.add(name.toLowerCase());
    queryable.set(spelling, name);
  }
  return new Map(tables.map(({ name }) => [name, queryable.get(candidateOf(name))!]));
}

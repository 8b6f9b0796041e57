/**
 * The parse tree of a statement, as DuckDB's `json_serialize_sql` gives it, for pruning
 * (query-pruning.ts). Parsing binds nothing and evaluates nothing; one small in-memory
 * DuckDB per process does it, off the event loop.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

/** Longer statements are not parsed for pruning (they read every object, as before). */
const MAX_PARSED_SQL_CHARS = 64 * 1024;

let parser: Promise<DuckDBConnection> | undefined;

async function connection(): Promise<DuckDBConnection> {
  parser ??= DuckDBInstance.create(':memory:', { threads: '1', memory_limit: '64MiB', enable_external_access: 'false' }).then((db) => db.connect());
  return parser;
}

/** The parse tree of `sql`, or undefined when it is too long or DuckDB cannot serialize it. */
export async function parseSql(sql: string): Promise<unknown> {
  if (sql.length > MAX_PARSED_SQL_CHARS) return undefined;
  try {
    const reader = await (await connection()).runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql]);
    const text = reader.getRows()[0]?.[0];
    return typeof text === 'string' ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    return undefined;
  }
}

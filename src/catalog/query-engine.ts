/**
 * SQL over the committed tables with DuckDB. `recordings` and `topics` come from the
 * manifests; `messages` and the schema tables are views over local copies of the Parquet
 * objects, fetched only for the tables a statement mentions.
 */
import { DuckDBInstance, StatementType, type DuckDBConnection } from '@duckdb/node-api';
import { McapflowError } from '../errors.ts';
import type { CommittedRecording, ObjectCache } from './catalog.ts';

export interface QueryResult {
  columns: string[];
  /** Values as JSON: 64-bit integers as numbers when they fit in 2^53, else strings. */
  rows: unknown[][];
  /** True when rows were cut at the row limit (sandboxed queries only). */
  truncated?: boolean;
}

/** Limits of a query run on behalf of someone else (the admin API). */
export interface Sandbox {
  /** The only directory DuckDB may read: the cache of committed table objects. */
  allowedDirectory: string;
  maxRows: number;
  timeoutMs: number;
}

function refused(message: string): McapflowError {
  return new McapflowError('QUERY_REFUSED', message);
}

const RECORDINGS_DDL = `CREATE TABLE recordings (
  recording_id VARCHAR, source_uri VARCHAR, size BIGINT, start_time BIGINT, end_time BIGINT,
  message_count BIGINT, committed_at TIMESTAMPTZ, recovered BOOLEAN, reason VARCHAR,
  profile VARCHAR, library VARCHAR)`;

const TOPICS_DDL = `CREATE TABLE topics (
  recording_id VARCHAR, topic VARCHAR, channel_id INTEGER, schema VARCHAR, schema_encoding VARCHAR,
  message_encoding VARCHAR, message_count BIGINT, first_log_time BIGINT, last_log_time BIGINT,
  table_name VARCHAR, decode_errors BIGINT, out_of_order BIGINT, gaps BIGINT, median_period_ns BIGINT,
  max_gap_ns BIGINT, status VARCHAR, reason VARCHAR)`;

const EMPTY_MESSAGES_DDL = `CREATE TABLE messages (
  recording_id VARCHAR, topic VARCHAR, channel_id USMALLINT, log_time BIGINT, publish_time BIGINT,
  sequence UINTEGER, size UINTEGER, chunk_offset BIGINT, offset_in_chunk BIGINT)`;

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function quoteString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function big(value: string | null): bigint | null {
  return value === null ? null : BigInt(value);
}

/** Table names of every committed table, mapped to the objects that make them up. */
export function tableObjects(recordings: CommittedRecording[]): Map<string, { key: string; sha256: string }[]> {
  const tables = new Map<string, { key: string; sha256: string }[]>();
  for (const { manifest } of recordings) {
    for (const [table, objects] of Object.entries(manifest.tables)) {
      const list = tables.get(table) ?? [];
      list.push(...objects.map((o) => ({ key: o.key, sha256: o.sha256 })));
      tables.set(table, list);
    }
  }
  return tables;
}

/** Tables whose name appears as a word in the SQL text. */
export function mentionedTables(sql: string, tables: Iterable<string>): string[] {
  const lower = sql.toLowerCase();
  return [...tables].filter((t) => new RegExp(`(^|[^a-z0-9_])${t.toLowerCase()}($|[^a-z0-9_])`).test(lower));
}

export function toJsonValue(value: unknown): unknown {
  if (typeof value === 'bigint') return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonValue(v)]));
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return value;
}

export class QueryEngine {
  readonly #instance: DuckDBInstance;
  readonly #connection: DuckDBConnection;

  private constructor(instance: DuckDBInstance, connection: DuckDBConnection) {
    this.#instance = instance;
    this.#connection = connection;
  }

  /** An engine whose catalog holds `recordings`, `topics` and the tables `sql` mentions. */
  static async open(recordings: CommittedRecording[], cache: ObjectCache, sql: string): Promise<QueryEngine> {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const engine = new QueryEngine(instance, connection);
    try {
      await engine.#loadManifests(recordings);
      const objects = tableObjects(recordings);
      if (!objects.has('messages')) await connection.run(EMPTY_MESSAGES_DDL);
      for (const table of mentionedTables(sql, objects.keys())) {
        const paths: string[] = [];
        for (const o of objects.get(table)!) paths.push(await cache.path(o.key, o.sha256));
        await connection.run(`CREATE VIEW ${quoteIdent(table)} AS SELECT * FROM read_parquet([${paths.map(quoteString).join(', ')}], union_by_name = true)`);
      }
    } catch (error) {
      engine.close();
      throw error;
    }
    return engine;
  }

  async #loadManifests(recordings: CommittedRecording[]): Promise<void> {
    const c = this.#connection;
    await c.run(RECORDINGS_DDL);
    await c.run(TOPICS_DDL);
    for (const { manifest: m, committedAt } of recordings) {
      await c.run('INSERT INTO recordings VALUES ($1, $2, $3, $4, $5, $6, $7::TIMESTAMPTZ, $8, $9, $10, $11)', [
        m.recording_id,
        m.source.uri,
        BigInt(m.source.size),
        big(m.start_time),
        big(m.end_time),
        BigInt(m.message_count),
        committedAt?.toISOString() ?? null,
        m.recovered,
        m.reason,
        m.profile,
        m.library,
      ]);
      for (const t of m.topics) {
        await c.run('INSERT INTO topics VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)', [
          m.recording_id,
          t.topic,
          t.channel_id,
          t.schema,
          t.schema_encoding,
          t.message_encoding,
          BigInt(t.messages),
          big(t.first_log_time),
          big(t.last_log_time),
          t.table,
          BigInt(t.decode_errors),
          BigInt(t.out_of_order ?? 0),
          BigInt(t.gaps ?? 0),
          big(t.median_period_ns ?? null),
          big(t.max_gap_ns ?? null),
          t.status,
          t.reason,
        ]);
      }
    }
  }

  /**
   * Read-only SQL for untrusted callers: exactly one SELECT (or WITH … SELECT) statement,
   * file access limited to the object cache and configuration locked (no COPY, ATTACH,
   * INSTALL, read_csv of arbitrary files), at most `maxRows` rows, at most `timeoutMs`.
   */
  async runSandboxed(sql: string, sandbox: Sandbox): Promise<QueryResult> {
    const c = this.#connection;
    const dir = sandbox.allowedDirectory.replace(/'/g, "''");
    await c.run(`SET allowed_directories = ['${dir}']`);
    await c.run('SET enable_external_access = false');
    await c.run('SET lock_configuration = true');
    let extracted;
    try {
      extracted = await c.extractStatements(sql);
    } catch (error) {
      throw new McapflowError('QUERY_FAILED', error instanceof Error ? error.message : String(error));
    }
    if (extracted.count !== 1) throw refused(`exactly one SQL statement is allowed, got ${extracted.count}`);
    let prepared;
    try {
      prepared = await extracted.prepare(0);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (/Permission Error/.test(message)) throw refused(`only the catalog's tables can be read: ${message.split('\n')[0]}`);
      throw new McapflowError('QUERY_FAILED', message);
    }
    if (prepared.statementType !== StatementType.SELECT) {
      throw refused(`only SELECT (or WITH … SELECT) statements are allowed, not ${StatementType[prepared.statementType] ?? 'this kind of statement'}`);
    }
    const timer = setTimeout(() => c.interrupt(), sandbox.timeoutMs);
    try {
      const reader = await prepared.streamAndReadUntil(sandbox.maxRows + 1);
      const rows = reader.getRowsJS();
      return {
        columns: reader.columnNames(),
        rows: rows.slice(0, sandbox.maxRows).map((row) => row.map(toJsonValue)),
        truncated: rows.length > sandbox.maxRows,
      };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (/INTERRUPT/i.test(message)) throw refused(`the query ran longer than the ${sandbox.timeoutMs} ms limit`);
      if (/Permission Error/.test(message)) throw refused(`only the catalog's tables can be read: ${message.split('\n')[0]}`);
      throw new McapflowError('QUERY_FAILED', message);
    } finally {
      clearTimeout(timer);
    }
  }

  async run(sql: string): Promise<QueryResult> {
    try {
      const reader = await this.#connection.runAndReadAll(sql);
      return { columns: reader.columnNames(), rows: reader.getRowsJS().map((row) => row.map(toJsonValue)) };
    } catch (error) {
      throw new McapflowError('QUERY_FAILED', error instanceof Error ? error.message : String(error));
    }
  }

  close(): void {
    this.#connection.closeSync();
    this.#instance.closeSync();
  }
}

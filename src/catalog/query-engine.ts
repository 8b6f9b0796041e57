/**
 * SQL over the committed tables with DuckDB. `recordings` and `topics` are built from the
 * manifests in bulk (one appender each); `messages` and the schema tables are views over
 * local copies of the Parquet objects, made only for the tables a statement mentions.
 */
import { mkdirSync } from 'node:fs';
import { DuckDBInstance, DuckDBTimestampTZValue, StatementType, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import { McapflowError } from '../errors.ts';
import { MESSAGES_TABLE } from '../domain/table-names.ts';
import { RECORDINGS_COLUMNS, TOPICS_COLUMNS, type CatalogColumn, type CatalogValue } from './catalog-tables.ts';
import { BoundedJson, OverBudget, toJsonValue, writeRows } from './result-json.ts';

export interface QueryResult {
  columns: string[];
  /** Values as JSON: 64-bit integers as numbers when they fit in 2^53, else strings. */
  rows: unknown[][];
  /** True when rows were cut at the row limit (sandboxed queries only). */
  truncated?: boolean;
}

/** DuckDB's resources for one query. Unset limits keep DuckDB's defaults. */
export interface EngineSettings {
  /** Where DuckDB spills; one directory per engine (engines would delete each other's files). */
  tempDirectory: string;
  memoryLimitMb?: number | undefined;
  threads?: number | undefined;
  maxTempMb?: number | undefined;
}

/** A catalog ready to load: rows of the built tables, local Parquet paths of each view. */
export interface LoadedCatalog {
  /** Names the committed manifests the rows come from: equal versions, equal `recordings` and `topics`. */
  version: string;
  recordings: CatalogValue[][];
  topics: CatalogValue[][];
  views: { name: string; paths: string[] }[];
  /** Views name `s3://` objects: the statements that let DuckDB read them, and the one prefix a sandbox may read there. */
  inPlace?: { setup: string[]; allowedPrefix: string } | undefined;
}

/** Limits of a query run on behalf of someone else (the admin API); its time limit is the caller's. */
export interface Sandbox {
  /** The only directory DuckDB may read: the cache of committed table objects. */
  allowedDirectory: string;
  maxRows: number;
  maxResultBytes: number;
}

/**
 * The statements that lock an engine down for untrusted SQL: files and remote objects only
 * under `allowed`, no other external access, and no setting changed afterwards.
 */
export function lockdownStatements(allowed: readonly string[]): string[] {
  return [`SET allowed_directories = [${allowed.map(quoteString).join(', ')}]`, 'SET enable_external_access = false', 'SET lock_configuration = true'];
}

/** Table functions a sandboxed statement may not call: they describe the engine's credentials (key id, endpoint). */
const SECRET_FUNCTIONS = /\b(duckdb_secrets|which_secret)\b/i;

function refused(message: string): McapflowError {
  return new McapflowError('QUERY_REFUSED', message);
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

const EMPTY_MESSAGES_DDL = `CREATE TABLE messages (
  recording_id VARCHAR, topic VARCHAR, channel_id USMALLINT, log_time BIGINT, publish_time BIGINT,
  sequence UINTEGER, size UINTEGER, chunk_offset BIGINT, offset_in_chunk BIGINT)`;

function mib(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}

function append(appender: DuckDBAppender, column: CatalogColumn, value: CatalogValue): void {
  if (value === null) return appender.appendNull();
  switch (column.type) {
    case 'VARCHAR':
      return appender.appendVarchar(String(value));
    case 'BIGINT':
      return appender.appendBigInt(BigInt(value));
    case 'INTEGER':
      return appender.appendInteger(Number(value));
    case 'BOOLEAN':
      return appender.appendBoolean(Boolean(value));
    case 'TIMESTAMPTZ':
      return appender.appendTimestampTZ(new DuckDBTimestampTZValue(BigInt(value)));
  }
}

async function createTable(connection: DuckDBConnection, name: string, columns: readonly CatalogColumn[], rows: CatalogValue[][]): Promise<void> {
  await connection.run(`CREATE TABLE ${name} (${columns.map((c) => `${c.name} ${c.type}`).join(', ')})`);
  const appender = await connection.createAppender(name);
  try {
    for (const row of rows) {
      for (let c = 0; c < columns.length; c++) append(appender, columns[c]!, row[c] ?? null);
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

/** The error a user reads for a DuckDB failure, naming the limit when one was reached. */
function queryError(error: unknown, settings: EngineSettings): McapflowError {
  const message = error instanceof Error ? error.message : String(error);
  if (/Permission Error/.test(message)) return refused(`only the catalog's tables can be read: ${message.split('\n')[0]}`);
  if (/max_temp_directory_size/.test(message)) {
    return new McapflowError(
      'QUERY_TOO_LARGE',
      `the query needs more than ${settings.maxTempMb ?? '?'} MiB of temporary disk (MCAPFLOW_QUERY_TEMP_MAX_MB): ${message.split('\n')[0]}`,
    );
  }
  if (/Out of Memory Error/.test(message)) {
    return new McapflowError(
      'QUERY_TOO_LARGE',
      `the query needs more than its ${settings.memoryLimitMb ?? '?'} MiB memory limit (MCAPFLOW_QUERY_MEMORY_MB): ${message.split('\n')[0]}; select fewer rows or columns, or aggregate`,
    );
  }
  return new McapflowError('QUERY_FAILED', message);
}

export class QueryEngine {
  readonly #instance: DuckDBInstance;
  readonly #connection: DuckDBConnection;
  readonly #settings: EngineSettings;
  readonly #remotePrefix: string | undefined;
  #views = new Set<string>();
  #emptyMessages = false;
  #locked = false;

  private constructor(instance: DuckDBInstance, connection: DuckDBConnection, settings: EngineSettings, remotePrefix: string | undefined) {
    this.#instance = instance;
    this.#connection = connection;
    this.#settings = settings;
    this.#remotePrefix = remotePrefix;
  }

  /** An engine whose catalog holds `recordings`, `topics`, `messages` and the given views. */
  static async open(catalog: LoadedCatalog, settings: EngineSettings): Promise<QueryEngine> {
    mkdirSync(settings.tempDirectory, { recursive: true });
    const options: Record<string, string> = {};
    if (settings.memoryLimitMb !== undefined) options.memory_limit = `${settings.memoryLimitMb}MiB`;
    if (settings.threads !== undefined) options.threads = String(settings.threads);
    const instance = await DuckDBInstance.create(':memory:', options);
    const connection = await instance.connect();
    const engine = new QueryEngine(instance, connection, settings, catalog.inPlace?.allowedPrefix);
    try {
      // Set, not passed to create(): DuckDB 1.5 shows a max_temp_directory_size given to
      // create() but does not enforce it (measured: a spill sailed past 8 MiB).
      await connection.run(`SET temp_directory = ${quoteString(settings.tempDirectory)}`);
      if (settings.maxTempMb !== undefined) await connection.run(`SET max_temp_directory_size = '${settings.maxTempMb}MiB'`);
      for (const statement of catalog.inPlace?.setup ?? []) await connection.run(statement);
      await createTable(connection, 'recordings', RECORDINGS_COLUMNS, catalog.recordings);
      await createTable(connection, 'topics', TOPICS_COLUMNS, catalog.topics);
      await engine.replaceViews(catalog.views);
    } catch (error) {
      engine.close();
      throw error;
    }
    return engine;
  }

  /**
   * Makes `views` the only views: each over its Parquet files, any other view dropped (a later
   * statement must not see an earlier one's pruned objects), and `messages` an empty table when
   * no view names it, so that SQL over a catalog without messages still binds.
   */
  async replaceViews(views: LoadedCatalog['views']): Promise<void> {
    const c = this.#connection;
    const wanted = new Set(views.map((v) => v.name));
    for (const name of this.#views) if (!wanted.has(name)) await c.run(`DROP VIEW IF EXISTS ${quoteIdent(name)}`);
    const emptyMessages = !wanted.has(MESSAGES_TABLE);
    if (this.#emptyMessages && !emptyMessages) await c.run(`DROP TABLE ${MESSAGES_TABLE}`);
    if (!this.#emptyMessages && emptyMessages) await c.run(EMPTY_MESSAGES_DDL);
    this.#emptyMessages = emptyMessages;
    for (const view of views) {
      await c.run(
        `CREATE OR REPLACE VIEW ${quoteIdent(view.name)} AS SELECT * FROM read_parquet([${view.paths.map(quoteString).join(', ')}], union_by_name = true)`,
      );
    }
    this.#views = wanted;
  }

  /**
   * Read-only SQL for untrusted callers: exactly one SELECT (or WITH … SELECT) statement,
   * file access limited to the object cache and configuration locked (no COPY, ATTACH,
   * INSTALL, read_csv of arbitrary files), at most `maxRows` rows and `maxResultBytes` of
   * JSON. Answers the JSON text `{"columns": [...], "rows": [...], "truncated": bool}`.
   */
  async runSandboxed(sql: string, sandbox: Sandbox): Promise<string> {
    const c = this.#connection;
    // Locked once and for good: the engine serves the next statements as it is.
    if (!this.#locked) {
      const allowed = [sandbox.allowedDirectory, ...(this.#remotePrefix === undefined ? [] : [this.#remotePrefix])];
      for (const statement of lockdownStatements(allowed)) await c.run(statement);
      this.#locked = true;
    }
    if (SECRET_FUNCTIONS.test(sql)) throw refused('the engine’s secrets cannot be listed (duckdb_secrets, which_secret)');
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
      throw queryError(error, this.#settings);
    }
    if (prepared.statementType !== StatementType.SELECT) {
      throw refused(`only SELECT (or WITH … SELECT) statements are allowed, not ${StatementType[prepared.statementType] ?? 'this kind of statement'}`);
    }
    const out = new BoundedJson(sandbox.maxResultBytes);
    try {
      const result = await prepared.stream();
      out.push(`{"columns":${JSON.stringify(result.columnNames())},"rows":[`);
      let truncated = false;
      for (let chunk = await result.fetchChunk(); chunk !== null && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
        const take = Math.min(chunk.rowCount, sandbox.maxRows - out.rows);
        writeRows(chunk, take, out);
        if (take < chunk.rowCount) {
          truncated = true;
          break;
        }
      }
      out.push(`],"truncated":${truncated}}`);
      return out.text();
    } catch (error) {
      if (error instanceof OverBudget) {
        throw new McapflowError(
          'QUERY_TOO_LARGE',
          `the answer is larger than the ${mib(sandbox.maxResultBytes)} limit (MCAPFLOW_QUERY_MAX_RESULT_BYTES) after ${error.rows} rows; select fewer rows or columns (LIMIT), or aggregate`,
        );
      }
      throw queryError(error, this.#settings);
    }
  }

  async run(sql: string): Promise<QueryResult> {
    try {
      const reader = await this.#connection.runAndReadAll(sql);
      return { columns: reader.columnNames(), rows: reader.getRowsJS().map((row) => row.map(toJsonValue)) };
    } catch (error) {
      throw queryError(error, this.#settings);
    }
  }

  close(): void {
    this.#connection.closeSync();
    this.#instance.closeSync();
  }
}

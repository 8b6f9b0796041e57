/**
 * SQL for operators (`batch.duckdb()`): an in-process DuckDB, one per process, in which each
 * input table is a view over Parquet — the committed files themselves for table operators,
 * a temporary file of the batch for message operators. A query's rows come back as Arrow
 * through Parquet, which keeps every type (nested, unsigned, 64-bit) exactly.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type * as arrow from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { tableFromIpc } from '../columnar/arrow-columns.ts';
import { encodeParquet } from '../columnar/parquet.ts';
import { McapflowError, describeError } from '../errors.ts';
import type { SqlSession } from '../sdk/operator.ts';

export interface SqlSettings {
  /** Directory for temporary files (batch tables, results, DuckDB's spill files). */
  tempDir: string;
  memoryMb: number;
  threads: number;
}

/** One DuckDB per temp directory: a process has one (tests start several homes in one process). */
const instances = new Map<string, Promise<DuckDBInstance>>();

function duckdb(settings: SqlSettings): Promise<DuckDBInstance> {
  let instance = instances.get(settings.tempDir);
  if (instance === undefined) {
    instance = DuckDBInstance.create(':memory:', {
      memory_limit: `${settings.memoryMb}MB`,
      threads: String(settings.threads),
      temp_directory: join(settings.tempDir, 'duckdb'),
    });
    instances.set(settings.tempDir, instance);
  }
  return instance;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function quoteString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

export interface OpenSession extends SqlSession {
  close(): Promise<void>;
}

/** A session whose views are `views` (table name → Parquet files) or, for Arrow inputs, written first. */
export async function openSqlSession(
  settings: SqlSettings,
  inputs: { parquet?: Record<string, string[]>; arrow?: Record<string, arrow.Table>; aliases?: Record<string, string> },
): Promise<OpenSession> {
  mkdirSync(settings.tempDir, { recursive: true });
  const connection: DuckDBConnection = await (await duckdb(settings)).connect();
  const dir = mkdtempSync(join(settings.tempDir, 'sql-'));
  const views: Record<string, string[]> = { ...inputs.parquet };
  for (const [name, table] of Object.entries(inputs.arrow ?? {})) {
    const path = join(dir, `${Object.keys(views).length}.parquet`);
    writeFileSync(path, encodeParquet(table, { rowGroupRows: 131_072 }));
    views[name] = [path];
  }
  // A view per table, in this session's own schema, so concurrent sessions do not see each other's.
  const schema = `s_${dir.replace(/[^A-Za-z0-9]/g, '').slice(-12)}`;
  await connection.run(`CREATE SCHEMA ${schema}`);
  await connection.run(`SET search_path = '${schema}'`);
  const create = async (name: string, files: string[]) =>
    connection.run(`CREATE VIEW ${schema}.${quoteIdent(name)} AS SELECT * FROM read_parquet([${files.map(quoteString).join(', ')}], union_by_name = true)`);
  for (const [name, files] of Object.entries(views)) await create(name, files);
  for (const [alias, name] of Object.entries(inputs.aliases ?? {})) await create(alias, views[name]!);
  let results = 0;
  return {
    async query(sql) {
      const out = join(dir, `result-${results++}.parquet`);
      try {
        await connection.run(`COPY (${sql}) TO ${quoteString(out)} (FORMAT parquet)`);
      } catch (error) {
        throw new McapflowError('OPERATOR_FAILED', `SQL failed: ${describeError(error).split('\n')[0]}`);
      }
      return tableFromIpc(readParquet(readFileSync(out)).intoIPCStream());
    },
    async close() {
      await connection.run(`DROP SCHEMA ${schema} CASCADE`).catch(() => {});
      connection.closeSync();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

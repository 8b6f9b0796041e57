/**
 * A table's bytes in storage: span parts (Arrow IPC, in file order) on their way to Parquet, and
 * the Parquet files themselves — about MCAPFLOW_PARQUET_TARGET_BYTES each, so per recording and
 * table at most one (the last) is small, rows sorted by the table's sort key so that readers
 * prune row groups by their statistics.
 */
import * as arrow from 'apache-arrow';
import { emptyTable, tableFromIpc, tableToIpc } from '../columnar/arrow-columns.ts';
import { encodeParquet, encodeParquetParts } from '../columnar/parquet.ts';
import { orderBy, takeRows } from '../columnar/take.ts';
import { objectKey } from '../domain/layout.ts';
import type { PartRef, StoredObject, TableObject } from '../domain/work.ts';
import { StorageError } from '../errors.ts';
import type { TableSpec } from '../sdk/operator.ts';
import { writeObject, type WorkContext } from './context.ts';

/** The column rows are ordered by: the spec's first sort key, else log_time when present. */
export function sortColumn(spec: TableSpec): string | undefined {
  const key = spec.sortKeys?.[0] ?? 'log_time';
  const field = spec.schema.fields.find((f) => f.name === key);
  return field !== undefined && arrow.DataType.isInt(field.type) && field.type.bitWidth === 64 ? key : undefined;
}

/** `table` with its rows in order of `column`; itself when they already are. */
export function sorted(table: arrow.Table, column: string | undefined): arrow.Table {
  if (column === undefined || table.numRows < 2) return table;
  const order = orderBy(table, column);
  return order === undefined ? table : takeRows(table, order);
}

/** Smallest and largest value of an Int64 column (log_time), as decimal strings. */
export function int64Range(table: arrow.Table, column = 'log_time'): { min: string; max: string } | null {
  const vector = table.getChild(column);
  if (vector === null || table.numRows === 0 || !arrow.DataType.isInt(vector.type) || vector.type.bitWidth !== 64) return null;
  let min: bigint | undefined;
  let max: bigint | undefined;
  for (const data of vector.data) {
    const values = data.values as BigInt64Array;
    for (let i = 0; i < data.length; i++) {
      const v = values[i]!;
      if (min === undefined || v < min) min = v;
      if (max === undefined || v > max) max = v;
    }
  }
  return { min: min!.toString(), max: max!.toString() };
}

/**
 * Writes one span's rows of a table as a part, in file order: the `messages` table's order is
 * what its timing quality (out-of-order messages) is measured on; convert sorts.
 */
export async function writePart(ctx: WorkContext, address: string, table: string, rows: arrow.Table): Promise<PartRef> {
  const stored = await writeObject(ctx, objectKey('parts', address, 'arrow'), tableToIpc(rows), { contentType: 'application/vnd.apache.arrow.stream' });
  const range = int64Range(rows);
  return { table, key: stored.key, rows: rows.numRows, bytes: stored.bytes, minLogTime: range?.min ?? null, maxLogTime: range?.max ?? null };
}

export async function readPart(ctx: WorkContext, part: PartRef): Promise<arrow.Table> {
  const bytes = await ctx.store.get(ctx.settings.derivedBucket, part.key, 'derived');
  if (bytes === undefined) throw new StorageError(`part ${part.key} of table ${part.table} is missing`, undefined, true);
  return tableFromIpc(bytes);
}

/** Parts, in order, in groups of about `targetBytes`. */
export function groupParts(parts: readonly PartRef[], targetBytes: number): PartRef[][] {
  const groups: PartRef[][] = [];
  let current: PartRef[] = [];
  let bytes = 0;
  for (const part of parts) {
    if (current.length > 0 && bytes + part.bytes > targetBytes) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(part);
    bytes += part.bytes;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/** Writes one Parquet file of a table; `address` names it by everything that shapes its bytes. */
export async function writeTableFile(ctx: WorkContext, address: string, data: arrow.Table, spec: TableSpec): Promise<TableObject> {
  const { parquetRowGroupRows } = ctx.settings;
  const rows = data.numRows === 0 ? emptyTable(spec.schema.fields) : data;
  const range = int64Range(rows);
  const stats = { rows: rows.numRows, minLogTime: range?.min ?? null, maxLogTime: range?.max ?? null, topics: topicsOf(rows) };
  return storeTableFile(ctx, address, encodeParquet(rows, { rowGroupRows: parquetRowGroupRows }), stats);
}

/** Stores a table's Parquet bytes under their address, with the statistics readers prune by. */
async function storeTableFile(ctx: WorkContext, address: string, body: Uint8Array, stats: Omit<TableObject, keyof StoredObject>): Promise<TableObject> {
  const stored = await writeObject(ctx, objectKey('tables', address, 'parquet'), body, { contentType: 'application/vnd.apache.parquet' });
  return { ...stored, ...stats };
}

/** Past this many distinct topics an object's topics are not listed (it is then read for any topic). */
const MAX_LISTED_TOPICS = 256;

/** The distinct topics of a table's rows, for pruning by topic; null when unknown. */
export function topicsOf(table: arrow.Table): string[] | null {
  const column = table.getChild('topic');
  if (column === null || !arrow.DataType.isUtf8(column.type)) return null;
  const topics = new Set<string>();
  for (let i = 0; i < table.numRows; i++) {
    topics.add(column.get(i) as string);
    if (topics.size > MAX_LISTED_TOPICS) return null;
  }
  return [...topics].sort();
}

/**
 * Whether a group's parts can be written one at a time, each sorted alone: nothing to sort by,
 * or their log_time ranges follow one another (the usual case: recorders write in time order),
 * so that sorting each part sorts the file. Else the group is sorted as a whole.
 */
function sortsPartByPart(group: readonly PartRef[], column: string | undefined): boolean {
  if (column === undefined) return true;
  if (column !== 'log_time') return false;
  let previous: bigint | undefined;
  for (const part of group) {
    if (part.rows === 0) continue;
    if (part.minLogTime === null || part.maxLogTime === null) return false;
    if (previous !== undefined && BigInt(part.minLogTime) < previous) return false;
    previous = BigInt(part.maxLogTime);
  }
  return true;
}

/**
 * Parts of one table, in span order, as Parquet files, each sorted by the table's sort column.
 * A file's parts are read and encoded one at a time when sorting each alone sorts the file
 * (sortsPartByPart): a worker then holds one part and one row group, not a file's worth; else
 * the group is read whole and sorted. `addressOf` names the file of a group of parts.
 */
export async function convertParts(
  ctx: WorkContext,
  spec: TableSpec,
  parts: readonly PartRef[],
  addressOf: (file: number, group: readonly PartRef[]) => string,
  onTable?: (data: arrow.Table) => void,
): Promise<TableObject[]> {
  const column = sortColumn(spec);
  const groups = parts.length > 0 ? groupParts(parts, ctx.settings.parquetTargetBytes) : [[]];
  const objects: TableObject[] = [];
  for (const [file, group] of groups.entries()) {
    const address = addressOf(file, group);
    if (group.some((p) => p.rows > 0) && sortsPartByPart(group, column)) {
      objects.push(await streamTableFile(ctx, address, group, column, onTable));
      continue;
    }
    const tables: arrow.Table[] = [];
    for (const part of group) tables.push(await readPart(ctx, part));
    for (const t of tables) onTable?.(t);
    const merged = tables.length > 0 ? new arrow.Table(tables.flatMap((t) => t.batches)) : emptyTable(spec.schema.fields);
    objects.push(await writeTableFile(ctx, address, sorted(merged, column), spec));
  }
  return objects;
}

/** {@link writeTableFile} of a group's parts, read, sorted and encoded one at a time; the object's statistics gathered on the way. */
async function streamTableFile(
  ctx: WorkContext,
  address: string,
  group: readonly PartRef[],
  column: string | undefined,
  onTable?: (data: arrow.Table) => void,
): Promise<TableObject> {
  // Gathered as the parts go by: what writeTableFile reads off the whole table.
  const seen = { rows: 0, min: undefined as bigint | undefined, max: undefined as bigint | undefined, topics: new Set<string>() as Set<string> | null };
  async function* partsInOrder(): AsyncGenerator<arrow.Table> {
    for (const part of group) {
      const table = await readPart(ctx, part);
      onTable?.(table);
      const rowsInOrder = sorted(table, column);
      seen.rows += rowsInOrder.numRows;
      const range = int64Range(rowsInOrder);
      if (range !== null) {
        if (seen.min === undefined || BigInt(range.min) < seen.min) seen.min = BigInt(range.min);
        if (seen.max === undefined || BigInt(range.max) > seen.max) seen.max = BigInt(range.max);
      }
      const topics = seen.topics === null ? null : topicsOf(rowsInOrder);
      if (topics === null) seen.topics = null;
      else for (const t of topics) seen.topics!.add(t);
      if (seen.topics !== null && seen.topics.size > MAX_LISTED_TOPICS) seen.topics = null;
      yield rowsInOrder;
    }
  }
  const body = await encodeParquetParts(partsInOrder(), { rowGroupRows: ctx.settings.parquetRowGroupRows });
  return storeTableFile(ctx, address, body, {
    rows: seen.rows,
    minLogTime: seen.min?.toString() ?? null,
    maxLogTime: seen.max?.toString() ?? null,
    topics: seen.topics === null ? null : [...seen.topics].sort(),
  });
}

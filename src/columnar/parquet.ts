/**
 * Parquet encoding through parquet-wasm. Output is deterministic for the same Arrow input
 * (no timestamps, fixed created_by), which content addressing relies on.
 */
import * as arrow from 'apache-arrow';
import {
  Compression,
  ParquetFile,
  Table as WasmTable,
  WriterPropertiesBuilder,
  transformParquetStream,
  writeParquet,
  type WriterProperties,
} from 'parquet-wasm';
import { tableToIpc } from './arrow-columns.ts';

export interface ParquetOptions {
  rowGroupRows: number;
}

/**
 * What shapes the bytes beyond the rows, for content addresses: another value here writes other
 * bytes for the same rows, so it must name other objects.
 */
export const PARQUET_ENCODING = 'zstd, dictionary for strings only';

/** Paths of the string columns, through structs: the leaves whose values repeat (topics, frame ids, ids). */
function stringColumns(fields: readonly arrow.Field[], prefix: readonly string[] = []): string[] {
  return fields.flatMap((f) => {
    if (arrow.DataType.isUtf8(f.type) || arrow.DataType.isLargeUtf8(f.type)) return [[...prefix, f.name].join('.')];
    if (arrow.DataType.isStruct(f.type)) return stringColumns(f.type.children, [...prefix, f.name]);
    return [];
  });
}

/**
 * zstd, and dictionary encoding only for string columns: measured on the bench's robot run's
 * tables (2026-12-04), dictionaries on every column cost 2.4× the encoding time (335 vs 140 ms)
 * and 33% more bytes (7.95 vs 5.97 MB) for sensor values that rarely repeat, while dictionary
 * strings kept DuckDB's GROUP BY topic fastest (3.4 ms vs 4.3 with all and 5.9 with none).
 */
function writerProperties(options: ParquetOptions, schema: arrow.Schema): WriterProperties {
  let builder = new WriterPropertiesBuilder()
    .setCompression(Compression.ZSTD)
    .setMaxRowGroupSize(options.rowGroupRows)
    .setCreatedBy('mcapflow')
    .setDictionaryEnabled(false);
  for (const column of stringColumns(schema.fields)) builder = builder.setColumnDictionaryEnabled(column, true);
  return builder.build();
}

export function encodeParquet(table: arrow.Table, options: ParquetOptions): Uint8Array {
  return writeParquet(WasmTable.fromIPCStream(tableToIpc(table)), writerProperties(options, table.schema));
}

/**
 * The bytes {@link encodeParquet} writes for the concatenation of `tables` (the same bytes:
 * row groups are cut by row count, not by input batch), fed to the writer one table at a time.
 * parquet-wasm's memory, which never shrinks, then holds one input table and one row group
 * instead of every input, its IPC copy and the whole file (measured on 92 MB of columns: the
 * wasm heap grew to 132 MiB instead of 353). At least one of `tables` must have rows: the
 * schema comes from the first batch.
 */
export async function encodeParquetParts(tables: AsyncIterable<arrow.Table>, options: ParquetOptions): Promise<Uint8Array> {
  const source = tables[Symbol.asyncIterator]();
  /** The next table with rows; undefined at the end. */
  const nextWithRows = async (): Promise<arrow.Table | undefined> => {
    for (;;) {
      const next = await source.next();
      if (next.done === true) return undefined;
      if (next.value.numRows > 0) return next.value;
    }
  };
  // The writer's settings depend on the schema: known from the first table.
  let pending = await nextWithRows();
  if (pending === undefined) throw new Error('encodeParquetParts: no table has rows');
  const properties = writerProperties(options, pending.schema);
  // parquet-wasm's streaming writer skips input it cannot take and closes the file anyway, so a
  // failed read would leave a shorter, valid file: failures are kept here and rows counted.
  let failure: unknown;
  let rowsIn = 0;
  let inputDone = false;
  const batches = new ReadableStream({
    // Enqueues before returning: a pull that enqueues nothing is not called again.
    async pull(controller) {
      try {
        const table = pending ?? (await nextWithRows());
        pending = undefined;
        if (table === undefined) {
          inputDone = true;
          return controller.close();
        }
        const wasmTable = WasmTable.fromIPCStream(tableToIpc(table));
        try {
          for (const batch of wasmTable.recordBatches()) controller.enqueue(batch);
        } finally {
          wasmTable.free();
        }
        rowsIn += table.numRows;
      } catch (error) {
        failure = error;
        inputDone = true;
        controller.close();
      }
    },
  });
  const encoded = (await transformParquetStream(batches, properties)) as ReadableStream<Uint8Array>;
  const chunks: Uint8Array[] = [];
  const reader = encoded.getReader();
  for (;;) {
    // A writer that fails to close never ends its output: give up once the input is done and nothing comes.
    const chunk = inputDone ? await withTimeout(reader.read(), WRITER_STALL_MS) : await reader.read();
    if (chunk.done === true) break;
    chunks.push(chunk.value);
  }
  if (failure !== undefined) throw failure instanceof Error ? failure : new Error(String(failure));
  const bytes = Buffer.concat(chunks);
  const file = await ParquetFile.fromFile(new Blob([bytes]));
  try {
    const written = file.metadata().fileMetadata().numRows();
    if (written !== rowsIn) throw new Error(`the Parquet writer wrote ${written} rows of the ${rowsIn} it was given`);
  } finally {
    file.free();
  }
  return bytes;
}

/** Longest the streaming writer may go without output once its input is done (it flushes one row group). */
const WRITER_STALL_MS = 120_000;

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the Parquet writer produced nothing for ${ms / 1000} s after its last input`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

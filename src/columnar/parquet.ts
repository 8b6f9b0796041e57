/**
 * Parquet encoding through parquet-wasm. Output is deterministic for the same Arrow input
 * (no timestamps, fixed created_by), which content addressing relies on.
 */
import type * as arrow from 'apache-arrow';
import { Compression, Table as WasmTable, WriterPropertiesBuilder, transformParquetStream, writeParquet, type WriterProperties } from 'parquet-wasm';
import { tableToIpc } from './arrow-columns.ts';

export interface ParquetOptions {
  rowGroupRows: number;
}

function writerProperties(options: ParquetOptions): WriterProperties {
  return new WriterPropertiesBuilder().setCompression(Compression.ZSTD).setMaxRowGroupSize(options.rowGroupRows).setCreatedBy('mcapflow').build();
}

export function encodeParquet(table: arrow.Table, options: ParquetOptions): Uint8Array {
  return writeParquet(WasmTable.fromIPCStream(tableToIpc(table)), writerProperties(options));
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
  const batches = new ReadableStream({
    // Until something is enqueued: a pull that enqueues nothing (a table without rows) is not called again.
    async pull(controller) {
      for (;;) {
        const next = await source.next();
        if (next.done === true) return controller.close();
        if (next.value.numRows === 0) continue;
        for (const batch of WasmTable.fromIPCStream(tableToIpc(next.value)).recordBatches()) controller.enqueue(batch);
        return;
      }
    },
  });
  const encoded = (await transformParquetStream(batches, writerProperties(options))) as ReadableStream<Uint8Array>;
  const chunks: Uint8Array[] = [];
  const reader = encoded.getReader();
  for (let chunk = await reader.read(); chunk.done !== true; chunk = await reader.read()) chunks.push(chunk.value);
  return Buffer.concat(chunks);
}

/**
 * Parquet encoding through parquet-wasm. Output is deterministic for the same Arrow input
 * (no timestamps, fixed created_by), which content addressing relies on.
 */
import type * as arrow from 'apache-arrow';
import { Compression, Table as WasmTable, WriterPropertiesBuilder, writeParquet } from 'parquet-wasm';
import { tableToIpc } from './arrow-columns.ts';

export interface ParquetOptions {
  rowGroupRows: number;
}

export function encodeParquet(table: arrow.Table, options: ParquetOptions): Uint8Array {
  const wasmTable = WasmTable.fromIPCStream(tableToIpc(table));
  const properties = new WriterPropertiesBuilder().setCompression(Compression.ZSTD).setMaxRowGroupSize(options.rowGroupRows).setCreatedBy('mcapflow').build();
  return writeParquet(wasmTable, properties);
}

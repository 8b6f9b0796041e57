/**
 * Query results as JSON text, written straight from DuckDB's vectors with a byte budget.
 * Lists and structs are walked element by element, so a single huge value (a list of 20
 * million structs) fails as soon as it passes the budget instead of first becoming 20
 * million JavaScript objects.
 */
import { DuckDBListVector, DuckDBStructVector, JSDuckDBValueConverter, type DuckDBDataChunk, type DuckDBVector } from '@duckdb/node-api';

/** 64-bit integers as numbers when they fit in 2^53, else strings; times as ISO text; bytes as base64. */
export function toJsonValue(value: unknown): unknown {
  if (typeof value === 'bigint') return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonValue(v)]));
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return value;
}

/** Thrown when the text would pass its budget; `rows` were complete before it. */
export class OverBudget extends Error {
  constructor(readonly rows: number) {
    super(`over budget after ${rows} rows`);
  }
}

/** JSON text that refuses to grow past `limit` bytes. */
export class BoundedJson {
  readonly #parts: string[] = [];
  #bytes = 0;
  rows = 0;

  constructor(readonly limit: number) {}

  push(text: string): void {
    this.#bytes += Buffer.byteLength(text);
    if (this.#bytes > this.limit) throw new OverBudget(this.rows);
    this.#parts.push(text);
  }

  get bytes(): number {
    return this.#bytes;
  }

  text(): string {
    return this.#parts.join('');
  }
}

function writeValue(vector: DuckDBVector, index: number, out: BoundedJson): void {
  if (vector instanceof DuckDBListVector) {
    const items = vector.getItemVector(index);
    if (items === null) return out.push('null');
    out.push('[');
    for (let i = 0; i < items.itemCount; i++) {
      if (i > 0) out.push(',');
      writeValue(items, i, out);
    }
    return out.push(']');
  }
  if (vector instanceof DuckDBStructVector) {
    if (!vector.isItemValid(index)) return out.push('null');
    const names = vector.type.entryNames;
    out.push('{');
    for (let e = 0; e < names.length; e++) {
      out.push(`${e > 0 ? ',' : ''}${JSON.stringify(names[e])}:`);
      writeValue(vector.entryVectorAt(e), index, out);
    }
    return out.push('}');
  }
  const value = vector.getItem(index);
  out.push(value === null ? 'null' : JSON.stringify(toJsonValue(JSDuckDBValueConverter(value, vector.type, JSDuckDBValueConverter))));
}

/** Appends rows `[0, count)` of `chunk` as JSON arrays, each preceded by a comma unless it is the first row. */
export function writeRows(chunk: DuckDBDataChunk, count: number, out: BoundedJson): void {
  const vectors = Array.from({ length: chunk.columnCount }, (_, c) => chunk.getColumnVector(c));
  for (let row = 0; row < count; row++) {
    out.push(out.rows > 0 ? ',[' : '[');
    for (let c = 0; c < vectors.length; c++) {
      if (c > 0) out.push(',');
      writeValue(vectors[c]!, row, out);
    }
    out.push(']');
    out.rows += 1;
  }
}

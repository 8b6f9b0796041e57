/**
 * Value-by-value comparison of two Arrow tables, used to hold the columnar path to the object
 * path (tests, benchmark self-check). Says where the first difference is, not just "differs".
 */
import * as arrow from 'apache-arrow';

/** A JSON-safe form of an Arrow value that keeps what JSON would lose (bigint, NaN, -0, bytes vs numbers). */
export function comparableValue(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : Object.is(value, -0) ? '-0' : value;
  if (typeof value !== 'object') return value;
  if (value instanceof Uint8Array) return { bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex') };
  if (value instanceof arrow.Vector) return Array.from(value.toArray() as Iterable<unknown>, comparableValue);
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as Iterable<unknown>, comparableValue);
  if (Array.isArray(value)) return value.map(comparableValue);
  const json = typeof (value as { toJSON?: unknown }).toJSON === 'function' ? (value as { toJSON(): unknown }).toJSON() : value;
  return Object.fromEntries(Object.entries(json as Record<string, unknown>).map(([k, v]) => [k, comparableValue(v)]));
}

function schemaText(table: arrow.Table): string[] {
  return table.schema.fields.map((f) => `${f.name}: ${String(f.type)}${f.nullable ? '' : ' not null'}`);
}

/** Undefined when the tables have the same schema (names, types, nullability) and the same values; else the first difference. */
export function tableDifference(actual: arrow.Table, expected: arrow.Table): string | undefined {
  const a = schemaText(actual);
  const e = schemaText(expected);
  if (a.join('\n') !== e.join('\n')) return `schemas differ:\n  actual:   ${a.join(', ')}\n  expected: ${e.join(', ')}`;
  if (actual.numRows !== expected.numRows) return `row counts differ: ${actual.numRows} vs ${expected.numRows}`;
  for (let c = 0; c < actual.numCols; c++) {
    const name = actual.schema.fields[c]!.name;
    const av = actual.getChildAt(c)!;
    const ev = expected.getChildAt(c)!;
    if (av.nullCount !== ev.nullCount) return `column ${name}: null counts differ: ${av.nullCount} vs ${ev.nullCount}`;
    for (let r = 0; r < actual.numRows; r++) {
      const x = JSON.stringify(comparableValue(av.get(r)));
      const y = JSON.stringify(comparableValue(ev.get(r)));
      if (x !== y) return `column ${name}, row ${r}: ${x.slice(0, 400)} vs ${y.slice(0, 400)}`;
    }
  }
  return undefined;
}

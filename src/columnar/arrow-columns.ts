/**
 * Building Arrow columns straight from typed arrays (free) instead of one `append` per value,
 * and the IPC hand-off used for intermediate parts.
 */
import * as arrow from 'apache-arrow';

/** Growable typed array for numeric columns of unknown final length. */
export class NumericColumn<T extends BigInt64Array | Int32Array | Uint32Array | Uint16Array | Float64Array> {
  #data: T;
  length = 0;
  readonly #make: (n: number) => T;

  constructor(make: (n: number) => T, initial = 1024) {
    this.#make = make;
    this.#data = make(initial);
  }

  push(value: T extends BigInt64Array ? bigint : number): void {
    if (this.length === this.#data.length) {
      const grown = this.#make(this.#data.length * 2);
      grown.set(this.#data as never);
      this.#data = grown;
    }
    (this.#data as unknown as (bigint | number)[])[this.length++] = value;
  }

  values(): T {
    return this.#data.subarray(0, this.length) as T;
  }
}

/** A Utf8 column whose rows each pick one of a few distinct strings (topics, recording ids). */
export function utf8FromPalette(palette: string[], picks: ArrayLike<number>, length: number): arrow.Data<arrow.Utf8> {
  const encoded = palette.map((s) => Buffer.from(s, 'utf8'));
  let total = 0;
  for (let i = 0; i < length; i++) total += encoded[picks[i]!]!.length;
  const valueOffsets = new Int32Array(length + 1);
  const data = new Uint8Array(total);
  let at = 0;
  for (let i = 0; i < length; i++) {
    const bytes = encoded[picks[i]!]!;
    data.set(bytes, at);
    at += bytes.length;
    valueOffsets[i + 1] = at;
  }
  return arrow.makeData({ type: new arrow.Utf8(), length, nullCount: 0, valueOffsets, data });
}

export function int64Data(values: BigInt64Array): arrow.Data<arrow.Int64> {
  return arrow.makeData({ type: new arrow.Int64(), length: values.length, nullCount: 0, data: values });
}

export function uint32Data(values: Uint32Array): arrow.Data<arrow.Uint32> {
  return arrow.makeData({ type: new arrow.Uint32(), length: values.length, nullCount: 0, data: values });
}

export function uint16Data(values: Uint16Array): arrow.Data<arrow.Uint16> {
  return arrow.makeData({ type: new arrow.Uint16(), length: values.length, nullCount: 0, data: values });
}

/** One-batch table from column data with exactly these fields. */
export function tableFromData(fields: arrow.Field[], columns: arrow.Data[], length: number): arrow.Table {
  const data = arrow.makeData({ type: new arrow.Struct(fields), length, nullCount: 0, children: columns });
  return new arrow.Table(new arrow.RecordBatch(new arrow.Schema(fields), data));
}

export function tableToIpc(table: arrow.Table): Uint8Array {
  return arrow.tableToIPC(table, 'stream');
}

export function tableFromIpc(bytes: Uint8Array): arrow.Table {
  return arrow.tableFromIPC(bytes);
}

/** A table with these fields and no rows (one empty batch, so its schema travels with it). */
export function emptyTable(fields: arrow.Field[]): arrow.Table {
  return tableFromData(
    fields,
    fields.map((f) => arrow.makeBuilder({ type: f.type }).finish().toVector().data[0]!),
    0,
  );
}

/**
 * Row selection over Arrow tables (Arrow JS has no compute kernels): the rows at given
 * indices, in that order, for every type mcapflow's tables use — fixed-width numbers, bools,
 * strings and binary, lists and structs, nested to any depth, with nulls. Used to reorder a
 * table by log_time and to keep one topic's rows; rare paths, but they must be exact.
 *
 * Arrow JS slices a Data's value and offset buffers with it (bool bitmaps excepted), so row r
 * of any Data is values[r] / valueOffsets[r]; a struct's children are sliced with it, a list's
 * child is not (its value offsets point into the whole child).
 */
import * as arrow from 'apache-arrow';

/** Indices into a table's rows across all of its batches. */
function locate(table: arrow.Table): { data: arrow.Data[]; starts: number[] } {
  const data = table.batches.map((b) => b.data);
  const starts: number[] = [];
  let at = 0;
  for (const d of data) {
    starts.push(at);
    at += d.length;
  }
  return { data, starts };
}

function isValid(data: arrow.Data, row: number): boolean {
  return data.nullCount === 0 || data.getValid(row);
}

function bitmap(valid: boolean[]): { nullCount: number; nullBitmap?: Uint8Array } {
  const nulls = valid.filter((v) => !v).length;
  if (nulls === 0) return { nullCount: 0 };
  const bits = new Uint8Array(Math.ceil(valid.length / 8));
  valid.forEach((v, i) => {
    if (v) bits[i >> 3]! |= 1 << (i & 7);
  });
  return { nullCount: nulls, nullBitmap: bits };
}

type Pick = { data: arrow.Data; row: number };

/** One column's rows at `picks`; each pick names its source chunk and row within it. */
function takeData(type: arrow.DataType, picks: Pick[]): arrow.Data {
  const valid = picks.map((p) => isValid(p.data, p.row));
  const nulls = bitmap(valid);
  const length = picks.length;
  if (arrow.DataType.isStruct(type)) {
    // A struct's children are sliced with it: its row r is their row r.
    const children = type.children.map((field, c) =>
      takeData(
        field.type,
        picks.map((p) => ({ data: p.data.children[c]!, row: p.row })),
      ),
    );
    return arrow.makeData({ type, length, ...nulls, children });
  }
  if (arrow.DataType.isList(type)) {
    const valueOffsets = new Int32Array(length + 1);
    const childPicks: Pick[] = [];
    picks.forEach((p, i) => {
      const offsets = p.data.valueOffsets as Int32Array;
      const from = offsets[p.row]!;
      const to = offsets[p.row + 1]!;
      const child = p.data.children[0]!;
      for (let r = from; r < to; r++) childPicks.push({ data: child, row: r - child.offset });
      valueOffsets[i + 1] = valueOffsets[i]! + (to - from);
    });
    return arrow.makeData({ type, length, ...nulls, valueOffsets, child: takeData(type.children[0]!.type, childPicks) });
  }
  if (arrow.DataType.isUtf8(type) || arrow.DataType.isBinary(type)) {
    const valueOffsets = new Int32Array(length + 1);
    const pieces: Uint8Array[] = [];
    picks.forEach((p, i) => {
      const offsets = p.data.valueOffsets as Int32Array;
      const from = offsets[p.row]!;
      const to = offsets[p.row + 1]!;
      pieces.push((p.data.values as Uint8Array).subarray(from, to));
      valueOffsets[i + 1] = valueOffsets[i]! + (to - from);
    });
    return arrow.makeData({ type, length, ...nulls, valueOffsets, data: Buffer.concat(pieces) } as never);
  }
  if (arrow.DataType.isBool(type)) {
    const bits = new Uint8Array(Math.ceil(length / 8));
    picks.forEach((p, i) => {
      const at = p.data.offset + p.row;
      if (((p.data.values as Uint8Array)[at >> 3]! >> (at & 7)) & 1) bits[i >> 3]! |= 1 << (i & 7);
    });
    return arrow.makeData({ type, length, ...nulls, data: bits });
  }
  if (arrow.DataType.isInt(type) || arrow.DataType.isFloat(type)) {
    const first = picks[0]?.data.values as ArrayLike<number | bigint> & { constructor: new (n: number) => unknown };
    const Values = (first?.constructor ?? (type as { ArrayType: new (n: number) => unknown }).ArrayType) as new (n: number) => { [i: number]: number | bigint };
    const out = new Values(length);
    picks.forEach((p, i) => (out[i] = (p.data.values as ArrayLike<number | bigint>)[p.row]!));
    return arrow.makeData({ type, length, ...nulls, data: out } as never);
  }
  throw new Error(`taking rows of Arrow type ${String(type)} is not supported`);
}

/** The rows of `table` at `indices` (into its rows across batches), as a one-batch table. */
export function takeRows(table: arrow.Table, indices: ArrayLike<number>): arrow.Table {
  const { data, starts } = locate(table);
  const picks: { batch: number; row: number }[] = [];
  let batch = 0;
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i]!;
    // Indices are usually ascending: search forward from the last batch, else from the start.
    if (batch >= data.length || index < starts[batch]!) batch = 0;
    while (batch + 1 < data.length && index >= starts[batch + 1]!) batch += 1;
    picks.push({ batch, row: index - starts[batch]! });
  }
  const fields = table.schema.fields;
  const columns = fields.map((field, c) =>
    takeData(
      field.type,
      picks.map((p) => ({ data: data[p.batch]!.children[c]!, row: p.row })),
    ),
  );
  const struct = arrow.makeData({ type: new arrow.Struct(fields), length: indices.length, nullCount: 0, children: columns });
  return new arrow.Table(new arrow.RecordBatch(table.schema, struct));
}

/** Row indices that order `table` by its Int64 column `column` (stable); undefined when already in order. */
export function orderBy(table: arrow.Table, column: string): Int32Array | undefined {
  const vector = table.getChild(column);
  if (vector === null) return undefined;
  const values = new BigInt64Array(table.numRows);
  let at = 0;
  let sorted = true;
  for (const chunk of vector.data) {
    const source = chunk.values as BigInt64Array;
    for (let i = 0; i < chunk.length; i++) {
      values[at] = source[i]!;
      if (at > 0 && values[at]! < values[at - 1]!) sorted = false;
      at += 1;
    }
  }
  if (sorted) return undefined;
  const order = Int32Array.from({ length: values.length }, (_, i) => i);
  order.sort((a, b) => (values[a]! < values[b]! ? -1 : values[a]! > values[b]! ? 1 : a - b));
  return order;
}

import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { orderBy, takeRows } from '../../src/columnar/take.ts';

const POINT = new arrow.Struct([new arrow.Field('x', new arrow.Float64(), true), new arrow.Field('label', new arrow.Utf8(), true)]);
const fields = [
  new arrow.Field('topic', new arrow.Utf8(), false),
  new arrow.Field('log_time', new arrow.Int64(), false),
  new arrow.Field('flag', new arrow.Bool(), true),
  new arrow.Field('count', new arrow.Uint32(), true),
  new arrow.Field('big', new arrow.Uint64(), true),
  new arrow.Field('blob', new arrow.Binary(), true),
  new arrow.Field('point', POINT, true),
  new arrow.Field('path', new arrow.List(new arrow.Field('item', POINT, true)), true),
  new arrow.Field('grid', new arrow.List(new arrow.Field('item', new arrow.List(new arrow.Field('item', new arrow.Int16(), true)), true)), true),
];

function row(i: number) {
  return {
    topic: `/t${i % 3}`,
    log_time: BigInt(1000 - i * 7),
    flag: i % 4 === 0 ? null : i % 2 === 0,
    count: i % 5 === 0 ? null : i * 3,
    big: BigInt(i) * 10_000_000_000n,
    blob: i % 6 === 0 ? null : new Uint8Array([i, i + 1, i + 2].slice(0, i % 3)),
    point: i % 7 === 0 ? null : { x: i / 2, label: i % 2 ? `p${i}` : null },
    path: i % 8 === 0 ? null : Array.from({ length: i % 4 }, (_, k) => ({ x: k, label: `k${k}` })),
    grid: Array.from({ length: i % 3 }, (_, k) => Array.from({ length: k + 1 }, (_, j) => (j === 1 ? null : j - k))),
  };
}

/** A table of `n` rows in several batches, each built with Arrow's own builders. */
function table(n: number, batchRows: number): arrow.Table {
  const batches: arrow.RecordBatch[] = [];
  for (let start = 0; start < n; start += batchRows) {
    const builders = fields.map((f) => arrow.makeBuilder({ type: f.type, nullValues: [null] }));
    for (let i = start; i < Math.min(n, start + batchRows); i++) {
      const r = row(i) as Record<string, unknown>;
      fields.forEach((f, c) => builders[c]!.append(r[f.name] as never));
    }
    const children = builders.map((b) => b.finish().flush());
    batches.push(
      new arrow.RecordBatch(new arrow.Schema(fields), arrow.makeData({ type: new arrow.Struct(fields), length: children[0]!.length, nullCount: 0, children })),
    );
  }
  return new arrow.Table(batches);
}

const plain = (t: arrow.Table) =>
  JSON.parse(
    JSON.stringify(
      t.toArray().map((r) => r.toJSON()),
      (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? [...v] : v),
    ),
  );

describe('takeRows', () => {
  it('selects rows of every type in any order, across batches', () => {
    const source = table(40, 9);
    const indices = [39, 0, 17, 17, 8, 9, 25, 3];
    const all = plain(source);
    expect(plain(takeRows(source, indices))).toEqual(indices.map((i) => all[i]));
  });

  it('works on sliced tables', () => {
    const source = table(30, 30).slice(5, 25);
    const all = plain(source);
    expect(plain(takeRows(source, [19, 0, 10]))).toEqual([all[19], all[0], all[10]]);
  });

  it('orders by an Int64 column, stably, and says when there is nothing to do', () => {
    const source = table(20, 6);
    const order = orderBy(source, 'log_time')!;
    const sorted = plain(takeRows(source, order));
    expect(sorted.map((r: { log_time: string }) => Number(r.log_time))).toEqual(
      [...plain(source).map((r: { log_time: string }) => Number(r.log_time))].sort((a, b) => a - b),
    );
    expect(orderBy(takeRows(source, order), 'log_time')).toBeUndefined();
  });
});

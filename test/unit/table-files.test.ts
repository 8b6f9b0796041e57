/**
 * Span parts become Parquet: written one part at a time when the parts' log_time ranges follow
 * one another (each part sorted alone), the file must be byte for byte the one a whole-table
 * sort and encode writes, with the same statistics; parts that overlap in time are sorted as a
 * whole. The store here is in memory: this is about the bytes, not the transport.
 */
import * as arrow from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { describe, expect, it } from 'vitest';
import { tableFromIpc } from '../../src/columnar/arrow-columns.ts';
import { encodeParquet } from '../../src/columnar/parquet.ts';
import { sha256Hex } from '../../src/domain/hash.ts';
import type { PartRef } from '../../src/domain/work.ts';
import type { WorkContext } from '../../src/operators/context.ts';
import { convertParts, int64Range, sorted, topicsOf, writePart } from '../../src/operators/table-files.ts';
import type { ObjectStore } from '../../src/storage/object-store.ts';

function memoryContext(rowGroupRows: number, failing = new Set<string>()): { ctx: WorkContext; objects: Map<string, Uint8Array> } {
  const objects = new Map<string, Uint8Array>();
  const store = {
    put: async (_bucket: string, key: string, body: Uint8Array | string) => {
      objects.set(key, typeof body === 'string' ? Buffer.from(body) : body);
      return { created: true };
    },
    get: async (_bucket: string, key: string) => {
      if (failing.has(key)) throw new Error(`GET ${key}: connection reset`);
      return objects.get(key);
    },
  } as unknown as ObjectStore;
  const settings = { derivedBucket: 'derived', parquetTargetBytes: 1 << 30, parquetRowGroupRows: rowGroupRows } as WorkContext['settings'];
  return { ctx: { store, settings, loadPlan: () => Promise.reject(new Error('no plans here')) }, objects };
}

const schema = new arrow.Schema([
  new arrow.Field('log_time', new arrow.Int64(), false),
  new arrow.Field('topic', new arrow.Utf8(), false),
  new arrow.Field('x', new arrow.Float64(), false),
]);
const spec = { name: 'pkg_Thing', schema };

/** Rows at `times`, in that order, on topics /a and /b. */
function rowsAt(times: number[]): arrow.Table {
  return new arrow.Table({
    log_time: arrow.vectorFromArray(BigInt64Array.from(times.map(BigInt))),
    topic: arrow.vectorFromArray(
      times.map((t) => (t % 2 === 0 ? '/a' : '/b')),
      new arrow.Utf8(),
    ),
    x: arrow.vectorFromArray(Float64Array.from(times, (t) => t / 3)),
  });
}

async function convert(partTimes: number[][], rowGroupRows = 7) {
  const { ctx, objects } = memoryContext(rowGroupRows);
  const parts: PartRef[] = [];
  for (const [i, times] of partTimes.entries()) parts.push(await writePart(ctx, sha256Hex(`part ${i} ${times.join(',')}`), spec.name, rowsAt(times)));
  const seenInFileOrder: number[] = [];
  const [object] = await convertParts(
    ctx,
    spec,
    parts,
    () => sha256Hex(JSON.stringify(partTimes)),
    (t) => seenInFileOrder.push(...Array.from(t.getChild('log_time')!.toArray() as BigInt64Array, Number)),
  );
  const bytes = objects.get(object!.key)!;
  // What the whole-table path writes: every part concatenated, sorted by log_time, encoded at once.
  const whole = sorted(rowsAt(partTimes.flat()), 'log_time');
  return { object: object!, bytes, whole, seenInFileOrder, expected: encodeParquet(whole, { rowGroupRows }) };
}

describe('converting span parts to Parquet', () => {
  it('writes parts whose time ranges follow one another one at a time, into the bytes a whole-table encode writes', async () => {
    // Each part out of order inside, the parts in order; an empty part between them.
    const { object, bytes, whole, expected, seenInFileOrder } = await convert([[3, 1, 2, 5, 4], [], [6, 9, 8, 7, 10, 12, 11], [12, 13, 15, 14]]);
    expect(sha256Hex(bytes)).toBe(sha256Hex(expected));
    expect(object).toMatchObject({ rows: 16, minLogTime: '1', maxLogTime: '15', topics: topicsOf(whole), sha256: sha256Hex(bytes), bytes: bytes.length });
    expect(int64Range(whole)).toEqual({ min: '1', max: '15' });
    // The messages table's timing is measured on rows in file order.
    expect(seenInFileOrder).toEqual([3, 1, 2, 5, 4, 6, 9, 8, 7, 10, 12, 11, 12, 13, 15, 14]);
  });

  it('sorts parts that overlap in time as one table', async () => {
    const { object, bytes, expected } = await convert([
      [1, 5, 9],
      [2, 6, 10],
      [3, 4, 11],
    ]);
    expect(sha256Hex(bytes)).toBe(sha256Hex(expected));
    const times = Array.from(tableFromIpc(readParquet(bytes).intoIPCStream()).getChild('log_time')!.toArray() as BigInt64Array, Number);
    expect(times).toEqual([1, 2, 3, 4, 5, 6, 9, 10, 11]);
    expect(object).toMatchObject({ rows: 9, minLogTime: '1', maxLogTime: '11', topics: ['/a', '/b'] });
  });

  it('fails, writing nothing, when a later part cannot be read: never a shorter file', async () => {
    const failing = new Set<string>();
    const { ctx, objects } = memoryContext(7, failing);
    const parts: PartRef[] = [];
    for (const [i, times] of [
      [1, 2, 3],
      [4, 5, 6],
      [7, 8, 9],
    ].entries())
      parts.push(await writePart(ctx, sha256Hex(`failing ${i}`), spec.name, rowsAt(times)));
    failing.add(parts[1]!.key);
    const before = objects.size;
    await expect(convertParts(ctx, spec, parts, () => sha256Hex('failing file'))).rejects.toThrow(/connection reset/);
    expect(objects.size).toBe(before);
  });
});

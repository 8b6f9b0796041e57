/**
 * ROS 1 (ros1msg schemas, ros1 messages): real payloads from @foxglove/rosmsg-serialization's
 * MessageWriter, decoded through the registry into Arrow tables with ROS 1 time fields.
 */
import { createHash } from 'node:crypto';
import { parse } from '@foxglove/rosmsg';
import { MessageWriter } from '@foxglove/rosmsg-serialization';
import * as arrow from 'apache-arrow';
import { beforeAll, describe, expect, it } from 'vitest';
import { arrowType } from '../../src/decode/column-plan.ts';
import { classifierFor, decoderFor, type CompiledDecoder } from '../../src/decode/registry.ts';
import { SchemaTableBuilder } from '../../src/decode/table-builder.ts';
import type { SchemaInfo } from '../../src/mcap/recording-index.ts';
import { MemoryBlobSink, plain } from '../helpers/decode-helpers.ts';

const THRESHOLD = 64;
const SEP = '='.repeat(80);

const SCHEMA_TEXT = [
  'Header header',
  'time[] stamps',
  'duration timeout',
  'char grade',
  'byte delta',
  'uint8[] data',
  'byte[] signed_bytes',
  'uint8[4] small',
  'string[] names',
  'geometry_msgs/Point32[] points',
  'int64 big',
  'uint64 ubig',
  'bool ok',
  SEP,
  'MSG: std_msgs/Header',
  'uint32 seq',
  'time stamp',
  'string frame_id',
  SEP,
  'MSG: geometry_msgs/Point32',
  'float32 x',
  'float32 y',
  'float32 z',
].join('\n');

const schema: SchemaInfo = { id: 1, name: 'demo_msgs/Everything', encoding: 'ros1msg', data: Buffer.from(SCHEMA_TEXT).toString('base64') };

const data = Uint8Array.from({ length: 100 }, (_, i) => (i * 7) & 0xff);
const messages = [
  {
    header: { seq: 1, stamp: { sec: 3_000_000_000, nsec: 999_999_999 }, frame_id: 'base_link' },
    stamps: [
      { sec: 1, nsec: 2 },
      { sec: 3, nsec: 4 },
    ],
    timeout: { sec: -2, nsec: -500 },
    grade: 200,
    delta: -7,
    data,
    signed_bytes: Int8Array.from([-128, 0, 127]),
    small: Uint8Array.from([1, 2, 3, 4]),
    names: ['left', 'right'],
    points: [{ x: 1, y: 2, z: 3 }],
    big: -(2n ** 62n),
    ubig: 2n ** 64n - 1n,
    ok: true,
  },
  {
    header: { seq: 2, stamp: { sec: 5, nsec: 6 }, frame_id: '' },
    stamps: [],
    timeout: { sec: 0, nsec: 0 },
    grade: 0,
    delta: 0,
    data: Uint8Array.from([1, 2]),
    signed_bytes: new Int8Array(0),
    small: new Uint8Array(4),
    names: [],
    points: [],
    big: 0n,
    ubig: 0n,
    ok: false,
  },
];

describe('ros1msg + ros1', () => {
  let decoder: CompiledDecoder;
  let table: arrow.Table;
  let sink: MemoryBlobSink;

  beforeAll(() => {
    decoder = decoderFor(schema, { blobThresholdBytes: THRESHOLD });
    const writer = new MessageWriter(parse(SCHEMA_TEXT));
    sink = new MemoryBlobSink();
    const builder = new SchemaTableBuilder(decoder.columns, { blobThresholdBytes: THRESHOLD, blobs: sink });
    messages.forEach((m, i) => builder.append('rec', '/everything', BigInt(i), BigInt(i), decoder.decode(writer.writeMessage(m))));
    table = builder.finish();
  });

  it('plans ROS 1 time as {sec, nsec} (uint32), duration as {sec, nsec} (int32), char as uint8 and byte as int8', () => {
    const types = Object.fromEntries(decoder.columns.map((c) => [c.plan.name, String(arrowType(c.plan))]));
    expect(types).toMatchObject({
      header: 'Struct<{seq:Uint32, stamp:Struct<{sec:Uint32, nsec:Uint32}>, frame_id:Utf8}>',
      stamps: 'List<Struct<{sec:Uint32, nsec:Uint32}>>',
      timeout: 'Struct<{sec:Int32, nsec:Int32}>',
      grade: 'Uint8',
      delta: 'Int8',
      signed_bytes: 'List<Int8>',
      small: 'Binary',
      names: 'List<Utf8>',
      points: 'List<Struct<{x:Float32, y:Float32, z:Float32}>>',
      big: 'Int64',
      ubig: 'Uint64',
      ok: 'Bool',
    });
    expect(decoder.columns.find((c) => c.plan.name === 'data')!.plan.kind).toBe('blob');
  });

  it('decodes every field into the Arrow table, keeping times past 2038 and negative durations', () => {
    expect(table.numRows).toBe(2);
    const row = (name: string, i: number) => plain(table.getChild(name)!.get(i));
    expect(row('header', 0)).toEqual({ seq: 1, stamp: { sec: 3_000_000_000, nsec: 999_999_999 }, frame_id: 'base_link' });
    expect(row('stamps', 0)).toEqual([
      { sec: 1, nsec: 2 },
      { sec: 3, nsec: 4 },
    ]);
    expect(row('timeout', 0)).toEqual({ sec: -2, nsec: -500 });
    expect(row('grade', 0)).toBe(200);
    expect(row('delta', 0)).toBe(-7);
    expect(row('signed_bytes', 0)).toEqual([-128, 0, 127]);
    expect(row('small', 0)).toEqual([1, 2, 3, 4]);
    expect(row('names', 0)).toEqual(['left', 'right']);
    expect(row('points', 0)).toEqual([{ x: 1, y: 2, z: 3 }]);
    expect(row('big', 0)).toBe(-(2n ** 62n));
    expect(row('ubig', 0)).toBe(2n ** 64n - 1n);
    expect(row('ok', 1)).toBe(false);
    expect(row('stamps', 1)).toEqual([]);
  });

  it('stores the 100-byte array as a blob reference and the 2-byte one inline', () => {
    const big = plain(table.getChild('data')!.get(0)) as { inline: unknown; offset: bigint; length: bigint; sha256: string };
    expect(big).toMatchObject({ inline: null, uri: 'mem://blobs', length: 100n });
    expect(Buffer.concat(sink.pieces).subarray(Number(big.offset), Number(big.offset) + 100)).toEqual(Buffer.from(data));
    expect(big.sha256).toBe(createHash('sha256').update(data).digest('hex'));
    expect(plain(table.getChild('data')!.get(1))).toMatchObject({ inline: [1, 2], uri: null, length: 2n });
  });

  it('accepts ros1msg only with ros1 messages', () => {
    const classify = classifierFor({ blobThresholdBytes: THRESHOLD });
    const channel = { id: 1, schemaId: 1, topic: '/everything', messageEncoding: 'ros1', metadata: {} };
    expect(classify(schema, channel).ok).toBe(true);
    const wrong = classify(schema, { ...channel, messageEncoding: 'cdr' });
    expect(wrong).toEqual({ ok: false, reason: expect.stringContaining('"cdr" is not supported for ros1msg schemas (expected "ros1")') });
  });
});

/**
 * protobuf: a .proto parsed by protobufjs, turned into the binary FileDescriptorSet an MCAP
 * schema carries, messages encoded by protobufjs, decoded through the registry into Arrow.
 */
import { createHash } from 'node:crypto';
import { protobufToDescriptor } from '@mcap/support';
import * as arrow from 'apache-arrow';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { arrowType } from '../../src/decode/column-plan.ts';
import { classifierFor, decoderFor, type CompiledDecoder } from '../../src/decode/registry.ts';
import { SchemaTableBuilder } from '../../src/decode/table-builder.ts';
import type { SchemaInfo } from '../../src/mcap/recording-index.ts';
import { MemoryBlobSink, plain } from '../helpers/decode-helpers.ts';

const THRESHOLD = 16;

const PROTO = `
syntax = "proto3";
package demo;

enum Mode { MODE_UNKNOWN = 0; MODE_AUTO = 2; }
message Vec { double x = 1; double y = 2; }
message Empty {}
message Sample {
  int64 big_id = 1;
  uint64 counter = 2;
  sint32 small = 3;
  string label = 4;
  bytes payload = 5;
  Mode mode = 6;
  Vec position = 7;
  repeated Vec path = 8;
  repeated float weights = 9;
  map<string, int32> counts = 10;
  map<int64, Vec> by_id = 11;
  oneof choice { string name = 12; int32 number = 13; }
  optional bool flag = 14;
  fixed64 stamp = 15;
  repeated sfixed64 offsets = 16;
  Empty nothing = 17;
  string topic = 18;
}
message Node { string name = 1; repeated Node children = 2; }
message A { B b = 1; }
message B { repeated A a = 1; }
`;

const root = protobuf.parse(PROTO, { keepCase: true }).root;
const descriptorSet = descriptor.FileDescriptorSet.encode(protobufToDescriptor(root)).finish();
const schemaOf = (name: string): SchemaInfo => ({ id: 1, name, encoding: 'protobuf', data: Buffer.from(descriptorSet).toString('base64') });
const Sample = root.lookupType('demo.Sample');

const payload = Uint8Array.from({ length: 40 }, (_, i) => 255 - i);

describe('protobuf + protobuf', () => {
  let decoder: CompiledDecoder;
  let table: arrow.Table;

  beforeAll(() => {
    decoder = decoderFor(schemaOf('demo.Sample'), { blobThresholdBytes: THRESHOLD });
    const messages = [
      {
        big_id: '-9007199254740993',
        counter: '18446744073709551615',
        small: -5,
        label: 'hi',
        payload,
        mode: 2,
        position: { x: 1, y: 2 },
        path: [{ x: 3 }, { y: 4 }],
        weights: [0.5, 0.25],
        counts: { a: 1, b: 2 },
        by_id: { '-7': { x: 9 } },
        number: 42,
        flag: false,
        stamp: '1700000000000000001',
        offsets: ['-1', '2'],
        topic: 'field named like a fixed column',
      },
      { name: 'only-a-name', payload: Uint8Array.from([1, 2, 3]) },
      {},
    ];
    const builder = new SchemaTableBuilder(decoder.columns, { blobThresholdBytes: THRESHOLD, blobs: new MemoryBlobSink() });
    messages.forEach((m, i) => builder.append('rec', '/sample', BigInt(i), BigInt(i), decoder.decode(Sample.encode(Sample.fromObject(m)).finish())));
    table = builder.finish();
  });

  it('maps scalars, enums, messages, repeated fields, maps and oneofs to columns', () => {
    const types = Object.fromEntries(decoder.columns.map((c) => [c.plan.name, String(arrowType(c.plan))]));
    expect(types).toMatchObject({
      big_id: 'Int64',
      counter: 'Uint64',
      small: 'Int32',
      label: 'Utf8',
      mode: 'Int32',
      position: 'Struct<{x:Float64, y:Float64}>',
      path: 'List<Struct<{x:Float64, y:Float64}>>',
      weights: 'List<Float32>',
      counts: 'List<Struct<{key:Utf8, value:Int32}>>',
      by_id: 'List<Struct<{key:Int64, value:Struct<{x:Float64, y:Float64}>}>>',
      name: 'Utf8',
      number: 'Int32',
      flag: 'Bool',
      stamp: 'Uint64',
      offsets: 'List<Int64>',
      topic_: 'Utf8',
    });
    expect(decoder.columns.find((c) => c.plan.name === 'payload')!.plan.kind).toBe('blob');
    // A message type without fields has nothing to store.
    expect(decoder.columns.map((c) => c.plan.name)).not.toContain('nothing');
    expect(decoder.columns.find((c) => c.plan.name === 'topic_')!.source).toBe('topic');
  });

  it('decodes 64-bit integers exactly as bigint, maps as key/value lists and enums as numbers', () => {
    const row = (name: string, i: number) => plain(table.getChild(name)!.get(i));
    expect(row('big_id', 0)).toBe(-9007199254740993n);
    expect(row('counter', 0)).toBe(18446744073709551615n);
    expect(row('stamp', 0)).toBe(1700000000000000001n);
    expect(row('offsets', 0)).toEqual([-1n, 2n]);
    expect(row('small', 0)).toBe(-5);
    expect(row('mode', 0)).toBe(2);
    expect(row('position', 0)).toEqual({ x: 1, y: 2 });
    expect(row('path', 0)).toEqual([
      { x: 3, y: 0 },
      { x: 0, y: 4 },
    ]);
    expect(row('weights', 0)).toEqual([0.5, 0.25]);
    expect(row('counts', 0)).toEqual([
      { key: 'a', value: 1 },
      { key: 'b', value: 2 },
    ]);
    expect(row('by_id', 0)).toEqual([{ key: -7n, value: { x: 9, y: 0 } }]);
    expect(row('topic_', 0)).toBe('field named like a fixed column');
    expect(row('payload', 0)).toMatchObject({ inline: null, length: 40n, sha256: createHash('sha256').update(payload).digest('hex') });
    expect(row('payload', 1)).toMatchObject({ inline: [1, 2, 3], length: 3n });
  });

  it('gives oneof and optional members null unless set, and other missing fields their defaults', () => {
    const row = (name: string, i: number) => plain(table.getChild(name)!.get(i));
    expect([row('name', 0), row('number', 0)]).toEqual([null, 42]);
    expect([row('name', 1), row('number', 1)]).toEqual(['only-a-name', null]);
    expect([row('flag', 0), row('flag', 1)]).toEqual([false, null]);
    expect([row('big_id', 2), row('label', 2), row('mode', 2), row('path', 2), row('counts', 2)]).toEqual([0n, '', 0, [], []]);
    expect(row('position', 2)).toBeNull();
  });

  it('refuses recursive message types with the cycle, and unknown types, at planning', () => {
    const classify = classifierFor({ blobThresholdBytes: THRESHOLD });
    const channel = { id: 1, schemaId: 1, topic: '/tree', messageEncoding: 'protobuf', metadata: {} };
    const direct = classify(schemaOf('demo.Node'), channel);
    expect(direct).toEqual({ ok: false, reason: expect.stringContaining('demo.Node is recursive (demo.Node → demo.Node)') });
    const indirect = classify(schemaOf('demo.A'), channel);
    expect(!indirect.ok && indirect.reason).toContain('demo.A → demo.B → demo.A');
    const missing = classify(schemaOf('demo.Nope'), channel);
    expect(!missing.ok && missing.reason).toContain('does not define message type demo.Nope');
    expect(classify(schemaOf('demo.Sample'), channel).ok).toBe(true);
  });

  it('explains a schema that is not a FileDescriptorSet', () => {
    const verdict = classifierFor({ blobThresholdBytes: THRESHOLD })(
      { id: 1, name: 'demo.Sample', encoding: 'protobuf', data: Buffer.from('not a descriptor').toString('base64') },
      { id: 1, schemaId: 1, topic: '/x', messageEncoding: 'protobuf', metadata: {} },
    );
    expect(verdict.ok).toBe(false);
    expect(!verdict.ok && verdict.reason).toMatch(/^schema demo.Sample could not be parsed: .+/);
  });
});

/**
 * The columnar fast path against the object path (MessageReader + SchemaTableBuilder) on
 * generated messages: every primitive, fixed/bounded/unbounded arrays of each, nested structs,
 * arrays of structs, empty messages, unicode and invalid UTF-8, both byte orders, and seeded
 * random schemas. Identical means: same schema, same values, same IPC bytes, same BlobSink calls.
 */
import { createHash } from 'node:crypto';
import { CdrWriter, EncapsulationKind } from '@foxglove/cdr';
import type { MessageDefinition, MessageDefinitionField } from '@foxglove/message-definition';
import { parse } from '@foxglove/rosmsg';
import { MessageWriter } from '@foxglove/rosmsg2-serialization';
import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { planColumns } from '../../src/decode/column-plan.ts';
import { ColumnarCdrTableBuilder, tableDifference } from '../../src/decode/columnar/index.ts';
import { compileRos2Schema } from '../../src/decode/ros2msg.ts';
import { SchemaTableBuilder, type BlobRef, type BlobSink } from '../../src/decode/table-builder.ts';
import { Prng } from '../../src/synth/prng.ts';
import { ROS2_SCHEMAS, ROS2_SCHEMA_NAMES } from '../../src/synth/ros2-schemas.ts';

// ---------------------------------------------------------------------------------------------
// Running both paths

/** A BlobSink that logs every call; refs depend only on the bytes and the call number. */
function recordingSink(): BlobSink & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    put(bytes: Uint8Array): BlobRef {
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const ref = { uri: `s3://derived/objects/blobs/${calls.length}.bin`, offset: calls.length * 4096, length: bytes.length, sha256, chunkOffset: null };
      calls.push(JSON.stringify({ bytes: Buffer.from(bytes).toString('hex'), ref }));
      return ref;
    },
  };
}

interface Outcome {
  table: arrow.Table;
  /** Indexes of the messages that failed to decode. */
  errors: number[];
  blobCalls: string[];
}

function objectPath(schemaText: string, messages: Uint8Array[], blobThresholdBytes: number): Outcome {
  const compiled = compileRos2Schema(schemaText);
  const blobs = recordingSink();
  const builder = new SchemaTableBuilder(planColumns(compiled.definitions, { blobThresholdBytes }), { blobThresholdBytes, blobs });
  const errors: number[] = [];
  messages.forEach((data, i) => {
    let decoded: Record<string, unknown>;
    try {
      decoded = compiled.decode(data);
    } catch {
      errors.push(i);
      return;
    }
    builder.append('recording-1', '/topic', BigInt(i) * 1_000_000n, BigInt(i) * 1_000_000n + 7n, decoded);
  });
  return { table: builder.finish(), errors, blobCalls: blobs.calls };
}

function columnarPath(schemaText: string, messages: Uint8Array[], blobThresholdBytes: number): Outcome {
  const definitions = parse(schemaText, { ros2: true });
  const blobs = recordingSink();
  const builder = new ColumnarCdrTableBuilder(definitions, planColumns(definitions, { blobThresholdBytes }), { blobThresholdBytes, blobs });
  const errors: number[] = [];
  messages.forEach((data, i) => {
    try {
      builder.append('recording-1', '/topic', BigInt(i) * 1_000_000n, BigInt(i) * 1_000_000n + 7n, data);
    } catch {
      errors.push(i);
    }
  });
  return { table: builder.finish(), errors, blobCalls: blobs.calls };
}

/** Both paths agree, and (these messages being well-formed) neither rejected any message. */
function expectIdentical(schemaText: string, messages: Uint8Array[], blobThresholdBytes: number): Outcome {
  const expected = objectPath(schemaText, messages, blobThresholdBytes);
  const actual = columnarPath(schemaText, messages, blobThresholdBytes);
  expect(expected.errors).toEqual([]);
  expect(actual.errors).toEqual([]);
  expect(actual.table.numRows).toBe(messages.length);
  expect(tableDifference(actual.table, expected.table)).toBeUndefined();
  expect(Buffer.from(arrow.tableToIPC(actual.table)).equals(Buffer.from(arrow.tableToIPC(expected.table)))).toBe(true);
  expect(actual.blobCalls).toEqual(expected.blobCalls);
  return actual;
}

// ---------------------------------------------------------------------------------------------
// Encoding: MessageWriter for little-endian; a CdrWriter walk for either byte order

function isConstantModule(def: MessageDefinition): boolean {
  return def.definitions.length > 0 && def.definitions.every((f) => f.isConstant === true);
}

/** Encodes like MessageWriter (same traversal) but with any encapsulation kind. */
function encodeCdr(definitions: MessageDefinition[], message: Record<string, unknown>, kind: EncapsulationKind): Uint8Array {
  const byName = new Map(definitions.map((d) => [d.name ?? '', d.definitions]));
  const writer = new CdrWriter({ kind });
  const primitive = (type: string, v: unknown): void => {
    switch (type) {
      case 'bool':
        writer.int8(v ? 1 : 0);
        break;
      case 'int8':
        writer.int8(v as number);
        break;
      case 'uint8':
        writer.uint8(v as number);
        break;
      case 'int16':
        writer.int16(v as number);
        break;
      case 'uint16':
        writer.uint16(v as number);
        break;
      case 'int32':
        writer.int32(v as number);
        break;
      case 'uint32':
        writer.uint32(v as number);
        break;
      case 'int64':
        writer.int64(v as bigint);
        break;
      case 'uint64':
        writer.uint64(v as bigint);
        break;
      case 'float32':
        writer.float32(v as number);
        break;
      case 'float64':
        writer.float64(v as number);
        break;
      case 'string':
        writer.string(v as string);
        break;
      case 'time':
      case 'duration':
        writer.int32((v as { sec: number }).sec);
        writer.uint32((v as { nanosec: number }).nanosec);
        break;
      default:
        throw new Error(`cannot encode ${type}`);
    }
  };
  const struct = (fields: MessageDefinitionField[], value: Record<string, unknown>): void => {
    if (!fields.some((f) => f.isConstant !== true)) {
      writer.uint8(0);
      return;
    }
    for (const f of fields) {
      if (f.isConstant === true) continue;
      const v = value[f.name];
      if (f.isArray === true) {
        const items = Array.from(v as ArrayLike<unknown>);
        if (f.arrayLength === undefined) writer.sequenceLength(items.length);
        for (const item of items) {
          if (f.isComplex === true) struct(byName.get(f.type)!, item as Record<string, unknown>);
          // Element by element aligns exactly like CdrWriter's typed-array writers (and skips alignment when empty).
          else primitive(f.type, item);
        }
      } else if (f.isComplex === true) struct(byName.get(f.type)!, v as Record<string, unknown>);
      else primitive(f.type, v);
    }
  };
  struct(definitions.find((d) => !isConstantModule(d))!.definitions, message);
  return writer.data.slice();
}

function messageWriterEncode(definitions: MessageDefinition[], message: unknown): Uint8Array {
  const writer = new MessageWriter(definitions);
  const out = writer.writeMessage(message, new ArrayBuffer(writer.calculateByteSize(message)) as unknown as Uint8Array);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength).slice();
}

// ---------------------------------------------------------------------------------------------
// Random values and schemas

const STRINGS = [
  '',
  'a',
  'base_link',
  'héllo wörld',
  '日本語のテキスト',
  '🤖🦾 robot arm',
  'tab\tand\nnewline',
  'nul\u0000inside',
  '\uFEFFbom-leading',
  `\uFEFF${'y'.repeat(40)}`,
  'x'.repeat(40),
  'ü'.repeat(20),
  `${'long ascii '.repeat(5)}✓`,
];
const SEQUENCE_LENGTHS = [0, 0, 1, 2, 3, 7, 16, 17, 40];

class Values {
  readonly #prng: Prng;
  readonly #byName: Map<string, MessageDefinitionField[]>;
  blobLengths = [0, 1, 3, 4, 5, 64, 300];

  constructor(definitions: MessageDefinition[], seed: number) {
    this.#prng = new Prng(seed);
    this.#byName = new Map(definitions.map((d) => [d.name ?? '', d.definitions]));
  }

  int(n: number): number {
    return Math.floor(this.#prng.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  #bigint(bits: 64, signed: boolean): bigint {
    const v = (BigInt(this.#prng.nextU32()) << 32n) | BigInt(this.#prng.nextU32());
    return signed ? BigInt.asIntN(bits, v) : v;
  }

  #float(): number {
    const r = this.#prng.next();
    if (r < 0.04) return this.pick([0, -0, Infinity, -Infinity, NaN, Number.MIN_VALUE, Number.MAX_VALUE]);
    return this.#prng.gaussian() * 10 ** this.int(12);
  }

  primitive(type: string): unknown {
    switch (type) {
      case 'bool':
        return this.#prng.next() < 0.5;
      case 'int8':
        return this.int(256) - 128;
      case 'uint8':
        return this.int(256);
      case 'int16':
        return this.int(65536) - 32768;
      case 'uint16':
        return this.int(65536);
      case 'int32':
        return this.#prng.nextU32() | 0;
      case 'uint32':
        return this.#prng.nextU32();
      case 'int64':
        return this.#bigint(64, true);
      case 'uint64':
        return this.#bigint(64, false);
      case 'float32':
        return Math.fround(this.#float());
      case 'float64':
        return this.#float();
      case 'string':
        return this.pick(STRINGS);
      case 'time':
      case 'duration':
        return { sec: this.#prng.nextU32() | 0, nanosec: this.#prng.nextU32() };
      default:
        throw new Error(`no values for ${type}`);
    }
  }

  #array(field: MessageDefinitionField): unknown {
    const length =
      field.arrayLength ??
      (field.arrayUpperBound !== undefined
        ? this.int(field.arrayUpperBound + 1)
        : field.type === 'uint8'
          ? this.pick(this.blobLengths)
          : this.pick(SEQUENCE_LENGTHS));
    if (field.isComplex === true) return Array.from({ length }, () => this.message(field.type));
    const items = Array.from({ length }, () => this.primitive(field.type));
    // Typed arrays where MessageWriter takes them, plain arrays elsewhere: both are legitimate input.
    switch (field.type) {
      case 'uint8':
        return Uint8Array.from(items as number[]);
      case 'float64':
        return Float64Array.from(items as number[]);
      case 'int64':
        return BigInt64Array.from(items as bigint[]);
      case 'uint64':
        return BigUint64Array.from(items as bigint[]);
      default:
        return items;
    }
  }

  message(type: string, fields = this.#byName.get(type)!): Record<string, unknown> {
    const message: Record<string, unknown> = {};
    for (const field of fields) {
      if (field.isConstant === true) continue;
      if (field.isArray === true) message[field.name] = this.#array(field);
      else message[field.name] = field.isComplex === true ? this.message(field.type) : this.primitive(field.type);
    }
    return message;
  }
}

const PRIMITIVE_FIELD_TYPES = [
  'bool',
  'byte',
  'char',
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'float32',
  'float64',
  'string',
  'builtin_interfaces/Time',
  'builtin_interfaces/Duration',
];

const TIME_SECTIONS = ['builtin_interfaces/Time', 'builtin_interfaces/Duration'].map((name) => `MSG: ${name}\nint32 sec\nuint32 nanosec\n`);

function schemaText(sections: string[]): string {
  return sections.join(`${'='.repeat(80)}\n`);
}

/** Every primitive scalar, fixed/bounded/unbounded arrays of each, nested and empty messages, blobs in lists. */
const KITCHEN_SINK = schemaText([
  [
    ...PRIMITIVE_FIELD_TYPES.map((t, i) => `${t} scalar_${i}`),
    'string<=10 bounded_string',
    'string<=4[2] bounded_strings_fixed',
    ...PRIMITIVE_FIELD_TYPES.flatMap((t, i) => [`${t}[3] fixed_${i}`, `${t}[<=5] bounded_${i}`, `${t}[] sequence_${i}`]),
    'int32[0] zero_length',
    'uint8[4096] image_row',
    'uint8[5000] big_fixed_bytes',
    'int32 CONSTANT=7',
    'string GREETING="hi"',
    'kitchen_msgs/Nested nested',
    'kitchen_msgs/Nested[2] nested_fixed',
    'kitchen_msgs/Nested[<=3] nested_bounded',
    'kitchen_msgs/Nested[] nested_sequence',
    'kitchen_msgs/Empty empty',
    'kitchen_msgs/Empty[] empties',
    'kitchen_msgs/Empty[2] empties_fixed',
    'kitchen_msgs/OnlyEmpty only_empty',
    'kitchen_msgs/OnlyEmpty[] only_empties',
    'kitchen_msgs/Constants constants',
    'uint8 after_empties',
    'float64 trailing_f64',
  ].join('\n') + '\n',
  'MSG: kitchen_msgs/Nested\nuint8 tag\nfloat64 value\nstring label\nint16[] shorts\nkitchen_msgs/Inner inner\nkitchen_msgs/Inner[] inners\nuint8[] payload\n',
  'MSG: kitchen_msgs/Inner\nbool flag\nint64 big\nstring[<=2] names\nbuiltin_interfaces/Time[] times\nfloat32[] floats\nbool[] flags\nuint64[2] pair\n',
  'MSG: kitchen_msgs/Empty\n',
  'MSG: kitchen_msgs/OnlyEmpty\nkitchen_msgs/Empty e\nkitchen_msgs/Empty[] es\n',
  'MSG: kitchen_msgs/Constants\nint32 A=1\nstring B="b"\n',
  ...TIME_SECTIONS,
]);

/** A random ros2msg schema (root first) exercising alignment after every kind of field. */
function randomSchema(prng: Prng): string {
  const sections: string[] = [];
  let types = 0;
  const int = (n: number): number => Math.floor(prng.next() * n);
  const message = (depth: number): string => {
    const name = `fuzz_msgs/T${types++}`;
    const index = sections.push('') - 1;
    const lines: string[] = [];
    const count = depth > 0 && prng.next() < 0.15 ? 0 : 1 + int(7);
    for (let i = 0; i < count; i++) {
      if (prng.next() < 0.08) lines.push(`int32 C${i}=${i}`);
      let type = depth < 3 && prng.next() < 0.2 ? message(depth + 1) : PRIMITIVE_FIELD_TYPES[int(PRIMITIVE_FIELD_TYPES.length)]!;
      if (type === 'string' && prng.next() < 0.2) type = 'string<=5';
      const roll = prng.next();
      const suffix = roll < 0.55 ? '' : roll < 0.7 ? `[${int(5)}]` : roll < 0.85 ? `[<=${1 + int(4)}]` : '[]';
      lines.push(`${type}${suffix} f${i}`);
    }
    sections[index] = `${depth === 0 ? '' : `MSG: ${name}\n`}${lines.join('\n')}\n`;
    return name;
  };
  message(0);
  return schemaText([...sections, ...TIME_SECTIONS]);
}

function randomMessages(text: string, count: number, seed: number, blobLengths?: number[]): Record<string, unknown>[] {
  const definitions = parse(text, { ros2: true });
  const values = new Values(definitions, seed);
  if (blobLengths) values.blobLengths = blobLengths;
  const root = definitions.find((d) => !isConstantModule(d))!;
  return Array.from({ length: count }, () => values.message('', root.definitions));
}

// ---------------------------------------------------------------------------------------------

describe('the test encoder', () => {
  it('writes the same bytes as MessageWriter for little-endian CDR', () => {
    const definitions = parse(KITCHEN_SINK, { ros2: true });
    for (const message of randomMessages(KITCHEN_SINK, 20, 11)) {
      expect(Buffer.from(encodeCdr(definitions, message, EncapsulationKind.CDR_LE)).equals(Buffer.from(messageWriterEncode(definitions, message)))).toBe(true);
    }
  });
});

describe('columnar CDR decoding matches the object path', () => {
  const definitions = parse(KITCHEN_SINK, { ros2: true });

  it('on every primitive, array kind and nesting (kitchen sink), little-endian', () => {
    const messages = randomMessages(KITCHEN_SINK, 40, 1).map((m) => messageWriterEncode(definitions, m));
    const inline = expectIdentical(KITCHEN_SINK, messages, 8192);
    expect(inline.blobCalls).toEqual([]);
    for (const threshold of [4096, 4, 0]) {
      const outcome = expectIdentical(KITCHEN_SINK, messages, threshold);
      expect(outcome.blobCalls.length).toBeGreaterThanOrEqual(messages.length);
    }
  });

  it('on the kitchen sink, big-endian', () => {
    const messages = randomMessages(KITCHEN_SINK, 40, 2).map((m) => encodeCdr(definitions, m, EncapsulationKind.CDR_BE));
    expect(messages[0]!.subarray(0, 2)).toEqual(new Uint8Array([0, 0]));
    for (const threshold of [4096, 4]) expectIdentical(KITCHEN_SINK, messages, threshold);
  });

  it('on a mix of both byte orders in one table', () => {
    const messages = randomMessages(KITCHEN_SINK, 40, 3).map((m, i) =>
      encodeCdr(definitions, m, i % 2 === 0 ? EncapsulationKind.CDR_LE : EncapsulationKind.CDR_BE),
    );
    expectIdentical(KITCHEN_SINK, messages, 64);
  });

  it('on empty arrays and empty strings everywhere', () => {
    const values = new Values(definitions, 4);
    values.blobLengths = [0];
    const messages = Array.from({ length: 5 }, () => {
      const m = values.message('', definitions[0]!.definitions);
      for (const f of definitions[0]!.definitions)
        if (f.isArray === true && f.arrayLength === undefined) m[f.name] = f.type === 'uint8' ? new Uint8Array(0) : [];
      return messageWriterEncode(definitions, m);
    });
    expectIdentical(KITCHEN_SINK, messages, 4096);
  });

  it('on 40 seeded random schemas, both byte orders', () => {
    const prng = new Prng(2026);
    for (let s = 0; s < 40; s++) {
      const text = randomSchema(prng);
      const defs = parse(text, { ros2: true });
      const messages = randomMessages(text, 25, 100 + s).flatMap((m) => [messageWriterEncode(defs, m), encodeCdr(defs, m, EncapsulationKind.CDR_BE)]);
      try {
        expectIdentical(text, messages, s % 3 === 0 ? 0 : 4096);
      } catch (error) {
        throw new Error(`random schema ${s}:\n${text}\n${String(error)}`, { cause: error });
      }
    }
  });

  it.each(ROS2_SCHEMA_NAMES)('on random %s messages', (name) => {
    const text = ROS2_SCHEMAS[name];
    const defs = parse(text, { ros2: true });
    const messages = randomMessages(text, 40, 7, [0, 10, 64, 65, 5000]).flatMap((m) => [
      messageWriterEncode(defs, m),
      encodeCdr(defs, m, EncapsulationKind.CDR_BE),
    ]);
    for (const threshold of [64, 4096]) expectIdentical(text, messages, threshold);
  });

  it('on strings with unicode, byte order marks and invalid UTF-8 (short and long)', () => {
    const text = 'string a\nstring[] b\nstring<=64 c\n';
    const defs = parse(text, { ros2: true });
    const patches: number[][] = [
      [0xff],
      [0xc3],
      [0x41, 0xc3],
      [0xed, 0xa0, 0x80],
      [0xe0, 0x80, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xef, 0xbb, 0xbf, 0x41],
      [0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf],
      [0xef, 0xbb, 0xbf],
      [0xef, 0xbb],
      [0xf0, 0x9f, 0xa4, 0x96],
      [...Buffer.from('x'.repeat(20)), 0x80, ...Buffer.from('y'.repeat(20))],
      [0xef, 0xbb, 0xbf, ...Buffer.from('z'.repeat(40))],
      [...Buffer.from('ü'.repeat(30)), 0xc3],
      [...Buffer.from('€'.repeat(30))],
    ];
    const messages = patches.map((patch, i) => {
      // Encode ASCII placeholders of the right byte length, then overwrite them with the raw bytes.
      const placeholder = (c: string): string => c.repeat(patch.length);
      const data = messageWriterEncode(defs, { a: placeholder('A'), b: ['ok', placeholder('B'), 'π'], c: placeholder('C') });
      for (const c of ['A', 'B', 'C']) {
        const at = Buffer.from(data).indexOf(Buffer.from(placeholder(c)));
        data.set(i % 2 === 0 || c !== 'B' ? patch : patch.slice().reverse(), at);
      }
      return data;
    });
    const outcome = expectIdentical(text, messages, 4096);
    expect(outcome.errors).toEqual([]);
    // Sanity: invalid bytes really were replaced, and a leading byte order mark dropped.
    expect(outcome.table.getChild('a')!.get(0)).toBe('\uFFFD');
    expect(outcome.table.getChild('a')!.get(6)).toBe('A');
  });

  it('on messages packed into one shared buffer at odd offsets', () => {
    const messages = randomMessages(KITCHEN_SINK, 30, 5).map((m) => messageWriterEncode(definitions, m));
    const packed = new Uint8Array(messages.reduce((n, m) => n + m.length + 3, 0));
    let at = 1;
    const views = messages.map((m) => {
      packed.set(m, at);
      const view = packed.subarray(at, at + m.length);
      at += m.length + 3;
      return view;
    });
    const expected = objectPath(KITCHEN_SINK, messages, 64);
    const actual = columnarPath(KITCHEN_SINK, views, 64);
    expect(tableDifference(actual.table, expected.table)).toBeUndefined();
    expect(actual.blobCalls).toEqual(expected.blobCalls);
  });
});

/**
 * Schemas made to hurt the decoder compiler (issue 10, item 6): compilation stays fast on deep
 * chains of nested sequences, and a schema past the complexity limits is refused at planning
 * with a reason that names the limit, quickly, instead of blocking the process for hours.
 */
import { protobufToDescriptor } from '@mcap/support';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { describe, expect, it } from 'vitest';
import { encodeParquet } from '../../src/columnar/parquet.ts';
import { planColumns } from '../../src/decode/column-plan.ts';
import { ColumnarCdrTableBuilder, compileColumnarCdr } from '../../src/decode/columnar/index.ts';
import { classifierFor, decoderFor } from '../../src/decode/registry.ts';
import { compileRos2Msg } from '../../src/decode/ros2-schemas.ts';
import { SchemaTooComplexError } from '../../src/decode/schema-errors.ts';
import type { ChannelInfo, SchemaInfo } from '../../src/mcap/recording-index.ts';
import { MemoryBlobSink, plain } from '../helpers/decode-helpers.ts';
import { doublingSchema, mixedChainMessage, sequenceChainSchema } from '../helpers/deep-schemas.ts';
import { cdrEncoder } from '../helpers/mcap-builders.ts';

const OPTIONS = { blobThresholdBytes: 4096 };
const CHANNEL: ChannelInfo = { id: 1, schemaId: 1, topic: '/deep', messageEncoding: 'cdr', metadata: {} };
/** Far above what compiling or refusing these schemas takes (milliseconds), far below "hours". */
const BOUND_MS = 10_000;

const ros2msg = ({ name, text }: { name: string; text: string }): SchemaInfo => ({
  id: 1,
  name,
  encoding: 'ros2msg',
  data: Buffer.from(text).toString('base64'),
});

function timed<T>(run: () => T): { value: T; ms: number } {
  const start = performance.now();
  const value = run();
  return { value, ms: performance.now() - start };
}

/** The verdict of the planning classifier and how long it took. */
function classify(schema: SchemaInfo, channel = CHANNEL): { verdict: ReturnType<ReturnType<typeof classifierFor>>; ms: number } {
  const { value: verdict, ms } = timed(() => classifierFor(OPTIONS)(schema, channel));
  return { verdict, ms };
}

const refusal = (schemaName: string, detail: RegExp) => ({
  ok: false,
  reason: expect.stringMatching(new RegExp(`^schema ${schemaName.replaceAll('/', '\\/')} is too complex to decode: ${detail.source}`)) as string,
});

describe('columnar decoder compilation of deep chains', () => {
  it('compiles a depth-30 chain of nested unbounded sequences in bounded time, into code linear in the depth', () => {
    const { definitions } = compileRos2Msg(sequenceChainSchema(30).text, 'deep_msgs/msg/S0');
    const { value: program, ms } = timed(() => compileColumnarCdr(definitions, planColumns(definitions, OPTIONS)));
    expect(ms).toBeLessThan(BOUND_MS);
    expect(program.source.length).toBeLessThan(30 * 2000);
  });

  it('refuses to compile a depth-200 chain, in bounded time', () => {
    const { definitions } = compileRos2Msg(sequenceChainSchema(200).text, 'deep_msgs/msg/S0');
    const { value: error, ms } = timed(() => {
      try {
        compileColumnarCdr(definitions, []);
      } catch (caught) {
        return caught;
      }
      return undefined;
    });
    expect(ms).toBeLessThan(BOUND_MS);
    expect(error).toBeInstanceOf(SchemaTooComplexError);
    expect(String(error)).toMatch(/nested messages deeper than the limit of 32 levels/);
  });

  it('decodes a message of a depth-30 chain with mixed alignments as the reference reader does', () => {
    const schema = sequenceChainSchema(30, { mixed: true });
    const { definitions, decode } = compileRos2Msg(schema.text, schema.name);
    const columns = planColumns(definitions, OPTIONS);
    const message = mixedChainMessage(30);
    const data = cdrEncoder(schema.text)(message);
    const { value: builder, ms } = timed(() => new ColumnarCdrTableBuilder(definitions, columns, { ...OPTIONS, blobs: new MemoryBlobSink() }));
    expect(ms).toBeLessThan(BOUND_MS);
    builder.append('rec', '/deep', 5n, 6n, data);
    builder.append('rec', '/deep', 7n, 8n, data);
    const table = builder.finish();
    expect(table.numRows).toBe(2);
    const row = plain(table.get(1)) as Record<string, unknown>;
    expect({ tag: row.tag, c: row.c, v: row.v }).toEqual(message);
    // The object path (the reference reader) agrees.
    expect(decode(data)).toEqual(message);
  });
});

describe('schema complexity limits at planning', () => {
  it('accepts a chain of 16 nested sequences, whose table the Parquet writer takes', () => {
    const schema = sequenceChainSchema(16, { mixed: true });
    const { verdict, ms } = classify(ros2msg(schema));
    expect(ms).toBeLessThan(BOUND_MS);
    expect(verdict.ok).toBe(true);
    const builder = decoderFor(ros2msg(schema), OPTIONS).tableBuilder({ ...OPTIONS, blobs: new MemoryBlobSink() });
    builder.append('rec', '/deep', 1n, 1n, cdrEncoder(schema.text)(mixedChainMessage(16)));
    expect(encodeParquet(builder.finish(), { rowGroupRows: 100 }).length).toBeGreaterThan(0);
  });

  it.each([17, 31])('refuses a chain of %i nested sequences, naming the nested list limit', (depth) => {
    const { verdict, ms } = classify(ros2msg(sequenceChainSchema(depth)));
    expect(ms).toBeLessThan(BOUND_MS);
    expect(verdict).toEqual({
      ok: false,
      reason: `schema deep_msgs/msg/S0 is too complex to decode: column c nests ${depth} lists (sequences), more than the limit of 16 nested lists`,
    });
  });

  it('refuses a depth-200 chain, naming the nesting depth limit', () => {
    const { verdict, ms } = classify(ros2msg(sequenceChainSchema(200)));
    expect(ms).toBeLessThan(BOUND_MS);
    expect(verdict).toEqual(refusal('deep_msgs/msg/S0', /nested messages deeper than the limit of 32 levels/));
  });

  it.each([
    ['14 levels of a type used twice per message', doublingSchema(14)],
    ['30 levels of a type used twice per message, as sequences', doublingSchema(30, { sequences: true })],
  ])('refuses %s, naming the field limit', (_, schema) => {
    const { verdict, ms } = classify(ros2msg(schema));
    expect(ms).toBeLessThan(BOUND_MS);
    expect(verdict).toEqual(refusal('deep_msgs/msg/S0', /.*more than the limit of 10000 fields$/));
  });

  it('refuses a schema under the field limit whose generated decoder exceeds the code size limit', () => {
    // 6142 fields, but as sequences nested 11 deep: about 5 MiB of generated code.
    const { verdict, ms } = classify(ros2msg(doublingSchema(11, { sequences: true })));
    expect(ms).toBeLessThan(BOUND_MS);
    expect(verdict).toEqual(refusal('deep_msgs/msg/S0', /its columnar decoder would be 4\.9 MiB of generated code, more than the limit of 4\.0 MiB$/));
  });

  it('refuses a costly schema once, not once per channel that uses it', () => {
    // Refusing this one means generating its 5 MiB decoder (0.2–0.7 s here), so a recording with
    // a hundred channels of it must not pay that a hundred times on the planning thread.
    const schema = ros2msg({ ...doublingSchema(11, { sequences: true }), name: 'deep_msgs/msg/Shared' });
    const classifier = classifierFor(OPTIONS);
    const { value: verdicts, ms } = timed(() => Array.from({ length: 100 }, (_, i) => classifier(schema, { ...CHANNEL, id: i + 1, topic: `/deep/${i}` })));
    expect(ms).toBeLessThan(BOUND_MS);
    expect(new Set(verdicts.map((v) => (v.ok ? 'ok' : v.reason))).size).toBe(1);
    expect(verdicts[99]).toEqual(refusal('deep_msgs/msg/Shared', /.*more than the limit of 4\.0 MiB$/));
  });

  it('compiles a schema just under the field limit and decodes it', () => {
    // 2^12 − 2 struct fields and 2^11 int32 leaves: 6142 fields.
    const schema = doublingSchema(11);
    const { value: decoder, ms } = timed(() => decoderFor(ros2msg(schema), OPTIONS));
    expect(ms).toBeLessThan(BOUND_MS);
    let leaf = 0;
    const message = (i: number): unknown => (i === 11 ? { x: leaf++ } : { a: message(i + 1), b: message(i + 1) });
    const value = message(0) as Record<string, unknown>;
    const builder = decoder.tableBuilder({ ...OPTIONS, blobs: new MemoryBlobSink() });
    builder.append('rec', '/deep', 1n, 1n, cdrEncoder(schema.text)(value));
    const row = plain(builder.finish().get(0)) as Record<string, unknown>;
    expect({ a: row.a, b: row.b }).toEqual(value);
  });
});

describe('schema complexity limits for protobuf and JSON Schema', () => {
  const protobufSchema = (proto: string, name: string): SchemaInfo => {
    const root = protobuf.parse(proto, { keepCase: true }).root;
    // Map value types are written into the descriptor only once resolved.
    root.resolveAll();
    const data = descriptor.FileDescriptorSet.encode(protobufToDescriptor(root)).finish();
    return { id: 1, name, encoding: 'protobuf', data: Buffer.from(data).toString('base64') };
  };
  const protobufChannel: ChannelInfo = { ...CHANNEL, messageEncoding: 'protobuf' };

  it('refuses a protobuf type used twice per level for 30 levels, naming the field limit', () => {
    const levels = Array.from({ length: 30 }, (_, i) => `message M${i} { M${i + 1} a = 1; M${i + 1} b = 2; }`);
    const schema = protobufSchema(`syntax = "proto3"; package deep; ${levels.join(' ')} message M30 { int32 x = 1; }`, 'deep.M0');
    const { verdict, ms } = classify(schema, protobufChannel);
    expect(ms).toBeLessThan(BOUND_MS);
    expect(verdict).toEqual(refusal('deep.M0', /over 10000 fields .*more than the limit of 10000 fields$/));
  });

  it('refuses JSON Schema objects nested inline into more types than the Parquet writer accepts', () => {
    // No $ref, so no reference depth limit applies: 70 objects, one inside the other.
    let node: object = { type: 'integer' };
    for (let i = 0; i < 70; i++) node = { type: 'object', properties: { o: node } };
    const schema: SchemaInfo = { id: 1, name: 'deep.Nested', encoding: 'jsonschema', data: Buffer.from(JSON.stringify(node)).toString('base64') };
    const { verdict } = classify(schema, { ...CHANNEL, messageEncoding: 'json' });
    expect(verdict).toEqual({
      ok: false,
      reason: 'schema deep.Nested is too complex to decode: column o nests 69 struct and list types, more than the limit of 60 the Parquet writer accepts',
    });
  });

  it('refuses a JSON Schema whose $ref is used twice per level for 30 levels, naming the field limit', () => {
    const definitions = Object.fromEntries(
      Array.from({ length: 30 }, (_, i) => [
        `L${i}`,
        { type: 'object', properties: { a: { $ref: `#/definitions/L${i + 1}` }, b: { $ref: `#/definitions/L${i + 1}` } } },
      ]),
    );
    const text = JSON.stringify({ $ref: '#/definitions/L0', definitions: { ...definitions, L30: { type: 'object', properties: { x: { type: 'integer' } } } } });
    const schema: SchemaInfo = { id: 1, name: 'deep.Json', encoding: 'jsonschema', data: Buffer.from(text).toString('base64') };
    const { verdict, ms } = classify(schema, { ...CHANNEL, messageEncoding: 'json' });
    expect(ms).toBeLessThan(BOUND_MS);
    expect(verdict).toEqual(refusal('deep.Json', /over 10000 fields .*more than the limit of 10000 fields$/));
  });
});

/**
 * JSON: jsonschema schemas with json messages (columns from the schema's properties) and
 * schemaless json channels (one `json` text column), decoded through the registry into Arrow.
 */
import { createHash } from 'node:crypto';
import * as arrow from 'apache-arrow';
import { beforeAll, describe, expect, it } from 'vitest';
import { arrowType } from '../../src/decode/column-plan.ts';
import { classifierFor, decoderFor, type CompiledDecoder } from '../../src/decode/registry.ts';
import { tableNameForSchemalessTopic } from '../../src/decode/schemaless.ts';
import { SchemaTableBuilder } from '../../src/decode/table-builder.ts';
import type { ChannelInfo, SchemaInfo } from '../../src/mcap/recording-index.ts';
import { MemoryBlobSink, plain } from '../helpers/decode-helpers.ts';

const THRESHOLD = 8;

function tableOf(decoder: CompiledDecoder, messages: string[]): arrow.Table {
  const builder = new SchemaTableBuilder(decoder.columns, { blobThresholdBytes: THRESHOLD, blobs: new MemoryBlobSink() });
  messages.forEach((m, i) => builder.append('rec', '/t', BigInt(i), BigInt(i), decoder.decode(new TextEncoder().encode(m))));
  return builder.finish();
}

const channel = (messageEncoding: string, schemaId = 1, topic = '/robot/status'): ChannelInfo => ({ id: 1, schemaId, topic, messageEncoding, metadata: {} });

const JSON_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'demo.Status',
  type: 'object',
  properties: {
    id: { type: 'integer' },
    battery: { type: 'number' },
    name: { type: ['string', 'null'] },
    docked: { type: 'boolean' },
    pose: { $ref: '#/$defs/Pose' },
    tags: { type: 'array', items: { type: 'string' } },
    waypoints: { type: 'array', items: { $ref: '#/$defs/Pose' } },
    image: { type: 'string', contentEncoding: 'base64' },
    extra: { type: 'object' },
    either: { anyOf: [{ type: 'string' }, { type: 'number' }] },
    tree: { $ref: '#/$defs/Tree' },
    log_time: { type: 'string' },
  },
  $defs: {
    Pose: { type: 'object', properties: { x: { type: 'number' }, y: { type: 'number' }, frame: { type: 'string' } } },
    Tree: { type: 'object', properties: { label: { type: 'string' }, children: { type: 'array', items: { $ref: '#/$defs/Tree' } } } },
  },
};

const jsonSchema: SchemaInfo = { id: 1, name: 'demo.Status', encoding: 'jsonschema', data: Buffer.from(JSON.stringify(JSON_SCHEMA)).toString('base64') };

describe('jsonschema + json', () => {
  let decoder: CompiledDecoder;
  let table: arrow.Table;
  const first = {
    id: 9_007_199_254_740_991,
    battery: 0.75,
    name: 'rover',
    docked: true,
    pose: { x: 1.5, y: -2, frame: 'map' },
    tags: ['a', 'b'],
    waypoints: [{ x: 1, y: 2, frame: 'odom' }, { x: 3 }],
    image: Buffer.from('hello, blob world').toString('base64'),
    extra: { anything: [1, { deep: true }] },
    either: 3,
    tree: { label: 'root', children: [{ label: 'leaf', children: [] }] },
    log_time: 'yesterday',
  };

  beforeAll(() => {
    decoder = decoderFor(jsonSchema, { blobThresholdBytes: THRESHOLD }, 'json');
    table = tableOf(decoder, [JSON.stringify(first), JSON.stringify({ id: 2.5, battery: 'full', name: null, tags: [], image: 'aGk=' }), '{}']);
  });

  it('plans columns from the properties: objects as structs, arrays as lists, the rest as JSON text', () => {
    const types = Object.fromEntries(decoder.columns.map((c) => [c.plan.name, String(arrowType(c.plan))]));
    expect(types).toMatchObject({
      id: 'Int64',
      battery: 'Float64',
      name: 'Utf8',
      docked: 'Bool',
      pose: 'Struct<{x:Float64, y:Float64, frame:Utf8}>',
      tags: 'List<Utf8>',
      waypoints: 'List<Struct<{x:Float64, y:Float64, frame:Utf8}>>',
      extra: 'Utf8',
      either: 'Utf8',
      // A recursive $ref has no fixed shape: below the first level it is JSON text.
      tree: 'Struct<{label:Utf8, children:List<Utf8>}>',
      log_time_: 'Utf8',
    });
    expect(decoder.columns.find((c) => c.plan.name === 'image')!.plan.kind).toBe('blob');
  });

  it('decodes values, integers as bigint, base64 as bytes, and unrepresentable values as JSON text', () => {
    const row = (name: string, i: number) => plain(table.getChild(name)!.get(i));
    expect(row('id', 0)).toBe(9_007_199_254_740_991n);
    expect(row('battery', 0)).toBe(0.75);
    expect(row('name', 0)).toBe('rover');
    expect(row('docked', 0)).toBe(true);
    expect(row('pose', 0)).toEqual({ x: 1.5, y: -2, frame: 'map' });
    expect(row('tags', 0)).toEqual(['a', 'b']);
    expect(row('waypoints', 0)).toEqual([
      { x: 1, y: 2, frame: 'odom' },
      { x: 3, y: null, frame: null },
    ]);
    expect(row('image', 0)).toMatchObject({ inline: null, length: 17n, sha256: createHash('sha256').update('hello, blob world').digest('hex') });
    expect(JSON.parse(row('extra', 0) as string)).toEqual(first.extra);
    expect(row('either', 0)).toBe('3');
    expect(row('tree', 0)).toEqual({ label: 'root', children: [JSON.stringify(first.tree.children[0])] });
    expect(row('log_time_', 0)).toBe('yesterday');
  });

  it('turns missing fields and values of the wrong type into nulls, not errors', () => {
    const row = (name: string, i: number) => plain(table.getChild(name)!.get(i));
    expect([row('id', 1), row('battery', 1), row('name', 1), row('docked', 1), row('pose', 1), row('tags', 1)]).toEqual([null, null, null, null, null, []]);
    expect(row('image', 1)).toMatchObject({ inline: [...Buffer.from('hi')], length: 2n });
    expect(decoder.columns.map((c) => row(c.plan.name, 2))).toEqual(decoder.columns.map(() => null));
  });

  it('rejects a message that is not a JSON object as a decode error', () => {
    expect(() => decoder.decode(new TextEncoder().encode('[1, 2]'))).toThrow(/array, not an object/);
    expect(() => decoder.decode(new TextEncoder().encode('{"id": '))).toThrow();
  });

  it('explains schemas without usable properties or not JSON at all', () => {
    const classify = classifierFor({ blobThresholdBytes: THRESHOLD });
    const of = (text: string): SchemaInfo => ({ ...jsonSchema, data: Buffer.from(text).toString('base64') });
    expect(classify(jsonSchema, channel('json')).ok).toBe(true);
    expect(classify(of('{"type": "string"}'), channel('json'))).toEqual({
      ok: false,
      reason: expect.stringContaining('does not describe an object with properties'),
    });
    expect(classify(of('{ nope'), channel('json'))).toEqual({ ok: false, reason: expect.stringContaining('demo.Status is not valid JSON') });
    expect(classify(jsonSchema, channel('cbor'))).toEqual({
      ok: false,
      reason: expect.stringContaining('"cbor" is not supported for jsonschema schemas (expected "json")'),
    });
  });
});

describe('schemaless json', () => {
  it('is not accepted unless the caller opts in (the pipeline does not route schemaless tables yet)', () => {
    const verdict = classifierFor({ blobThresholdBytes: THRESHOLD })(undefined, channel('json', 0, '/robot/status'));
    expect(verdict).toEqual({ ok: false, reason: 'channel /robot/status has no schema (schema id 0), so its "json" messages cannot be decoded' });
  });

  it('is accepted with a table named after the topic and keeps each message as JSON text', () => {
    const classify = classifierFor({ blobThresholdBytes: THRESHOLD, decodeSchemaless: true });
    const verdict = classify(undefined, channel('json', 0, '/robot/status'));
    expect(verdict).toMatchObject({ ok: true, table: 'json_robot_status' });
    // Every schemaless json table has the same columns, so topics that meet in one name agree.
    expect(classify(undefined, channel('json', 0, '/robot_status'))).toEqual({ ...verdict, table: 'json_robot_status' });

    const decoder = decoderFor(undefined, { blobThresholdBytes: THRESHOLD }, 'json');
    expect(decoder.columns.map((c) => [c.plan.name, String(arrowType(c.plan))])).toEqual([['json', 'Utf8']]);
    const text = '{"speed": 1.25, "mode": "auto", "ok": [true]}';
    const table = tableOf(decoder, [text, '42']);
    expect(table.getChild('json')!.get(0)).toBe(text);
    expect(table.getChild('json')!.get(1)).toBe('42');
    expect(() => decoder.decode(new TextEncoder().encode('not json'))).toThrow();
  });

  it('derives table names from topics', () => {
    expect(tableNameForSchemalessTopic('json', '/robot/status')).toBe('json_robot_status');
    expect(tableNameForSchemalessTopic('json', 'diagnostics')).toBe('json_diagnostics');
    expect(tableNameForSchemalessTopic('json', '/a//b-c.d/')).toBe('json_a_b_c_d');
    expect(tableNameForSchemalessTopic('json', '/')).toBe('json_root');
  });

  it('explains schemaless channels of other encodings, naming what works without a schema', () => {
    const verdict = classifierFor({ blobThresholdBytes: THRESHOLD, decodeSchemaless: true })(undefined, channel('cdr', 0, '/raw'));
    expect(verdict.ok).toBe(false);
    expect(!verdict.ok && verdict.reason).toContain('channel /raw has no schema (schema id 0)');
    expect(!verdict.ok && verdict.reason).toContain('only "json" can');
    expect(() => decoderFor(undefined, { blobThresholdBytes: THRESHOLD }, 'cdr')).toThrow(/schemaless "cdr" messages is not supported/);
  });
});

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type * as arrow from 'apache-arrow';
import { beforeAll, describe, expect, it } from 'vitest';
import { classifierFor, decoderFor } from '../../src/decode/registry.ts';
import { SchemaTableBuilder } from '../../src/decode/table-builder.ts';
import type { ChannelInfo, SchemaInfo } from '../../src/mcap/recording-index.ts';
import { ROS2_SCHEMAS } from '../../src/synth/ros2-schemas.ts';
import { fixture } from '../helpers/fixtures.ts';
import { cdrEncoder, openIndexed } from '../helpers/mcap-builders.ts';
import { MemoryBlobSink } from '../helpers/decode-helpers.ts';

const THRESHOLD = 4096;
const RECORDING = '0123456789abcdef0123456789abcdef';

/** Collects blobs into one in-memory "pack", as the extract operator does into S3 objects. */

function schemaInfo(id: number, name: string, text: string, encoding = 'ros2msg'): SchemaInfo {
  return { id, name, encoding, data: Buffer.from(text).toString('base64') };
}

function channel(schemaId: number, messageEncoding = 'cdr', topic = '/t'): ChannelInfo {
  return { id: 1, schemaId, topic, messageEncoding, metadata: {} };
}

function bytesOfLength(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

describe('SchemaTableBuilder with sensor_msgs/msg/CompressedImage', () => {
  const schema = schemaInfo(1, 'sensor_msgs/msg/CompressedImage', ROS2_SCHEMAS['sensor_msgs/msg/CompressedImage']);
  const encode = cdrEncoder(ROS2_SCHEMAS['sensor_msgs/msg/CompressedImage']);
  const big = bytesOfLength(10_240, 7);
  const small = bytesOfLength(100, 3);
  let table: arrow.Table;
  let sink: MemoryBlobSink;

  beforeAll(() => {
    const decoder = decoderFor(schema, { blobThresholdBytes: THRESHOLD });
    sink = new MemoryBlobSink('s3://derived/objects/blobs/pack.bin');
    const builder = new SchemaTableBuilder(decoder.columns, { blobThresholdBytes: THRESHOLD, blobs: sink });
    const frames = [
      { stamp: { sec: 1_768_467_600, nanosec: 5 }, format: 'jpeg', data: big },
      { stamp: { sec: 1_768_467_601, nanosec: 999_999_999 }, format: 'png', data: small },
      { stamp: { sec: 1_768_467_602, nanosec: 0 }, format: 'jpeg', data: new Uint8Array(0) },
    ];
    frames.forEach((f, i) => {
      const cdr = encode({ header: { stamp: f.stamp, frame_id: 'camera' }, format: f.format, data: f.data });
      builder.append(
        RECORDING,
        '/camera/image/compressed',
        1_768_467_600_000_000_000n + BigInt(i),
        1_768_467_599_000_000_000n + BigInt(i),
        decoder.decode(cdr),
      );
    });
    expect(builder.rowCount).toBe(3);
    table = builder.finish();
  });

  it('has the fixed columns then the message columns', () => {
    expect(table.schema.fields.map((f) => f.name)).toEqual(['recording_id', 'topic', 'log_time', 'publish_time', 'header', 'format', 'data']);
    expect(table.numRows).toBe(3);
    expect(table.getChild('recording_id')!.get(0)).toBe(RECORDING);
    expect(table.getChild('topic')!.get(2)).toBe('/camera/image/compressed');
    expect(table.getChild('log_time')!.get(1)).toBe(1_768_467_600_000_000_001n);
    expect(table.getChild('publish_time')!.get(2)).toBe(1_768_467_599_000_000_002n);
    expect(table.getChild('format')!.toArray()).toEqual(['jpeg', 'png', 'jpeg']);
  });

  it('keeps the header stamp as sec/nanosec', () => {
    const header = table.getChild('header')!.get(1)!.toJSON() as { stamp: { toJSON(): unknown }; frame_id: string };
    expect(header.frame_id).toBe('camera');
    expect(header.stamp.toJSON()).toEqual({ sec: 1_768_467_601, nanosec: 999_999_999 });
  });

  it('stores a 10 KB image as a blob reference whose bytes and sha256 match the image', () => {
    const ref = table.getChild('data')!.get(0)!.toJSON() as { inline: Uint8Array | null; uri: string; offset: bigint; length: bigint; sha256: string };
    expect(ref.inline).toBeNull();
    expect(ref.uri).toBe('s3://derived/objects/blobs/pack.bin');
    expect(ref.length).toBe(10_240n);
    expect(ref.sha256).toBe(createHash('sha256').update(big).digest('hex'));
    expect(Buffer.from(sink.read(Number(ref.offset), Number(ref.length))).equals(Buffer.from(big))).toBe(true);
    expect(sink.pieces).toHaveLength(1);
  });

  it('keeps a 100-byte image inline, with its length and no reference', () => {
    const ref = table.getChild('data')!.get(1)!.toJSON() as {
      inline: Uint8Array | null;
      uri: string | null;
      offset: bigint | null;
      length: bigint;
      sha256: string | null;
    };
    expect(Buffer.from(ref.inline!).equals(Buffer.from(small))).toBe(true);
    expect(ref).toMatchObject({ uri: null, offset: null, length: 100n, sha256: null });
  });

  it('keeps an empty image inline as zero bytes, not null', () => {
    const ref = table.getChild('data')!.get(2)!.toJSON() as { inline: Uint8Array | null; length: bigint };
    expect(ref.length).toBe(0n);
    expect(ref.inline).not.toBeNull();
    expect(ref.inline!.length).toBe(0);
  });
});

describe('SchemaTableBuilder with the real cdr_test messages', () => {
  it('stores every BasicTypes and Arrays message with the values the CDR decoder read', async () => {
    const reader = await openIndexed(readFileSync(fixture('cdr_test').path));
    const schemas = new Map([...reader.schemasById.values()].map((s) => [s.id, schemaInfo(s.id, s.name, new TextDecoder().decode(s.data))]));
    const sink = new MemoryBlobSink('s3://derived/objects/blobs/pack.bin');
    const builders = new Map<number, { builder: SchemaTableBuilder; decoded: Record<string, unknown>[] }>();
    for await (const message of reader.readMessages()) {
      const channelInfo = reader.channelsById.get(message.channelId)!;
      let entry = builders.get(channelInfo.schemaId);
      const decoder = decoderFor(schemas.get(channelInfo.schemaId), { blobThresholdBytes: THRESHOLD });
      if (entry === undefined) {
        entry = { builder: new SchemaTableBuilder(decoder.columns, { blobThresholdBytes: THRESHOLD, blobs: sink }), decoded: [] };
        builders.set(channelInfo.schemaId, entry);
      }
      const decoded = decoder.decode(message.data);
      entry.decoded.push(decoded);
      entry.builder.append(RECORDING, channelInfo.topic, message.logTime, message.publishTime, decoded);
    }
    const byName = new Map([...builders].map(([id, e]) => [schemas.get(id)!.name, { table: e.builder.finish(), decoded: e.decoded }]));

    const basic = byName.get('test_msgs/msg/BasicTypes')!;
    expect(basic.table.numRows).toBe(basic.decoded.length);
    expect(basic.table.numRows).toBeGreaterThan(0);
    for (const [i, d] of basic.decoded.entries()) {
      expect(basic.table.getChild('int64_value')!.get(i)).toBe(d.int64_value);
      expect(basic.table.getChild('uint64_value')!.get(i)).toBe(d.uint64_value);
      expect(basic.table.getChild('float64_value')!.get(i)).toBe(d.float64_value);
      expect(basic.table.getChild('bool_value')!.get(i)).toBe(d.bool_value);
    }

    const arrays = byName.get('test_msgs/msg/Arrays')!;
    expect(arrays.table.numRows).toBe(arrays.decoded.length);
    for (const [i, d] of arrays.decoded.entries()) {
      expect([...arrays.table.getChild('int64_values')!.get(i)!]).toEqual([...(d.int64_values as BigInt64Array)]);
      expect([...arrays.table.getChild('float32_values')!.get(i)!]).toEqual([...(d.float32_values as Float32Array)]);
      expect([...arrays.table.getChild('string_values')!.get(i)!]).toEqual(d.string_values);
      expect([...(arrays.table.getChild('uint8_values')!.get(i) as Uint8Array)]).toEqual([...(d.uint8_values as Uint8Array)]);
      const nested = arrays.table.getChild('basic_types_values')!.get(i)!;
      const expected = d.basic_types_values as { int32_value: number; uint64_value: bigint }[];
      expect(nested.length).toBe(expected.length);
      expect(nested.get(2).int32_value).toBe(expected[2]!.int32_value);
      expect(nested.get(2).uint64_value).toBe(expected[2]!.uint64_value);
    }
    // Nothing in these schemas is a large byte array.
    expect(sink.pieces).toHaveLength(0);
  });
});

describe('classifierFor', () => {
  const classify = classifierFor({ blobThresholdBytes: THRESHOLD });
  const good = schemaInfo(1, 'std_msgs/msg/String', 'string data\n');

  it('accepts ros2msg schemas with cdr messages, fingerprinting the definition', () => {
    const verdict = classify(good, channel(1));
    expect(verdict.ok).toBe(true);
    const same = classify(schemaInfo(7, 'std_msgs/msg/String', 'string data\n'), channel(7));
    const other = classify(schemaInfo(1, 'std_msgs/msg/String', 'string data\nint32 n\n'), channel(1));
    expect(same).toEqual(verdict);
    expect(other.ok && verdict.ok && other.fingerprint !== verdict.fingerprint).toBe(true);
  });

  it('explains an unsupported schema encoding', () => {
    const verdict = classify(schemaInfo(1, 'foxglove.Pose', '\u0000\u0001', 'protobuf2'), channel(1, 'protobuf'));
    expect(verdict).toEqual({ ok: false, reason: expect.stringContaining('"protobuf2"') });
    expect(!verdict.ok && verdict.reason).toContain('not supported');
  });

  it('explains a message encoding that does not match the schema encoding (wrong_format)', () => {
    const verdict = classify(good, channel(1, 'wrong_format'));
    expect(verdict.ok).toBe(false);
    expect(!verdict.ok && verdict.reason).toContain('"wrong_format"');
    expect(!verdict.ok && verdict.reason).toContain('"cdr"');
  });

  it('explains a schema text that does not parse, naming the schema', () => {
    const verdict = classify(schemaInfo(1, 'pkg/msg/Broken', 'this is not { a message definition\n'), channel(1));
    expect(verdict.ok).toBe(false);
    expect(!verdict.ok && verdict.reason).toContain('pkg/msg/Broken could not be parsed');
  });

  it('explains a schema that parses but refers to an undefined type', () => {
    const verdict = classify(schemaInfo(1, 'pkg/msg/Robot', 'geometry_msgs/Pose pose\n'), channel(1));
    expect(verdict.ok).toBe(false);
    expect(!verdict.ok && verdict.reason).toContain('pkg/msg/Robot');
  });

  it('explains a channel without a schema (schema id 0)', () => {
    const verdict = classify(undefined, channel(0, 'cdr', '/raw'));
    expect(verdict.ok).toBe(false);
    expect(!verdict.ok && verdict.reason).toContain('/raw');
    expect(!verdict.ok && verdict.reason).toContain('no schema');
    expect(classify(good, channel(0)).ok).toBe(false);
  });
});

describe('decoderFor', () => {
  it('throws for an unsupported schema encoding', () => {
    expect(() => decoderFor(schemaInfo(1, 'x', '', 'flatbuffer'), { blobThresholdBytes: THRESHOLD })).toThrow(/flatbuffer/);
  });

  it('returns the same compiled decoder for the same schema and threshold, a new one for another threshold', () => {
    const schema = schemaInfo(1, 'std_msgs/msg/String', 'string data\n');
    const a = decoderFor(schema, { blobThresholdBytes: 10 });
    expect(decoderFor({ ...schema, id: 5 }, { blobThresholdBytes: 10 })).toBe(a);
    expect(decoderFor(schema, { blobThresholdBytes: 11 })).not.toBe(a);
  });

  it('plans blob columns with the threshold it was given', () => {
    const schema = schemaInfo(1, 'pkg/msg/Digest', 'uint8[32] digest\n');
    expect(decoderFor(schema, { blobThresholdBytes: 64 }).columns[0]!.plan.kind).toBe('bytes');
    expect(decoderFor(schema, { blobThresholdBytes: 16 }).columns[0]!.plan.kind).toBe('blob');
  });
});

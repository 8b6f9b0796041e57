/**
 * The decoder registry: which (schema encoding, message encoding) pairs are decoded, and the
 * reasons given for the rest, which a user reads in `process --json` output.
 */
import { describe, expect, it } from 'vitest';
import { classifierFor, decoderFor } from '../../src/decode/registry.ts';
import type { ChannelInfo, SchemaInfo } from '../../src/mcap/recording-index.ts';

const OPTIONS = { blobThresholdBytes: 4096 };
const classify = classifierFor(OPTIONS);

const schema = (encoding: string, name = 'demo/Thing', data = 'int32 x\n'): SchemaInfo => ({
  id: 1,
  name,
  encoding,
  data: Buffer.from(data).toString('base64'),
});
const channel = (messageEncoding: string, schemaId = 1): ChannelInfo => ({ id: 3, schemaId, topic: '/thing', messageEncoding, metadata: {} });

const SUPPORTED = 'ros2msg+cdr, ros2idl+cdr, ros1msg+ros1, protobuf+protobuf, jsonschema+json, schemaless json';

describe('classifierFor', () => {
  it.each([
    ['flatbuffer', 'flatbuffer'],
    ['omgidl', 'cdr'],
    ['ros2msg2', 'cdr'],
  ])('calls schema encoding %s unsupported, listing the supported pairs', (schemaEncoding, messageEncoding) => {
    const verdict = classify(schema(schemaEncoding), channel(messageEncoding));
    expect(verdict).toEqual({ ok: false, reason: `schema encoding "${schemaEncoding}" of demo/Thing is not supported (supported: ${SUPPORTED})` });
  });

  it.each([
    ['ros2msg', 'ros1', '"cdr"'],
    ['ros2idl', 'json', '"cdr"'],
    ['ros1msg', 'cdr', '"ros1"'],
    ['protobuf', 'cdr', '"protobuf"'],
    ['jsonschema', 'protobuf', '"json"'],
  ])('refuses %s schemas with %s messages, naming the expected message encoding', (schemaEncoding, messageEncoding, expected) => {
    const verdict = classify(schema(schemaEncoding), channel(messageEncoding));
    expect(verdict).toEqual({
      ok: false,
      reason: `message encoding "${messageEncoding}" is not supported for ${schemaEncoding} schemas (expected ${expected})`,
    });
  });

  it('accepts each supported pair with a parseable schema', () => {
    expect(classify(schema('ros2msg'), channel('cdr')).ok).toBe(true);
    expect(classify(schema('ros1msg'), channel('ros1')).ok).toBe(true);
    expect(classify(schema('jsonschema', 'demo.Thing', '{"type":"object","properties":{"x":{"type":"integer"}}}'), channel('json')).ok).toBe(true);
    expect(classify(schema('ros2idl', 'demo/msg/Thing', 'module demo { module msg { struct Thing { int32 x; }; }; };'), channel('cdr')).ok).toBe(true);
    expect(classifierFor({ ...OPTIONS, decodeSchemaless: true })(undefined, channel('json', 0))).toMatchObject({ ok: true, table: 'json_thing' });
  });

  it('gives different fingerprints to different definitions of one schema name, equal ones to equal', () => {
    const a = classify(schema('ros1msg', 'demo/Thing', 'int32 x\n'), channel('ros1'));
    const b = classify(schema('ros1msg', 'demo/Thing', 'int32 y\n'), channel('ros1'));
    const a2 = classify({ ...schema('ros1msg', 'demo/Thing', 'int32 x\n'), id: 9 }, channel('ros1'));
    expect(a.ok && b.ok && a.fingerprint !== b.fingerprint).toBe(true);
    expect(a2).toEqual(a);
  });
});

describe('decoderFor', () => {
  it("uses the schema encoding's message encoding when none is given, and refuses other pairs", () => {
    const ros1 = schema('ros1msg');
    expect(decoderFor(ros1, OPTIONS)).toBe(decoderFor(ros1, OPTIONS, 'ros1'));
    expect(() => decoderFor(ros1, OPTIONS, 'cdr')).toThrow(`schema encoding "ros1msg" with message encoding "cdr" is not supported (supported: ${SUPPORTED})`);
    expect(() => decoderFor(schema('flatbuffer'), OPTIONS)).toThrow(/"flatbuffer"/);
  });

  it('decodes with the pair the schema encoding names: the same text is ROS 1 or ROS 2 by encoding', () => {
    const text = 'time stamp\n';
    const ros1 = decoderFor(schema('ros1msg', 'demo/Stamp', text), OPTIONS);
    const ros2 = decoderFor(schema('ros2msg', 'demo/Stamp', text), OPTIONS);
    const bytes = Uint8Array.from([1, 0, 0, 0, 2, 0, 0, 0]);
    expect(ros1.decode(bytes)).toEqual({ stamp: { sec: 1, nsec: 2 } });
    // ROS 2: 4-byte CDR header, then the same two numbers.
    expect(ros2.decode(Uint8Array.from([0, 1, 0, 0, ...bytes]))).toEqual({ stamp: { sec: 1, nanosec: 2 } });
  });
});

import { describe, expect, it } from 'vitest';
import { contentAddress, type AddressInputs } from '../../src/domain/addresses.ts';
import { canonicalJson } from '../../src/domain/canonical-json.ts';

describe('canonicalJson', () => {
  it('gives the same text whatever order keys were inserted in, at every depth', () => {
    const a = { b: 1, a: { y: [3, { q: 1, p: 2 }], x: 'x' } };
    const b = { a: { x: 'x', y: [3, { p: 2, q: 1 }] }, b: 1 };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(canonicalJson(a)).toBe('{"a":{"x":"x","y":[3,{"p":2,"q":1}]},"b":1}');
  });

  it('keeps array order (it is data, not layout)', () => {
    expect(canonicalJson([2, 1])).not.toBe(canonicalJson([1, 2]));
  });

  it('writes bigints as decimal strings, exactly, beyond 2^53', () => {
    expect(canonicalJson({ t: 18446744073709551615n, n: -5n })).toBe('{"n":"-5","t":"18446744073709551615"}');
  });

  it('drops undefined properties, so absent and undefined are the same', () => {
    expect(canonicalJson({ a: 1, b: undefined })).toBe(canonicalJson({ a: 1 }));
    expect(canonicalJson({ a: 1, b: null })).not.toBe(canonicalJson({ a: 1 }));
  });

  it('serialises a Map as an object with sorted keys', () => {
    expect(
      canonicalJson(
        new Map<string, unknown>([
          ['z', 1n],
          ['a', { d: 2, c: 1 }],
        ]),
      ),
    ).toBe('{"a":{"c":1,"d":2},"z":"1"}');
  });

  it('indents when asked', () => {
    expect(canonicalJson({ b: 1, a: 2 }, 2)).toBe('{\n  "a": 2,\n  "b": 1\n}');
  });
});

describe('contentAddress', () => {
  const inputs: AddressInputs = {
    recordingId: '0123456789abcdef0123456789abcdef',
    operator: 'extract@3',
    slice: { span: 4, table: 'sensor_msgs_msg_Imu' },
    params: { blobThresholdBytes: 4096, spanMaxBytes: 33554432 },
  };

  it('is 64 hex characters and stable across key order', () => {
    const address = contentAddress(inputs);
    expect(address).toMatch(/^[0-9a-f]{64}$/);
    expect(
      contentAddress({
        params: { spanMaxBytes: 33554432, blobThresholdBytes: 4096 },
        slice: { table: 'sensor_msgs_msg_Imu', span: 4 },
        operator: 'extract@3',
        recordingId: inputs.recordingId,
      }),
    ).toBe(address);
  });

  it('changes when the operator version, a parameter, the slice or the recording changes', () => {
    const address = contentAddress(inputs);
    const variants = [
      { ...inputs, operator: 'extract@4' },
      { ...inputs, params: { ...inputs.params, blobThresholdBytes: 8192 } },
      { ...inputs, params: { ...inputs.params, extra: true } },
      { ...inputs, slice: { ...inputs.slice, span: 5 } },
      { ...inputs, recordingId: 'f'.repeat(32) },
    ].map(contentAddress);
    expect(new Set([address, ...variants]).size).toBe(variants.length + 1);
  });
});

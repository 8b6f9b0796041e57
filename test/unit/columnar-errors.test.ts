/**
 * Messages the columnar path must refuse, and what refusing must not do: a failed append
 * leaves every column (and the BlobSink) as it was, and the next message appends normally.
 */
import { createHash } from 'node:crypto';
import { parse } from '@foxglove/rosmsg';
import { MessageReader, MessageWriter } from '@foxglove/rosmsg2-serialization';
import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { planColumns } from '../../src/decode/column-plan.ts';
import { CdrEncapsulationError, ColumnarCdrTableBuilder, CdrTruncatedError, tableDifference } from '../../src/decode/columnar/index.ts';
import type { BlobRef, BlobSink } from '../../src/decode/table-builder.ts';
import { ROS2_SCHEMAS } from '../../src/synth/ros2-schemas.ts';

/** Strings, sequences, nested lists, a blob inside a list and a trailing NUL-terminated string. */
const SCHEMA = `builtin_interfaces/Time stamp
string frame_id
float64[] values
errors_msgs/Item[] items
uint8[] payload
int64 big
string tail
================================================================================
MSG: errors_msgs/Item
string name
int32[] counts
uint8[] data
bool ok
================================================================================
MSG: builtin_interfaces/Time
int32 sec
uint32 nanosec
`;

const definitions = parse(SCHEMA, { ros2: true });
const BLOB_THRESHOLD = 8;

/** Refs depend only on the bytes, so two sinks agree whatever calls failed in between. */
function contentSink(options: { failOnCall?: number } = {}): BlobSink & { calls: number } {
  const sink = {
    calls: 0,
    put(bytes: Uint8Array): BlobRef {
      sink.calls += 1;
      if (sink.calls === options.failOnCall) throw new Error('blob store unavailable');
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      return { uri: `s3://derived/objects/blobs/${sha256.slice(0, 8)}.bin`, offset: 0, length: bytes.length, sha256, chunkOffset: null };
    },
  };
  return sink;
}

function builder(blobs: BlobSink = contentSink()): ColumnarCdrTableBuilder {
  return new ColumnarCdrTableBuilder(definitions, planColumns(definitions, { blobThresholdBytes: BLOB_THRESHOLD }), {
    blobThresholdBytes: BLOB_THRESHOLD,
    blobs,
  });
}

function encode(message: unknown): Uint8Array {
  const writer = new MessageWriter(definitions);
  const out = writer.writeMessage(message, new ArrayBuffer(writer.calculateByteSize(message)) as unknown as Uint8Array);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength).slice();
}

function sample(i: number): Uint8Array {
  return encode({
    stamp: { sec: i, nanosec: 1000 + i },
    frame_id: `frame_${i}`,
    values: Float64Array.from({ length: i % 4 }, (_, k) => k + i / 7),
    items: Array.from({ length: 1 + (i % 3) }, (_, k) => ({
      name: `item ${k} ✓`,
      counts: Int32Array.from({ length: k + 1 }, (_, j) => j - k),
      data: Uint8Array.from({ length: 4 + 6 * k }, (_, j) => j + i),
      ok: k % 2 === 0,
    })),
    payload: Uint8Array.from({ length: 3 + 5 * (i % 3) }, (_, j) => 255 - j),
    big: BigInt(i) * -1_000_000_000_007n,
    tail: i % 2 === 0 ? '' : 'the end',
  });
}

function ipc(table: arrow.Table): Buffer {
  return Buffer.from(arrow.tableToIPC(table));
}

function referenceThrows(data: Uint8Array): boolean {
  try {
    new MessageReader(definitions).readMessage(data);
    return false;
  } catch {
    return true;
  }
}

describe('a message that cannot be decoded', () => {
  const good = Array.from({ length: 6 }, (_, i) => sample(i));

  it('fails exactly where MessageReader fails, at every truncation point', () => {
    let accepted = 0;
    for (const message of good.slice(0, 3)) {
      for (let length = 0; length < message.length; length++) {
        // An exact-size copy: MessageReader checks some reads against the whole ArrayBuffer only.
        const cut = message.slice(0, length);
        const b = builder();
        let threw = false;
        try {
          b.append('rec', '/t', 1n, 1n, cut);
        } catch {
          threw = true;
        }
        expect({ length, threw }).toEqual({ length, threw: referenceThrows(cut) });
        if (!threw) accepted++;
      }
    }
    // MessageReader never reads a string's NUL, so each message missing only its final NUL decodes (in both).
    expect(accepted).toBe(3);
  });

  it('fails on a truncated view into a larger buffer, where MessageReader may read on past its end', () => {
    const message = good[1]!;
    const packed = new Uint8Array(message.length * 2);
    packed.set(message);
    packed.set(message, message.length);
    for (let length = 4; length < message.length - 1; length++) {
      expect(() => builder().append('rec', '/t', 1n, 1n, packed.subarray(0, length))).toThrow();
    }
  });

  it('throws from append and leaves rowCount, every column and the BlobSink as they were', () => {
    const blobs = contentSink();
    const b = builder(blobs);
    const clean = builder(contentSink());
    let rejected = 0;
    good.forEach((message, i) => {
      b.append('rec', '/t', BigInt(i), BigInt(i), message);
      clean.append('rec', '/t', BigInt(i), BigInt(i), message);
      // Every truncation of the next message that MessageReader refuses must be refused without a trace.
      const next = good[(i + 1) % good.length]!;
      for (let length = 0; length < next.length; length += 3) {
        const cut = next.slice(0, length);
        if (!referenceThrows(cut)) continue;
        const rows = b.rowCount;
        const calls = blobs.calls;
        expect(() => b.append('rec', '/t', 99n, 99n, cut)).toThrow();
        expect(b.rowCount).toBe(rows);
        expect(blobs.calls).toBe(calls);
        rejected++;
      }
    });
    expect(rejected).toBeGreaterThan(100);
    const table = b.finish();
    const expected = clean.finish();
    expect(table.numRows).toBe(good.length);
    expect(tableDifference(table, expected)).toBeUndefined();
    expect(ipc(table).equals(ipc(expected))).toBe(true);
  });

  it('names the truncation in its error', () => {
    const message = good[2]!;
    expect(() => builder().append('rec', '/t', 1n, 1n, message.slice(0, 10))).toThrow(CdrTruncatedError);
    expect(() => builder().append('rec', '/t', 1n, 1n, message.slice(0, 10))).toThrow(/truncated.*offset \d+.*\(10 bytes\)/);
  });

  it('refuses an absurd sequence length at once instead of allocating for it', () => {
    const defs = parse(ROS2_SCHEMAS['tf2_msgs/msg/TFMessage'], { ros2: true });
    const b = new ColumnarCdrTableBuilder(defs, planColumns(defs, { blobThresholdBytes: 4096 }), { blobThresholdBytes: 4096, blobs: contentSink() });
    const data = new Uint8Array([0, 1, 0, 0, 0xf0, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    const started = performance.now();
    expect(() => b.append('rec', '/tf', 1n, 1n, data)).toThrow(CdrTruncatedError);
    expect(performance.now() - started).toBeLessThan(100);
    expect(b.rowCount).toBe(0);
    // Same for a primitive sequence and a string.
    const c = builder();
    const corrupt = sample(3);
    new DataView(corrupt.buffer).setUint32(12, 0xfffffff0, true); // frame_id length, after the header and stamp
    expect(() => c.append('rec', '/t', 1n, 1n, corrupt)).toThrow(CdrTruncatedError);
    expect(c.rowCount).toBe(0);
  });

  it('rolls back when the BlobSink fails part-way through a message, then carries on', () => {
    // Message 0 has no blob over the threshold; message 2 has three (two item data arrays and the payload): fail its second.
    const blobs = contentSink({ failOnCall: 2 });
    const b = builder(blobs);
    const clean = builder(contentSink());
    b.append('rec', '/t', 0n, 0n, good[0]!);
    clean.append('rec', '/t', 0n, 0n, good[0]!);
    expect(blobs.calls).toBe(0);
    expect(() => b.append('rec', '/t', 1n, 1n, good[2]!)).toThrow('blob store unavailable');
    expect(blobs.calls).toBe(2);
    expect(b.rowCount).toBe(1);
    for (const i of [2, 3, 4]) {
      b.append('rec', '/t', BigInt(i), BigInt(i), good[i]!);
      clean.append('rec', '/t', BigInt(i), BigInt(i), good[i]!);
    }
    const table = b.finish();
    expect(tableDifference(table, clean.finish())).toBeUndefined();
    expect(ipc(table).equals(ipc(clean.finish()))).toBe(true);
  });
});

describe('encapsulation', () => {
  const message = sample(1);
  const withHeader = (b0: number, b1: number): Uint8Array => {
    const copy = message.slice();
    copy[0] = b0;
    copy[1] = b1;
    return copy;
  };

  it.each([
    [0x00, 0x02, /PL_CDR_BE \(parameter list\) is not supported/],
    [0x00, 0x03, /PL_CDR_LE \(parameter list\) is not supported/],
    [0x00, 0x07, /CDR2_LE \(XCDR2\) is not supported/],
    [0x00, 0x0b, /PL_CDR2_LE/],
    [0x01, 0x01, /unknown CDR encapsulation 0x0101/],
    [0x00, 0x05, /unknown CDR encapsulation 0x0005/],
  ])('refuses 0x%s%s by name', (b0, b1, error) => {
    const b = builder();
    expect(() => b.append('rec', '/t', 1n, 1n, withHeader(b0, b1))).toThrow(CdrEncapsulationError);
    expect(() => b.append('rec', '/t', 1n, 1n, withHeader(b0, b1))).toThrow(error);
    expect(b.rowCount).toBe(0);
  });

  it('refuses a message shorter than its header', () => {
    expect(() => builder().append('rec', '/t', 1n, 1n, new Uint8Array([0, 1, 0]))).toThrow(/shorter than its 4-byte encapsulation header/);
  });

  it('ignores the options bytes, as CdrReader does', () => {
    const b = builder();
    const copy = message.slice();
    copy[2] = 0x00;
    copy[3] = 0x03;
    b.append('rec', '/t', 1n, 1n, copy);
    expect(b.rowCount).toBe(1);
  });
});

describe('schemas MessageReader cannot decode either', () => {
  it('fails on wstring fields, like MessageReader', () => {
    const defs = parse('int32 a\nwstring w\n', { ros2: true });
    const b = new ColumnarCdrTableBuilder(defs, planColumns(defs, { blobThresholdBytes: 8 }), { blobThresholdBytes: 8, blobs: contentSink() });
    const data = new Uint8Array([0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]);
    expect(() => new MessageReader(defs).readMessage(data)).toThrow(/wstring/);
    expect(() => b.append('rec', '/t', 1n, 1n, data)).toThrow(/wstring is implementation-defined/);
    expect(b.rowCount).toBe(0);
  });
});

describe('builder lifecycle', () => {
  it('keeps rowCount after finish, returns the same table twice, refuses appends after finish', () => {
    const b = builder();
    b.append('rec', '/t', 1n, 2n, sample(0));
    const table = b.finish();
    expect(b.rowCount).toBe(1);
    expect(b.finish()).toBe(table);
    expect(() => b.append('rec', '/t', 1n, 2n, sample(1))).toThrow(/after finish/);
  });

  it('builds an empty table with the full schema', () => {
    const table = builder().finish();
    expect(table.numRows).toBe(0);
    expect(table.schema.fields.map((f) => f.name)).toEqual([
      'recording_id',
      'topic',
      'log_time',
      'publish_time',
      'stamp',
      'frame_id',
      'values',
      'items',
      'payload',
      'big',
      'tail',
    ]);
  });
});

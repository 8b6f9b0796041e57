import { McapRecordBuilder } from '@mcap/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { planSpans, type Segment, type Span } from '../../src/domain/spans.ts';
import { InvalidRecordingError } from '../../src/errors.ts';
import { decompressChunk } from '../../src/mcap/decompress.ts';
import { readIndexFromSummary, type RecordingIndex } from '../../src/mcap/recording-index.ts';
import { forEachRecord, Opcode, parseChannel, parseChunkHeader, parseMessage, parseSchema, type RecordSlot } from '../../src/mcap/records.ts';
import { readSpan, readSpanStream } from '../../src/mcap/span-reader.ts';
import type { Damage as DamagedSegment, MessageLocation } from '../../src/domain/work.ts';
import { buildTestRecording, inPieces, memoryReadable, type TestRecording } from '../helpers/mcap-builders.ts';

const MAX_RECORD = 16 * 1024 * 1024;
const readOptions = { maxRecordBytes: MAX_RECORD, validateCrc: true };

interface Seen {
  channelId: number;
  sequence: number;
  logTime: bigint;
  data: Buffer;
  location: MessageLocation;
}

function readAll(file: Uint8Array, spans: Span[], options = readOptions): { seen: Seen[]; damaged: DamagedSegment[]; topics: Map<number, string> } {
  const seen: Seen[] = [];
  const damaged: DamagedSegment[] = [];
  const topics = new Map<number, string>();
  for (const span of spans) {
    const bytes = file.subarray(span.start, span.end);
    damaged.push(
      ...readSpan(bytes, span, options, {
        channel: (c) => topics.set(c.id, c.topic),
        message: (m, location) => seen.push({ channelId: m.channelId, sequence: m.sequence, logTime: m.logTime, data: Buffer.from(m.data), location }),
      }).damaged,
    );
  }
  return { seen, damaged, topics };
}

const key = (m: { channelId: number; logTime: bigint }) => `${m.channelId}@${m.logTime}`;

let recording: TestRecording;
let index: RecordingIndex;

beforeAll(async () => {
  recording = await buildTestRecording({ messagesPerTopic: 100, chunkSize: 1500, compression: 'alternate' });
  const result = await readIndexFromSummary(memoryReadable(recording.bytes));
  if (!('index' in result)) throw new Error(result.unusable);
  index = result.index;
  // The test needs several chunks of both kinds.
  expect(new Set(index.segments.map((s) => s.compression))).toEqual(new Set(['zstd', '']));
});

describe('readSpan', () => {
  it('visits every message exactly once, with its channel, sequence, log time and bytes', () => {
    const spans = planSpans(index.segments, 3000);
    expect(spans.length).toBeGreaterThan(1);
    expect(spans.some((s) => s.segments.length > 1)).toBe(true);
    const { seen, damaged, topics } = readAll(recording.bytes, spans);
    expect(damaged).toEqual([]);
    expect(seen).toHaveLength(recording.messages.length);
    const expected = new Map(recording.messages.map((m) => [key(m), m]));
    expect(new Set(seen.map(key)).size).toBe(seen.length);
    for (const m of seen) {
      const written = expected.get(key(m));
      expect(written, key(m)).toBeDefined();
      expect(m.sequence).toBe(written!.sequence);
      expect(m.data.equals(Buffer.from(written!.data))).toBe(true);
    }
    expect(topics).toEqual(new Map([...recording.channels].map(([topic, id]) => [id, topic])));
  });

  it.each([1, 7, 1000, 65536])('reads a span streamed in pieces of %d bytes exactly as from one buffer', async (pieceSize) => {
    for (const span of planSpans(index.segments, 3000)) {
      const bytes = recording.bytes.subarray(span.start, span.end);
      const buffered: string[] = [];
      const streamed: string[] = [];
      const segments: number[] = [];
      const fromBuffer = readSpan(bytes, span, readOptions, { message: (m, at) => buffered.push(`${key(m)}@${at.chunkOffset}+${at.offsetInChunk}`) });
      const fromStream = await readSpanStream(inPieces(bytes, pieceSize), span, readOptions, {
        segment: (s) => segments.push(s.offset),
        message: (m, at) => streamed.push(`${key(m)}@${at.chunkOffset}+${at.offsetInChunk}`),
      });
      expect(streamed).toEqual(buffered);
      expect(fromStream).toEqual(fromBuffer);
      expect(segments).toEqual(span.segments.map((s) => s.offset));
    }
  });

  it('fails a streamed span that ends before its last segment, as a retryable storage error', async () => {
    const span = planSpans(index.segments, 1e9)[0]!;
    const cut = recording.bytes.subarray(span.start, span.end - 10);
    await expect(readSpanStream(inPieces(cut, 4096), span, readOptions, { message: () => {} })).rejects.toMatchObject({
      code: 'STORAGE_FAILED',
      retryable: true,
    });
  });

  it('gives the same messages however the segments are grouped into spans', () => {
    const one = readAll(recording.bytes, planSpans(index.segments, 1)).seen.map(key);
    const all = readAll(recording.bytes, planSpans(index.segments, 1e9)).seen.map(key);
    expect(all).toEqual(one);
    expect(all).toHaveLength(recording.messages.length);
  });

  it('locates each message by its chunk offset and its offset in the decompressed chunk', () => {
    const spans = planSpans(index.segments, 3000);
    const { seen } = readAll(recording.bytes, spans);
    const segmentsByOffset = new Map(index.segments.map((s) => [s.offset, s]));
    const decompressed = new Map<number, Uint8Array>();
    for (const m of seen) {
      const segment = segmentsByOffset.get(m.location.chunkOffset);
      expect(segment, `chunk at ${m.location.chunkOffset}`).toBeDefined();
      expect(m.logTime >= BigInt(segment!.messageStartTime) && m.logTime <= BigInt(segment!.messageEndTime)).toBe(true);
      // Fetch just that chunk again and read the record at offsetInChunk.
      let records = decompressed.get(segment!.offset);
      if (records === undefined) {
        const chunkBytes = recording.bytes.subarray(segment!.offset, segment!.offset + segment!.length);
        const header = parseChunkHeader(chunkBytes, 9, chunkBytes.length);
        records = decompressChunk(header.compression, header.records, header.uncompressedSize, MAX_RECORD);
        decompressed.set(segment!.offset, records);
      }
      const slots: RecordSlot[] = [];
      forEachRecord(records, m.location.offsetInChunk, records.length, MAX_RECORD, (slot) => slots.push(slot));
      expect(slots[0]!.opcode).toBe(Opcode.Message);
      const again = parseMessage(new DataView(records.buffer, records.byteOffset, records.byteLength), records, slots[0]!.contentStart, slots[0]!.contentEnd);
      expect(key(again)).toBe(key(m));
      expect(Buffer.from(again.data).equals(m.data)).toBe(true);
    }
  });

  function flipInsideChunk(file: Uint8Array, segment: Segment): Uint8Array {
    const copy = file.slice();
    // The compressed records are the last compressedSize bytes of the Chunk record.
    const recordsStart = segment.offset + segment.length - segment.compressedSize;
    const at = recordsStart + Math.floor(segment.compressedSize / 2);
    copy[at] = copy[at]! ^ 0x5a;
    return copy;
  }

  it.each(['zstd', ''])('skips a damaged %j chunk by offset and still reads every other chunk', (compression) => {
    const victim = index.segments.filter((s) => s.compression === compression)[1]!;
    const file = flipInsideChunk(recording.bytes, victim);
    const { seen, damaged } = readAll(file, planSpans(index.segments, 3000));
    expect(damaged).toHaveLength(1);
    expect(damaged[0]!.offset).toBe(victim.offset);
    expect(damaged[0]!.reason).toMatch(/CRC|decompress/);
    const lost = recording.messages.filter((m) => m.logTime >= BigInt(victim.messageStartTime) && m.logTime <= BigInt(victim.messageEndTime));
    expect(lost.length).toBeGreaterThan(0);
    expect(seen.map(key).sort()).toEqual(
      recording.messages
        .filter((m) => !lost.includes(m))
        .map(key)
        .sort(),
    );
    // A damaged chunk visits nothing at all: no partial chunk.
    expect(seen.some((m) => m.location.chunkOffset === victim.offset)).toBe(false);
  });

  it('reports a chunk larger than maxRecordBytes as damaged instead of allocating it', () => {
    const spans = planSpans(index.segments, 3000);
    const { seen, damaged } = readAll(recording.bytes, spans, { maxRecordBytes: 200, validateCrc: true });
    expect(seen).toEqual([]);
    expect(damaged.map((d) => d.offset)).toEqual(index.segments.map((s) => s.offset));
    expect(damaged[0]!.reason).toMatch(/limit/);
  });
});

describe('records', () => {
  function record(build: (b: McapRecordBuilder) => void): Uint8Array {
    const builder = new McapRecordBuilder();
    build(builder);
    return builder.buffer.slice();
  }

  function slots(bytes: Uint8Array, max = MAX_RECORD): RecordSlot[] {
    const out: RecordSlot[] = [];
    forEachRecord(bytes, 0, bytes.length, max, (s) => out.push(s));
    return out;
  }

  it('parses Schema and Channel records written by @mcap/core', () => {
    const bytes = record((b) => {
      b.writeSchema({ id: 3, name: 'std_msgs/msg/String', encoding: 'ros2msg', data: new TextEncoder().encode('string data') });
      b.writeChannel({
        id: 9,
        schemaId: 3,
        topic: '/chatter',
        messageEncoding: 'cdr',
        metadata: new Map([
          ['offered_qos_profiles', 'x'],
          ['k', 'v'],
        ]),
      });
    });
    const [schemaSlot, channelSlot] = slots(bytes);
    expect(schemaSlot!.opcode).toBe(Opcode.Schema);
    const schema = parseSchema(bytes, schemaSlot!.contentStart, schemaSlot!.contentEnd);
    expect({ ...schema, data: new TextDecoder().decode(schema.data) }).toEqual({
      id: 3,
      name: 'std_msgs/msg/String',
      encoding: 'ros2msg',
      data: 'string data',
    });
    expect(parseChannel(bytes, channelSlot!.contentStart, channelSlot!.contentEnd)).toEqual({
      id: 9,
      schemaId: 3,
      topic: '/chatter',
      messageEncoding: 'cdr',
      metadata: { offered_qos_profiles: 'x', k: 'v' },
    });
  });

  function recordError(run: () => void): InvalidRecordingError {
    try {
      run();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidRecordingError);
      return error as InvalidRecordingError;
    }
    throw new Error('expected an InvalidRecordingError');
  }

  it('refuses a declared record length beyond the limit before allocating (RECORD_TOO_LARGE)', () => {
    const bytes = new Uint8Array(64);
    const view = new DataView(bytes.buffer);
    bytes[0] = Opcode.Chunk;
    view.setBigUint64(1, 1n << 40n, true);
    const error = recordError(() => slots(bytes));
    expect(error.code).toBe('RECORD_TOO_LARGE');
    expect(error.message).toContain(String(1n << 40n));
    // Within the limit but past the end of the data: corrupt rather than too large.
    view.setBigUint64(1, 1000n, true);
    expect(recordError(() => slots(bytes)).code).toBe('CORRUPT_RECORD');
  });

  it('reports a record cut off inside its 9-byte prefix as corrupt', () => {
    const bytes = record((b) => b.writeDataEnd({ dataSectionCrc: 0 }));
    expect(slots(bytes)).toHaveLength(1);
    expect(recordError(() => slots(bytes.subarray(0, 5))).code).toBe('CORRUPT_RECORD');
  });

  it('reports a string that runs past the end of its record as corrupt', () => {
    const bytes = record((b) => b.writeSchema({ id: 1, name: 'pkg/msg/A', encoding: 'ros2msg', data: new Uint8Array(4) }));
    const [slot] = slots(bytes);
    // Claim a 1000-byte name.
    new DataView(bytes.buffer, bytes.byteOffset).setUint32(slot!.contentStart + 2, 1000, true);
    expect(recordError(() => parseSchema(bytes, slot!.contentStart, slot!.contentEnd)).code).toBe('CORRUPT_RECORD');
  });
});

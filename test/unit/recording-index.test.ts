import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidRecordingError } from '../../src/errors.ts';
import { HEAD_PROBE_BYTES, readIndexFromSummary, validateHead, type RecordingIndex } from '../../src/mcap/recording-index.ts';
import { MCAP_MAGIC } from '../../src/mcap/records.ts';
import { fixture } from '../helpers/fixtures.ts';
import { buildTestRecording, chunkIndexesOf, memoryReadable, type TestRecording } from '../helpers/mcap-builders.ts';

let recording: TestRecording;
let index: RecordingIndex;

beforeAll(async () => {
  recording = await buildTestRecording({ messagesPerTopic: 100, chunkSize: 1500, compression: 'alternate' });
  const result = await readIndexFromSummary(memoryReadable(recording.bytes));
  if (!('index' in result)) throw new Error(result.unusable);
  index = result.index;
});

function headError(head: Uint8Array, size = head.length): InvalidRecordingError {
  try {
    validateHead(head, size);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidRecordingError);
    expect((error as InvalidRecordingError).retryable).toBe(false);
    return error as InvalidRecordingError;
  }
  throw new Error('expected validateHead to throw');
}

describe('validateHead', () => {
  it('accepts the start of a real MCAP file', () => {
    expect(() => validateHead(recording.bytes.subarray(0, HEAD_PROBE_BYTES), recording.bytes.length)).not.toThrow();
    const talker = readFileSync(fixture('talker').path);
    expect(() => validateHead(talker.subarray(0, HEAD_PROBE_BYTES), talker.length)).not.toThrow();
  });

  it('calls a 0-byte object EMPTY_OBJECT', () => {
    expect(headError(new Uint8Array(0)).code).toBe('EMPTY_OBJECT');
  });

  it('calls other bytes NOT_MCAP and shows what they were', () => {
    const error = headError(new TextEncoder().encode('PAR1\u0000\u0000\u0000\u0000\u0015\u0004rest of a parquet file'), 5000);
    expect(error.code).toBe('NOT_MCAP');
    expect(error.message).toContain('50415231');
    expect(headError(new TextEncoder().encode('{}'), 2).code).toBe('NOT_MCAP');
    // A bag from ROS 1 is not MCAP either.
    expect(headError(new TextEncoder().encode('#ROSBAG V2.0\n'), 4096).code).toBe('NOT_MCAP');
  });

  it('calls a file cut off inside the magic TRUNCATED_HEADER', () => {
    const error = headError(MCAP_MAGIC.subarray(0, 5));
    expect(error.code).toBe('TRUNCATED_HEADER');
    expect(error.message).toContain('5 bytes');
  });

  it('calls magic followed by junk or nothing TRUNCATED_HEADER', () => {
    expect(headError(MCAP_MAGIC.slice()).code).toBe('TRUNCATED_HEADER');
    const junk = Buffer.concat([MCAP_MAGIC, Buffer.from('this is not a header record')]);
    expect(headError(junk.subarray(0, HEAD_PROBE_BYTES), junk.length).code).toBe('TRUNCATED_HEADER');
    // Magic and the header opcode, but the file ends right there.
    expect(headError(recording.bytes.subarray(0, 12)).code).toBe('TRUNCATED_HEADER');
  });
});

describe('readIndexFromSummary', () => {
  it('lists every chunk of the summary as a segment, with its compression and time range', async () => {
    const chunkIndexes = await chunkIndexesOf(recording.bytes);
    expect(index.planner).toBe('summary');
    expect(index.library).toBe('mcapflow-test');
    expect(index.profile).toBe('ros2');
    expect(index.damage).toEqual([]);
    expect(index.segments.length).toBeGreaterThanOrEqual(6);
    expect(index.segments.map((s) => [s.kind, s.offset, s.length, s.compression, s.messageStartTime, s.messageEndTime])).toEqual(
      chunkIndexes.map((c) => [
        'chunk',
        Number(c.chunkStartOffset),
        Number(c.chunkLength),
        c.compression,
        String(c.messageStartTime),
        String(c.messageEndTime),
      ]),
    );
    // Both compressed and uncompressed chunks are present.
    expect(new Set(index.segments.map((s) => s.compression))).toEqual(new Set(['zstd', '']));
    expect(index.channels.map((c) => c.topic).sort()).toEqual(['/chatter', '/counter']);
    expect(index.schemas.map((s) => [s.name, Buffer.from(s.data, 'base64').toString()])).toContainEqual(['std_msgs/msg/String', 'string data\n']);
  });

  it('reads the summary of a real rosbag2 file', async () => {
    const bytes = readFileSync(fixture('talker').path);
    const result = await readIndexFromSummary(memoryReadable(bytes));
    expect('index' in result).toBe(true);
    if (!('index' in result)) return;
    expect(result.index.segments).toEqual([
      {
        kind: 'chunk',
        offset: 45,
        length: 2965,
        compression: 'zstd',
        compressedSize: expect.any(Number),
        uncompressedSize: expect.any(Number),
        messageStartTime: expect.any(String),
        messageEndTime: expect.any(String),
        // Its MessageIndex records follow it: the index job reads them instead of the chunk.
        messageIndex: { offset: 45 + 2965, length: expect.any(Number) },
      },
    ]);
    expect(result.index.channels.map((c) => c.topic)).toEqual(['/rosout', '/parameter_events', '/topic']);
  });

  it('reports a file without a chunk index as unusable, so it gets scanned', async () => {
    const noChunkIndex = await buildTestRecording({ writerOptions: { useChunkIndex: false } });
    expect(await readIndexFromSummary(memoryReadable(noChunkIndex.bytes))).toEqual({ unusable: 'the summary has no chunk index' });
    const noIndexesAtAll = await buildTestRecording({ writerOptions: { useChunkIndex: false, useSummaryOffsets: false } });
    expect(await readIndexFromSummary(memoryReadable(noIndexesAtAll.bytes))).toHaveProperty('unusable');
    const unchunked = await buildTestRecording({ writerOptions: { useChunks: false } });
    expect(await readIndexFromSummary(memoryReadable(unchunked.bytes))).toHaveProperty('unusable');
  });

  it('still plans from the chunk index when summary offsets are missing', async () => {
    const noOffsets = await buildTestRecording({ messagesPerTopic: 100, chunkSize: 1500, writerOptions: { useSummaryOffsets: false } });
    const result = await readIndexFromSummary(memoryReadable(noOffsets.bytes));
    expect('index' in result && result.index.segments.length).toBe(index.segments.length);
  });

  it('reports a truncated file (no footer) as unusable instead of throwing', async () => {
    for (const cut of [30, 500, Math.floor(recording.bytes.length / 2)]) {
      const result = await readIndexFromSummary(memoryReadable(recording.bytes.subarray(0, recording.bytes.length - cut)));
      expect(result).toEqual({ unusable: expect.any(String) });
    }
  });
});

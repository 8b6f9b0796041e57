import { readFileSync } from 'node:fs';
import { McapWriter } from '@mcap/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { planSpans } from '../../src/domain/spans.ts';
import { InvalidRecordingError } from '../../src/errors.ts';
import { readIndexFromSummary, type RecordingIndex } from '../../src/mcap/recording-index.ts';
import { scanRecording } from '../../src/mcap/scan.ts';
import { readSpan } from '../../src/mcap/span-reader.ts';
import { fixtures } from '../helpers/fixtures.ts';
import { buildTestRecording, cdrEncoder, inPieces, MemoryWritable, memoryReadable, type TestRecording } from '../helpers/mcap-builders.ts';

const options = { maxRecordBytes: 16 * 1024 * 1024, maxChunkBytes: 16 * 1024 * 1024, validateCrc: true };

async function summaryIndex(bytes: Uint8Array): Promise<RecordingIndex> {
  const result = await readIndexFromSummary(memoryReadable(bytes));
  if (!('index' in result)) throw new Error(result.unusable);
  return result.index;
}

/** Every message readSpan visits over the planned spans, as `channel@logTime`. */
function visitAll(bytes: Uint8Array, index: RecordingIndex, spanMaxBytes = 4096): string[] {
  const seen: string[] = [];
  for (const span of planSpans(index.segments, spanMaxBytes)) {
    const { damaged } = readSpan(bytes.subarray(span.start, span.end), span, options, { message: (m) => seen.push(`${m.channelId}@${m.logTime}`) });
    expect(damaged).toEqual([]);
  }
  return seen;
}

let recording: TestRecording;
let summary: RecordingIndex;

beforeAll(async () => {
  recording = await buildTestRecording({ messagesPerTopic: 100, chunkSize: 1500, compression: 'alternate' });
  summary = await summaryIndex(recording.bytes);
});

describe('scanRecording', () => {
  it.each(fixtures().map((f) => [f.name, f.path]))('finds the same segments, schemas and channels as the summary of %s', async (_name, path) => {
    const bytes = readFileSync(path);
    const fromSummary = await summaryIndex(bytes);
    const scanned = await scanRecording(inPieces(bytes, 1000), options);
    expect(scanned.planner).toBe('scan');
    expect(scanned.damage).toEqual([]);
    expect(scanned.segments).toEqual(fromSummary.segments);
    expect(scanned.profile).toBe(fromSummary.profile);
    expect(scanned.library).toBe(fromSummary.library);
    // Every schema and channel the scan learned is the one the summary declares (the summary may
    // declare more: see the zero-message test below).
    for (const schema of scanned.schemas) expect(fromSummary.schemas).toContainEqual(schema);
    for (const channel of scanned.channels) expect(fromSummary.channels).toContainEqual(channel);
    expect(scanned.channels.length).toBeGreaterThan(0);
  });

  it('keeps channels declared only in the summary section (zero-message topics) of an unindexed file', async () => {
    const writable = new MemoryWritable();
    const writer = new McapWriter({ writable, useChunkIndex: false });
    await writer.start({ profile: 'ros2', library: 'test' });
    const schemaId = await writer.registerSchema({ name: 'std_msgs/msg/String', encoding: 'ros2msg', data: new TextEncoder().encode('string data') });
    const used = await writer.registerChannel({ topic: '/used', schemaId, messageEncoding: 'cdr', metadata: new Map() });
    await writer.registerChannel({ topic: '/idle', schemaId, messageEncoding: 'cdr', metadata: new Map() });
    await writer.addMessage({ channelId: used, sequence: 0, logTime: 1n, publishTime: 1n, data: cdrEncoder('string data')({ data: 'hi' }) });
    await writer.end();
    const bytes = writable.bytes();
    expect(await readIndexFromSummary(memoryReadable(bytes))).toHaveProperty('unusable');
    const scanned = await scanRecording(inPieces(bytes, 1000), options);
    expect(scanned.channels.map((c) => c.topic).sort()).toEqual(['/idle', '/used']);
  });

  it.each([1000, 7, 65536])('reassembles records split across %i-byte stream pieces', async (size) => {
    const scanned = await scanRecording(inPieces(recording.bytes, size), options);
    expect(scanned.damage).toEqual([]);
    expect(scanned.segments).toEqual(summary.segments);
  });

  it('plans an unchunked file as runs of top-level records whose messages readSpan can read', async () => {
    const unchunked = await buildTestRecording({ messagesPerTopic: 50, writerOptions: { useChunks: false } });
    expect(await readIndexFromSummary(memoryReadable(unchunked.bytes))).toHaveProperty('unusable');
    const scanned = await scanRecording(inPieces(unchunked.bytes, 1000), options);
    expect(scanned.damage).toEqual([]);
    expect(scanned.segments.length).toBeGreaterThan(0);
    expect(scanned.segments.every((s) => s.kind === 'records' && s.compression === '')).toBe(true);
    const first = unchunked.messages[0]!.logTime;
    const last = unchunked.messages.at(-1)!.logTime;
    expect(scanned.segments[0]!.messageStartTime).toBe(String(first));
    expect(scanned.segments.at(-1)!.messageEndTime).toBe(String(last));
    expect(scanned.channels.map((c) => c.topic).sort()).toEqual(['/chatter', '/counter']);
    expect(scanned.schemas.map((s) => s.name).sort()).toEqual(['example_msgs/msg/Counter', 'std_msgs/msg/String']);
    const seen = visitAll(unchunked.bytes, scanned, 1500);
    expect(seen.sort()).toEqual(unchunked.messages.map((m) => `${m.channelId}@${m.logTime}`).sort());
  });

  it('keeps log time 0 as the start of an unchunked run', async () => {
    const unchunked = await buildTestRecording({ messagesPerTopic: 2, startTime: 0n, stepNs: 5n, writerOptions: { useChunks: false } });
    const scanned = await scanRecording(inPieces(unchunked.bytes, 1000), options);
    expect(scanned.segments).toHaveLength(1);
    expect(scanned.segments[0]!.messageEndTime).toBe('15');
    expect(scanned.segments[0]!.messageStartTime).toBe('0');
  });

  it('keeps the chunks before a cut in the last chunk and says the file is truncated', async () => {
    const lastChunk = summary.segments.at(-1)!;
    const cut = recording.bytes.subarray(0, lastChunk.offset + Math.floor(lastChunk.length / 2));
    const scanned = await scanRecording(inPieces(cut, 1000), options);
    expect(scanned.segments).toEqual(summary.segments.slice(0, -1));
    expect(scanned.damage).toHaveLength(1);
    expect(scanned.damage[0]).toContain('truncated');
    expect(scanned.damage[0]).toContain(`offset ${lastChunk.offset}`);
    expect(visitAll(cut, scanned)).toHaveLength(recording.messages.filter((m) => m.logTime < BigInt(lastChunk.messageStartTime)).length);
  });

  it('says a file cut after its data section is truncated without a footer', async () => {
    const lastChunk = summary.segments.at(-1)!;
    // Cut right after the last chunk's record (message indexes follow; they are lost too).
    const cut = recording.bytes.subarray(0, lastChunk.offset + lastChunk.length);
    const scanned = await scanRecording(inPieces(cut, 1000), options);
    const { messageIndex: _lost, ...last } = summary.segments.at(-1)!;
    expect(scanned.segments).toEqual([...summary.segments.slice(0, -1), last]);
    expect(scanned.damage).toEqual([expect.stringMatching(/truncated.*without a footer/)]);
  });

  it('skips a chunk with a flipped byte, names its offset, and scans on', async () => {
    for (const compression of ['zstd', '']) {
      const victim = summary.segments.filter((s) => s.compression === compression)[1]!;
      const damagedFile = recording.bytes.slice();
      const at = victim.offset + victim.length - Math.floor(victim.compressedSize / 2);
      damagedFile[at] = damagedFile[at]! ^ 0xff;
      const scanned = await scanRecording(inPieces(damagedFile, 1000), options);
      expect(scanned.segments).toEqual(summary.segments.filter((s) => s !== victim));
      expect(scanned.damage).toHaveLength(1);
      expect(scanned.damage[0]).toContain(`skipped the chunk at offset ${victim.offset}`);
      expect(scanned.damage[0]).toMatch(/CRC|decompress/);
    }
  });

  it('stops, with a reason, at a record whose declared length is over the limit', async () => {
    const victim = summary.segments[2]!;
    const file = recording.bytes.slice();
    new DataView(file.buffer).setBigUint64(victim.offset + 1, 1n << 50n, true);
    const scanned = await scanRecording(inPieces(file, 1000), options);
    expect(scanned.segments).toEqual(summary.segments.slice(0, 2));
    expect(scanned.damage).toEqual([expect.stringContaining(`stopped at offset ${victim.offset}`)]);
  });

  it('refuses a stream that is not MCAP', async () => {
    await expect(scanRecording(inPieces(new TextEncoder().encode('not an mcap file at all'), 4), options)).rejects.toMatchObject({ code: 'NOT_MCAP' });
    await expect(scanRecording(inPieces(new TextEncoder().encode('not an mcap file at all'), 4), options)).rejects.toBeInstanceOf(InvalidRecordingError);
  });
});

/**
 * The writer-option matrix proven with @mcap/core's own readers, so the pipeline test that
 * uses it compares against the truth: every file streams back (CRCs checked) to exactly the
 * records written; where it has a summary, the indexed reader finds exactly what the options
 * promise (statistics, repeated schemas and channels, chunk, message, attachment and metadata
 * indexes) and the summary and data-section CRCs hold; padding adds bytes and nothing else.
 */
import { crc32 } from 'node:zlib';
import { McapIndexedReader, McapStreamReader, type McapTypes } from '@mcap/core';
import { describe, expect, it } from 'vitest';
import {
  CONTENT_KINDS,
  featureCombinations,
  padRecords,
  PADDING,
  variantName,
  writeVariant,
  writerMatrix,
  type Feature,
  type MatrixFile,
  type Written,
} from '../helpers/writer-matrix.ts';
import { memoryReadable } from '../helpers/mcap-builders.ts';

const files = await writerMatrix();

interface ReadBack {
  schemas: Map<number, { id: number; name: string; encoding: string; data: Uint8Array }>;
  channels: Map<number, { id: number; topic: string; schemaId: number; messageEncoding: string }>;
  messages: { channelId: number; topic: string; sequence: number; logTime: bigint; publishTime: bigint; data: Uint8Array }[];
  attachments: { name: string; mediaType: string; logTime: bigint; createTime: bigint; data: Uint8Array }[];
  metadata: { name: string; metadata: [string, string][] }[];
  chunks: number;
  summaryOffsets: McapTypes.SummaryOffset[];
  footer: McapTypes.Footer | undefined;
}

function streamRead(bytes: Uint8Array): ReadBack {
  const reader = new McapStreamReader({ validateCrcs: true, includeChunks: true });
  reader.append(bytes);
  const out: ReadBack = {
    schemas: new Map(),
    channels: new Map(),
    messages: [],
    attachments: [],
    metadata: [],
    chunks: 0,
    summaryOffsets: [],
    footer: undefined,
  };
  for (let r: McapTypes.TypedMcapRecord | undefined; (r = reader.nextRecord());) {
    if (r.type === 'Schema') out.schemas.set(r.id, { id: r.id, name: r.name, encoding: r.encoding, data: r.data });
    if (r.type === 'Channel') out.channels.set(r.id, { id: r.id, topic: r.topic, schemaId: r.schemaId, messageEncoding: r.messageEncoding });
    if (r.type === 'Chunk') out.chunks += 1;
    if (r.type === 'SummaryOffset') out.summaryOffsets.push(r);
    if (r.type === 'Footer') out.footer = r;
    if (r.type === 'Message') {
      const topic = out.channels.get(r.channelId)?.topic ?? `(undefined channel ${r.channelId})`;
      out.messages.push({ channelId: r.channelId, topic, sequence: r.sequence, logTime: r.logTime, publishTime: r.publishTime, data: r.data });
    }
    if (r.type === 'Attachment') out.attachments.push({ name: r.name, mediaType: r.mediaType, logTime: r.logTime, createTime: r.createTime, data: r.data });
    if (r.type === 'Metadata') out.metadata.push({ name: r.name, metadata: [...r.metadata] });
  }
  expect(reader.done(), 'the stream reader reached the end magic').toBe(true);
  return out;
}

/** The records in `length` bytes at `offset` (at most `limit`), which must hold whole records only. */
function recordsAt(bytes: Uint8Array, offset: bigint, length: bigint, limit = Infinity): McapTypes.TypedMcapRecord[] {
  const reader = new McapStreamReader({ noMagicPrefix: true, includeChunks: true, validateCrcs: true });
  reader.append(bytes.subarray(Number(offset), Number(offset + length)));
  const out: McapTypes.TypedMcapRecord[] = [];
  for (let r: McapTypes.TypedMcapRecord | undefined; out.length < limit && (r = reader.nextRecord());) out.push(r);
  if (limit === Infinity) expect(reader.bytesRemaining(), `bytes left after the records at ${offset}`).toBe(0);
  return out;
}

const schemasOf = (w: Written) => new Map(w.schemas.map((s) => [s.id, s]));
const channelsOf = (w: Written) =>
  new Map(w.channels.map((c) => [c.id, { id: c.id, topic: c.topic, schemaId: c.schemaId, messageEncoding: c.messageEncoding }]));

const GROUP_TYPES: Record<number, string> = { 3: 'Schema', 4: 'Channel', 8: 'ChunkIndex', 10: 'AttachmentIndex', 11: 'Statistics', 13: 'MetadataIndex' };

/** Whether any summary group is non-empty for these options and this content. */
function expectsSummary(file: MatrixFile): boolean {
  const on = (f: Feature) => file.features.includes(f);
  const w = file.written;
  return (
    on('st') ||
    (on('rsh') && w.schemas.length > 0) ||
    (on('rch') && w.channels.length > 0) ||
    (on('ax') && w.attachments.length > 0) ||
    (on('mdx') && w.metadata.length > 0) ||
    (on('chx') && w.messages.length > 0)
  );
}

describe('the writer matrix', () => {
  it('names every combination of options with every content kind once, chunk and message index only with chunks', () => {
    const combinations = featureCombinations();
    expect(combinations).toHaveLength(512 + 128);
    expect(combinations.filter((f) => !f.includes('ch') && (f.includes('chx') || f.includes('mx')))).toEqual([]);
    const names = files.flatMap((f) => [f.name, ...f.aliases]);
    expect(new Set(names).size).toBe(names.length);
    expect(new Set(names)).toEqual(new Set(CONTENT_KINDS.flatMap((kind) => combinations.map((features) => variantName(kind, features)))));
    // Identical bytes are written once; different names really are different files.
    expect(new Set(files.map((f) => Buffer.from(f.bytes).toString('base64'))).size).toBe(files.length);
  });

  it.each(files.map((f) => [f.name, f] as const))('%s streams back to exactly what was written', (_name, file) => {
    const read = streamRead(file.bytes);
    expect(read.messages).toEqual(file.written.messages);
    expect(read.attachments).toEqual(file.written.attachments);
    expect(read.metadata).toEqual(file.written.metadata);
    expect(read.channels).toEqual(channelsOf(file.written));
    expect(read.schemas).toEqual(schemasOf(file.written));
    // Messages go in chunks when chunked; the ten messages span several, with overlapping times.
    if (!file.features.includes('ch') || file.written.messages.length === 0) expect(read.chunks).toBe(0);
    else expect(read.chunks).toBeGreaterThanOrEqual(file.kind === 'TenMessages' ? 3 : 1);
  });

  it.each(files.map((f) => [f.name, f] as const))('%s: the indexed reader finds what the options promise', async (_name, file) => {
    const on = (f: Feature) => file.features.includes(f);
    const w = file.written;
    if (!expectsSummary(file)) {
      await expect(McapIndexedReader.Initialize({ readable: memoryReadable(file.bytes) })).rejects.toThrow(/not indexed/);
      return;
    }
    // Initialize checks the summary CRC.
    const reader = await McapIndexedReader.Initialize({ readable: memoryReadable(file.bytes) });
    if (reader.dataSectionCrc !== undefined) {
      expect(crc32(file.bytes.subarray(0, Number(reader.dataEndOffset))) >>> 0, 'data section CRC').toBe(reader.dataSectionCrc);
    }
    expect(new Map([...reader.schemasById].map(([id, s]) => [id, { id, name: s.name, encoding: s.encoding, data: s.data }]))).toEqual(
      on('rsh') ? schemasOf(w) : new Map(),
    );
    expect(new Map([...reader.channelsById].map(([id, c]) => [id, { id, topic: c.topic, schemaId: c.schemaId, messageEncoding: c.messageEncoding }]))).toEqual(
      on('rch') ? channelsOf(w) : new Map(),
    );
    const chunks = streamRead(file.bytes).chunks;
    expect(reader.chunkIndexes).toHaveLength(on('chx') ? chunks : 0);
    // Every chunk index describes the chunk it points at and the message indexes after it.
    for (const index of reader.chunkIndexes) {
      const [chunk] = recordsAt(file.bytes, index.chunkStartOffset, index.chunkLength, 1);
      if (chunk?.type !== 'Chunk') throw new Error(`no chunk at ${index.chunkStartOffset}`);
      const { compression, compressedSize, uncompressedSize, messageStartTime, messageEndTime } = index;
      expect({ compression, compressedSize, uncompressedSize, messageStartTime, messageEndTime }).toEqual({
        compression: chunk.compression,
        compressedSize: BigInt(chunk.records.byteLength),
        uncompressedSize: chunk.uncompressedSize,
        messageStartTime: chunk.messageStartTime,
        messageEndTime: chunk.messageEndTime,
      });
      const messageIndexes = recordsAt(file.bytes, index.chunkStartOffset + index.chunkLength, index.messageIndexLength);
      expect(messageIndexes.length > 0, 'message indexes after the chunk').toBe(on('mx'));
      expect(messageIndexes.filter((r) => r.type !== 'MessageIndex')).toEqual([]);
      expect(index.messageIndexOffsets.size).toBe(messageIndexes.length);
      for (const [channelId, offset] of index.messageIndexOffsets) {
        expect(recordsAt(file.bytes, offset, BigInt(file.bytes.length) - offset, 1)[0]).toMatchObject({ type: 'MessageIndex', channelId });
      }
    }
    expect(reader.attachmentIndexes.map(({ name, mediaType, logTime, createTime, dataSize }) => ({ name, mediaType, logTime, createTime, dataSize }))).toEqual(
      on('ax') ? w.attachments.map(({ data, ...a }) => ({ ...a, dataSize: BigInt(data.length) })) : [],
    );
    if (on('chx') && on('mx')) {
      // In log-time order; @mcap/core's indexed reader cannot read chunks without message indexes.
      const messages = [];
      for await (const m of reader.readMessages())
        messages.push({ channelId: m.channelId, sequence: m.sequence, logTime: m.logTime, publishTime: m.publishTime, data: m.data });
      const byTime = [...w.messages].sort((a, b) => (a.logTime < b.logTime ? -1 : 1)).map(({ topic: _topic, ...m }) => m);
      expect(messages).toEqual(byTime);
    }
    const attachments = [];
    for await (const a of reader.readAttachments())
      attachments.push({ name: a.name, mediaType: a.mediaType, logTime: a.logTime, createTime: a.createTime, data: a.data });
    expect(attachments).toEqual(on('ax') ? w.attachments : []);
    const metadata = [];
    for await (const m of reader.readMetadata()) metadata.push({ name: m.name, metadata: [...m.metadata] });
    expect(metadata).toEqual(on('mdx') ? w.metadata : []);
    if (on('st')) {
      expect(reader.statistics).toMatchObject({
        messageCount: BigInt(w.messages.length),
        schemaCount: w.schemas.length,
        channelCount: w.channels.length,
        attachmentCount: w.attachments.length,
        metadataCount: w.metadata.length,
        chunkCount: chunks,
        channelMessageCounts: new Map(w.channels.map((c) => [c.id, BigInt(w.messages.filter((m) => m.channelId === c.id).length)])),
      });
    } else {
      expect(reader.statistics).toBeUndefined();
    }
  });

  it.each(files.map((f) => [f.name, f] as const))('%s: summary offsets and the footer point at whole groups of the right records', (_name, file) => {
    const read = streamRead(file.bytes);
    const footerOffset = BigInt(file.bytes.length - 8 - 29);
    const footer = read.footer!;
    if (file.features.includes('sum')) {
      expect(footer.summaryOffsetStart).toBeGreaterThan(0n);
      const listed = recordsAt(file.bytes, footer.summaryOffsetStart, footerOffset - footer.summaryOffsetStart);
      expect(listed).toEqual(read.summaryOffsets);
      // One group per kind of summary record present.
      expect(read.summaryOffsets.length > 0).toBe(expectsSummary(file));
    } else {
      expect(footer.summaryOffsetStart).toBe(0n);
      expect(read.summaryOffsets).toEqual([]);
    }
    for (const group of read.summaryOffsets) {
      const types = recordsAt(file.bytes, group.groupStart, group.groupLength).map((r) => r.type);
      expect(types.length).toBeGreaterThan(0);
      expect(new Set(types)).toEqual(new Set([GROUP_TYPES[group.groupOpcode]]));
      expect(group.groupStart).toBeGreaterThanOrEqual(footer.summaryStart);
    }
  });

  it('padRecords with no padding gives back the same bytes, so its offset and CRC bookkeeping is exact', () => {
    const unpadded = files.filter((f) => !f.features.includes('pad'));
    expect(unpadded.length).toBeGreaterThan(100);
    for (const file of unpadded) expect(Buffer.from(padRecords(file.bytes, new Uint8Array(0))).equals(Buffer.from(file.bytes)), file.name).toBe(true);
  });

  it('a padded file is its unpadded twin plus padding on records', async () => {
    for (const file of files.filter((f) => f.features.includes('pad'))) {
      const twin = await writeVariant(
        file.kind,
        file.features.filter((f) => f !== 'pad'),
      );
      const extra = file.bytes.length - twin.length;
      expect(extra > 0 && extra % PADDING.length === 0, `${file.name}: ${extra} extra bytes`).toBe(true);
    }
  });
});

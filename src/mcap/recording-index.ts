/**
 * What planning needs to know about a recording, whether it came from the summary section
 * or from scanning the file: schemas, channels and the data segments to split into spans.
 */
import { McapIndexedReader, type IReadable } from '@mcap/core';
import type { AttachmentRef, ChannelInfo, MetadataRef, RecordingIndex, SchemaInfo, SummaryStatistics } from '../domain/recording.ts';
import { InvalidRecordingError } from '../errors.ts';
import { loadDecompressors } from './decompress.ts';
import { hasMagic, MCAP_MAGIC, Opcode, RECORD_PREFIX_BYTES } from './records.ts';
import type { ClaimedChunk, SummaryClaims } from './summary-claims.ts';

export type { AttachmentRef, ChannelInfo, MetadataRef, RecordingIndex, SchemaInfo, SummaryStatistics } from '../domain/recording.ts';

export function schemaInfo(record: { id: number; name: string; encoding: string; data: Uint8Array }): SchemaInfo {
  return { id: record.id, name: record.name, encoding: record.encoding, data: Buffer.from(record.data).toString('base64') };
}

export function channelInfo(record: {
  id: number;
  schemaId: number;
  topic: string;
  messageEncoding: string;
  metadata: Map<string, string> | Record<string, string>;
}): ChannelInfo {
  const metadata = record.metadata instanceof Map ? Object.fromEntries(record.metadata) : { ...record.metadata };
  return { id: record.id, schemaId: record.schemaId, topic: record.topic, messageEncoding: record.messageEncoding, metadata };
}

/** Bytes needed to validate the start of a file: magic plus the header record prefix. */
export const HEAD_PROBE_BYTES = MCAP_MAGIC.length + RECORD_PREFIX_BYTES;

/**
 * Validates the first bytes of an object. Throws the quarantine error that fits: empty,
 * not MCAP, or cut off before its header.
 */
export function validateHead(head: Uint8Array, objectSize: number): void {
  if (objectSize === 0) throw new InvalidRecordingError('EMPTY_OBJECT', 'the object is empty (0 bytes)');
  if (!hasMagic(head)) {
    const shown = Buffer.from(head.subarray(0, 8)).toString('hex');
    if (head.length < MCAP_MAGIC.length && hasMagic(Buffer.concat([head, MCAP_MAGIC.subarray(head.length)]))) {
      throw new InvalidRecordingError('TRUNCATED_HEADER', `the file is cut off after ${objectSize} bytes, inside the MCAP magic`);
    }
    throw new InvalidRecordingError('NOT_MCAP', `not an MCAP file: it starts with bytes ${shown}, not the MCAP magic 894d434150300d0a`);
  }
  if (objectSize < HEAD_PROBE_BYTES || head[MCAP_MAGIC.length] !== Opcode.Header) {
    throw new InvalidRecordingError('TRUNCATED_HEADER', `the file ends or breaks before its MCAP header record (${objectSize} bytes)`);
  }
}

/**
 * Reads the summary section through `readable` (footer and summary only) into what planning
 * needs, plus the summary's claims about the data section for `checkSummary`. Returns the
 * reason instead when there is no summary to read, and the file has to be scanned.
 */
export async function readIndexFromSummary(readable: IReadable): Promise<{ index: RecordingIndex; claims: SummaryClaims } | { unusable: string }> {
  let reader: McapIndexedReader;
  try {
    reader = await McapIndexedReader.Initialize({ readable, decompressHandlers: await loadDecompressors() });
  } catch (error) {
    return { unusable: error instanceof Error ? error.message : String(error) };
  }
  const stats = reader.statistics;
  const hasData = reader.dataEndOffset > 0n && (stats === undefined || stats.messageCount > 0n || stats.chunkCount > 0);
  // An unchunked file's messages are all outside any chunk: one streaming scan reads them best.
  if (reader.chunkIndexes.length === 0 && hasData) return { unusable: 'the summary has no chunk index' };
  const headerPrefix = await readable.read(BigInt(MCAP_MAGIC.length), BigInt(RECORD_PREFIX_BYTES));
  const headerLength = new DataView(headerPrefix.buffer, headerPrefix.byteOffset, headerPrefix.byteLength).getBigUint64(1, true);
  const chunks: ClaimedChunk[] = reader.chunkIndexes.map((c) => ({
    offset: Number(c.chunkStartOffset),
    length: Number(c.chunkLength),
    compression: c.compression,
    compressedSize: Number(c.compressedSize),
    uncompressedSize: Number(c.uncompressedSize),
    messageStartTime: c.messageStartTime,
    messageEndTime: c.messageEndTime,
    messageIndexOffsets: c.messageIndexOffsets,
    messageIndexLength: Number(c.messageIndexLength),
  }));
  const attachments: AttachmentRef[] = reader.attachmentIndexes.map((a) => ({
    offset: Number(a.offset),
    length: Number(a.length),
    name: a.name,
    mediaType: a.mediaType,
    logTime: a.logTime.toString(),
    createTime: a.createTime.toString(),
    dataSize: Number(a.dataSize),
  }));
  const metadata: MetadataRef[] = reader.metadataIndexes.map((m) => ({ offset: Number(m.offset), length: Number(m.length), name: m.name }));
  const claims: SummaryClaims = {
    dataStart: MCAP_MAGIC.length + RECORD_PREFIX_BYTES + Number(headerLength),
    dataEnd: Number(reader.dataEndOffset),
    chunks,
    schemaIds: new Set(reader.schemasById.keys()),
    channels: new Map([...reader.channelsById.values()].map((c) => [c.id, c.schemaId])),
    attachments: attachments.map((a) => ({ start: a.offset, end: a.offset + a.length })),
    metadata: metadata.map((m) => ({ start: m.offset, end: m.offset + m.length })),
    statistics:
      stats === undefined
        ? undefined
        : {
            messageCount: stats.messageCount,
            schemaCount: stats.schemaCount,
            channelCount: stats.channelCount,
            attachmentCount: stats.attachmentCount,
            metadataCount: stats.metadataCount,
            chunkCount: stats.chunkCount,
            channelMessageCounts: stats.channelMessageCounts,
          },
  };
  return {
    claims,
    index: {
      profile: reader.header.profile,
      library: reader.header.library,
      planner: 'summary',
      schemas: [...reader.schemasById.values()].map(schemaInfo),
      channels: [...reader.channelsById.values()].map(channelInfo),
      segments: chunks.map((c) => ({
        kind: 'chunk',
        offset: c.offset,
        length: c.length,
        compression: c.compression,
        compressedSize: c.compressedSize,
        uncompressedSize: c.uncompressedSize,
        messageStartTime: c.messageStartTime.toString(),
        messageEndTime: c.messageEndTime.toString(),
        ...(c.messageIndexLength > 0 && c.messageIndexOffsets.size > 0 ? { messageIndex: { offset: c.offset + c.length, length: c.messageIndexLength } } : {}),
      })),
      damage: [],
      attachments,
      metadata,
      ...(stats === undefined ? {} : { statistics: summaryStatistics(stats) }),
    },
  };
}

/** The Statistics record in the plan's terms (counts and times as decimal strings). */
export function summaryStatistics(stats: {
  messageCount: bigint;
  messageStartTime: bigint;
  messageEndTime: bigint;
  chunkCount: number;
  attachmentCount: number;
  metadataCount: number;
  channelMessageCounts: ReadonlyMap<number, bigint>;
}): SummaryStatistics {
  return {
    messageCount: stats.messageCount.toString(),
    messageStartTime: stats.messageStartTime.toString(),
    messageEndTime: stats.messageEndTime.toString(),
    chunkCount: stats.chunkCount,
    attachmentCount: stats.attachmentCount,
    metadataCount: stats.metadataCount,
    channelMessageCounts: Object.fromEntries([...stats.channelMessageCounts].map(([id, n]) => [String(id), n.toString()])),
  };
}

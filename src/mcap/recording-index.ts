/**
 * What planning needs to know about a recording, whether it came from the summary section
 * or from scanning the file: schemas, channels and the data segments to split into spans.
 */
import { McapIndexedReader, type IReadable } from '@mcap/core';
import type { Segment } from '../domain/spans.ts';
import { InvalidRecordingError } from '../errors.ts';
import { loadDecompressors } from './decompress.ts';
import { hasMagic, MCAP_MAGIC, Opcode, RECORD_PREFIX_BYTES } from './records.ts';

export interface SchemaInfo {
  id: number;
  name: string;
  encoding: string;
  /** Schema bytes, base64 (protobuf descriptors are binary). */
  data: string;
}

export interface ChannelInfo {
  id: number;
  schemaId: number;
  topic: string;
  messageEncoding: string;
  metadata: Record<string, string>;
}

/** Where an Attachment record is; its body is read by range. */
export interface AttachmentRef {
  offset: number;
  length: number;
  name: string;
  mediaType: string;
  logTime: string;
  createTime: string;
  dataSize: number;
}

/** Where a Metadata record is. */
export interface MetadataRef {
  offset: number;
  length: number;
  name: string;
}

/** The summary's Statistics record, when the file has one (times and counts as decimal strings). */
export interface SummaryStatistics {
  messageCount: string;
  messageStartTime: string;
  messageEndTime: string;
  chunkCount: number;
  attachmentCount: number;
  metadataCount: number;
  channelMessageCounts: Record<string, string>;
}

export interface RecordingIndex {
  profile: string;
  library: string;
  planner: 'summary' | 'scan';
  schemas: SchemaInfo[];
  channels: ChannelInfo[];
  segments: Segment[];
  /** What was lost to damage, in words a user can act on; empty for an intact file. */
  damage: string[];
  attachments?: AttachmentRef[];
  metadata?: MetadataRef[];
  statistics?: SummaryStatistics;
}

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
 * Reads the summary section through `readable` (footer and summary only). Returns undefined,
 * with the reason, when there is no usable summary and the file has to be scanned instead.
 */
export async function readIndexFromSummary(readable: IReadable): Promise<{ index: RecordingIndex } | { unusable: string }> {
  let reader: McapIndexedReader;
  try {
    reader = await McapIndexedReader.Initialize({ readable, decompressHandlers: await loadDecompressors() });
  } catch (error) {
    return { unusable: error instanceof Error ? error.message : String(error) };
  }
  const stats = reader.statistics;
  const hasData = reader.dataEndOffset > 0n && (stats === undefined || stats.messageCount > 0n || stats.chunkCount > 0);
  if (reader.chunkIndexes.length === 0 && hasData) return { unusable: 'the summary has no chunk index' };
  if (stats !== undefined && stats.chunkCount !== reader.chunkIndexes.length && stats.chunkCount > 0) {
    return { unusable: `the summary lists ${reader.chunkIndexes.length} chunk indexes but its statistics count ${stats.chunkCount} chunks` };
  }
  const segments: Segment[] = reader.chunkIndexes.map((c) => ({
    kind: 'chunk',
    offset: Number(c.chunkStartOffset),
    length: Number(c.chunkLength),
    compression: c.compression,
    compressedSize: Number(c.compressedSize),
    uncompressedSize: Number(c.uncompressedSize),
    messageStartTime: c.messageStartTime.toString(),
    messageEndTime: c.messageEndTime.toString(),
  }));
  return {
    index: {
      profile: reader.header.profile,
      library: reader.header.library,
      planner: 'summary',
      schemas: [...reader.schemasById.values()].map(schemaInfo),
      channels: [...reader.channelsById.values()].map(channelInfo),
      segments,
      damage: [],
      attachments: reader.attachmentIndexes.map((a) => ({
        offset: Number(a.offset),
        length: Number(a.length),
        name: a.name,
        mediaType: a.mediaType,
        logTime: a.logTime.toString(),
        createTime: a.createTime.toString(),
        dataSize: Number(a.dataSize),
      })),
      metadata: reader.metadataIndexes.map((m) => ({ offset: Number(m.offset), length: Number(m.length), name: m.name })),
      ...(stats === undefined
        ? {}
        : {
            statistics: {
              messageCount: stats.messageCount.toString(),
              messageStartTime: stats.messageStartTime.toString(),
              messageEndTime: stats.messageEndTime.toString(),
              chunkCount: stats.chunkCount,
              attachmentCount: stats.attachmentCount,
              metadataCount: stats.metadataCount,
              channelMessageCounts: Object.fromEntries([...stats.channelMessageCounts].map(([id, n]) => [String(id), n.toString()])),
            },
          }),
    },
  };
}

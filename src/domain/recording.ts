/**
 * What is known about a recording before any of its data is processed: its schemas and
 * channels, where its data segments, attachments and metadata are, what its summary's
 * Statistics claim. Made by the planner from the summary (checked) or from a scan.
 */
import type { Segment } from './spans.ts';

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
  /** Why the file was scanned instead of planned from its summary. */
  plannerNote?: string;
}

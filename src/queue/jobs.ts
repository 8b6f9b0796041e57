/**
 * Job kinds, their payloads and results. Payloads hold ids and offsets only, never recording
 * bytes: the plan object in the store carries the rest.
 */
import type { RecordingSource } from '../domain/plan.ts';
import type { TopicTiming } from '../domain/topic-timing.ts';

/** Queues that carry pipeline work, one per job kind. */
export const QUEUE_NAMES = ['ingest', 'scan', 'index', 'extract', 'convert', 'commit'] as const;
export type PipelineQueue = (typeof QUEUE_NAMES)[number];
/** Jobs that exhausted their attempts wait here, never consumed, for a person to retry or discard. */
export const DLQ_QUEUE = 'dlq';
export type QueueName = PipelineQueue | typeof DLQ_QUEUE;

export type Trigger = 'event' | 'backfill' | 'cli';

export interface IngestJobData {
  bucket: string;
  key: string;
  size: number;
  etag?: string | undefined;
  /** When the object was created (event time), ISO 8601. */
  eventTime: string;
  trigger: Trigger;
  /** Set by the dispatcher once it knows it, so a failure can be reported on the recording. */
  recordingId?: string;
  /**
   * Process even when already committed (a backfill with `force`, or after operator versions
   * changed); the new manifest then replaces the old one, which is kept under
   * manifests/superseded/.
   */
  reprocess?: boolean;
  /** W3C trace context of the code that enqueued this job (OpenTelemetry); absent when tracing is off. */
  trace?: Record<string, string> | undefined;
}

export interface ScanJobData {
  recordingId: string;
  source: RecordingSource;
  eventTime: string;
  reprocess?: boolean;
  /** Why the file is scanned rather than planned from its summary (kept in the plan and manifest). */
  because?: string;
  /** W3C trace context of the code that enqueued this job (OpenTelemetry); absent when tracing is off. */
  trace?: Record<string, string> | undefined;
}

export interface SpanJobData {
  recordingId: string;
  planKey: string;
  span: number;
  /** W3C trace context of the code that enqueued this job (OpenTelemetry); absent when tracing is off. */
  trace?: Record<string, string> | undefined;
}

export interface ConvertJobData {
  recordingId: string;
  planKey: string;
  table: string;
  /** Extract/index outputs of this table, in span order. */
  parts: PartRef[];
  /** W3C trace context of the code that enqueued this job (OpenTelemetry); absent when tracing is off. */
  trace?: Record<string, string> | undefined;
}

export interface CommitJobData {
  recordingId: string;
  planKey: string;
  eventTime: string;
  /** Replace a different existing manifest (an explicit reprocess), keeping the old one. */
  replace?: boolean;
  /** W3C trace context of the code that enqueued this job (OpenTelemetry); absent when tracing is off. */
  trace?: Record<string, string> | undefined;
}

export interface PartRef {
  table: string;
  key: string;
  rows: number;
  bytes: number;
}

export interface StoredObject {
  key: string;
  bytes: number;
  sha256: string;
}

export interface TableObject extends StoredObject {
  rows: number;
  /** Nanoseconds as decimal strings; null for an empty file. */
  minLogTime: string | null;
  maxLogTime: string | null;
}

export interface ChannelStats {
  channelId: number;
  topic: string;
  count: number;
  firstLogTime: string;
  lastLogTime: string;
}

export interface Damage {
  offset: number;
  reason: string;
}

/** Bytes a job fetched from storage and the bytes it actually needed (their ratio: read amplification). */
export interface ReadAccounting {
  fetched: number;
  needed: number;
}

export interface IndexResult {
  kind: 'index';
  span: number;
  read?: ReadAccounting;
  messages: number;
  part: PartRef | null;
  channels: ChannelStats[];
  damaged: Damage[];
  /** Where the span's bytes contradict the plan (see SpanReadReport); absent in results of older versions. */
  mismatches?: string[];
}

export interface DecodeErrors {
  channelId: number;
  count: number;
  first: string;
}

export interface ExtractResult {
  kind: 'extract';
  span: number;
  read?: ReadAccounting;
  parts: PartRef[];
  blobs: StoredObject[];
  decodeErrors: DecodeErrors[];
}

export interface ConvertResult {
  kind: 'convert';
  table: string;
  objects: TableObject[];
  /** `messages` only: per-channel timing quality (out-of-order messages, gaps). */
  timing?: ChannelTiming[];
  /** `attachments`/`metadata` only: records that could not be read. */
  damaged?: Damage[];
}

export interface ChannelTiming extends TopicTiming {
  channelId: number;
}

export type CommitOutcome =
  | { status: 'committed'; manifestKey: string }
  | { status: 'quarantined'; reason: string }
  /** The summary proved wrong: a scan re-plans the recording and its own flow commits it. */
  | { status: 'replanned'; reason: string };

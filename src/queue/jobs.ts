/**
 * Job kinds, their payloads and results. Payloads hold ids and offsets only, never recording
 * bytes: the plan object in the store carries the rest.
 */
import type { RecordingSource } from '../domain/plan.ts';
import type { PartRef } from '../domain/work.ts';

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
  /** Ids (`name@version`) of the span operators to run (extract): all on ingest, the stale ones in a backfill. */
  operators: string[];
  /** W3C trace context of the code that enqueued this job (OpenTelemetry); absent when tracing is off. */
  trace?: Record<string, string> | undefined;
}

export interface ConvertJobData {
  recordingId: string;
  planKey: string;
  table: string;
  /** `name@version` of the span operator whose table this is. */
  operator: string;
  /** The table's span parts, in span order. */
  parts: PartRef[];
  trace?: Record<string, string> | undefined;
}

/** A committed Parquet file a job reads, verified by its sha256. */
export interface FileRef {
  key: string;
  sha256: string;
}

/** A recording-level operator (table or attachment operator), run in the convert queue. */
export interface OperatorJobData {
  recordingId: string;
  planKey: string;
  operator: string;
  /** Parquet files of each input table (table operators). */
  inputs: Record<string, FileRef[]>;
  trace?: Record<string, string> | undefined;
}

export interface CommitJobData {
  recordingId: string;
  planKey: string;
  eventTime: string;
  /** Ids of every operator this flow runs. */
  operators: string[];
  /** Replace a different existing manifest (an explicit reprocess), keeping the old one. */
  replace?: boolean;
  /**
   * A backfill that recomputes only `operators`: the committed manifest (by its sha256) it builds
   * on and, so that the commit reads that manifest once (when it writes the new one, checking it
   * is still the same), the objects of its tables that this flow's table operators read.
   */
  base?: { manifestSha256: string; tables?: Record<string, FileRef[]> };
  trace?: Record<string, string> | undefined;
}

export type {
  ChannelStats,
  ChannelTiming,
  ConvertResult,
  Damage,
  DecodeErrors,
  ExtractResult,
  IndexResult,
  OperatorResult,
  PartRef,
  ReadAccounting,
  StoredObject,
  TableObject,
} from '../domain/work.ts';

export type CommitOutcome =
  | { status: 'committed'; manifestKey: string }
  | { status: 'quarantined'; reason: string }
  /** The summary proved wrong: a scan re-plans the recording and its own flow commits it. */
  | { status: 'replanned'; reason: string };

/**
 * What every job run gets, wherever it runs: a span in its recording's trace (child of the
 * context its creator put in the job data), log lines that name its recording, job id and
 * kind, its duration and busy time, and the messages it handled.
 */
import { SpanKind, SpanStatusCode, context, trace, type Attributes } from '@opentelemetry/api';
import type { Job, Worker } from 'bullmq';
import type { Logger } from '../log.ts';
import type { ConvertResult, ExtractResult, IndexResult, OperatorResult, PipelineQueue } from '../queue/jobs.ts';
import { runInJobContext, setJobRecordingId, type JobLogFields } from './job-context.ts';
import { countMessages, countOperatorRows, jobDuration, jobStarted, workerStarted } from './metrics.ts';
import { contextFromCarrier, recordSpanError, tracer, type TraceCarrier } from './tracing.ts';

let jobLog: Logger | undefined;

/** The logger job runs write to (the pipeline's); none: job runs log nothing. */
export function setJobLogger(log: Logger | undefined): void {
  jobLog = log;
}

interface ObservedJobData {
  recordingId?: string;
  trace?: TraceCarrier;
  bucket?: string;
  key?: string;
  span?: number;
  table?: string;
}

/** The commit job's first step ends by waiting for its converts: not a failure. */
function isWaitingForChildren(error: unknown): boolean {
  return error instanceof Error && error.name === 'WaitingChildrenError';
}

function jobAttributes(queue: PipelineQueue, job: Job, data: ObservedJobData): Attributes {
  const attributes: Attributes = {
    'messaging.system': 'bullmq',
    'messaging.operation.type': 'process',
    'messaging.destination.name': queue,
    'messaging.message.id': job.id ?? '',
    'mcapflow.job.kind': job.name,
    'mcapflow.job.attempt': job.attemptsMade + 1,
  };
  if (data.recordingId !== undefined) attributes['mcapflow.recording.id'] = data.recordingId;
  if (data.bucket !== undefined) attributes['mcapflow.source.bucket'] = data.bucket;
  if (data.key !== undefined) attributes['mcapflow.source.key'] = data.key;
  if (typeof data.span === 'number') attributes['mcapflow.span.index'] = data.span;
  if (data.table !== undefined) attributes['mcapflow.table'] = data.table;
  return attributes;
}

type KnownResult = IndexResult | ExtractResult | ConvertResult | OperatorResult;

function isResult(value: unknown): value is KnownResult {
  return typeof value === 'object' && value !== null && ['index', 'extract', 'convert', 'operator'].includes((value as { kind?: unknown }).kind as string);
}

const operatorName = (id: string) => id.slice(0, id.lastIndexOf('@'));

/** Rows, bytes and counts of a job's result: span attributes, log fields, and the messages counter. */
function summarize(result: unknown): { attributes: Attributes; log: Record<string, unknown> } {
  if (isResult(result)) {
    switch (result.kind) {
      case 'index': {
        const messages = result.channels.reduce((n, c) => n + c.count, 0);
        countMessages('index', messages);
        const bytes = result.part?.bytes ?? 0;
        return {
          attributes: {
            'mcapflow.messages': messages,
            'mcapflow.rows': result.part?.rows ?? 0,
            'mcapflow.bytes.written': bytes,
            'mcapflow.damaged_chunks': result.damaged.length,
          },
          log: { messages, bytes_written: bytes, damaged_chunks: result.damaged.length },
        };
      }
      case 'extract': {
        const messages = result.channels.reduce((n, c) => n + c.count, 0);
        const rows = result.parts.reduce((n, p) => n + p.rows, 0);
        const bytes = result.parts.reduce((n, p) => n + p.bytes, 0) + result.blobs.reduce((n, b) => n + b.bytes, 0);
        const decodeErrors = result.decodeErrors.reduce((n, e) => n + e.count, 0);
        countMessages('extract', messages);
        return {
          attributes: {
            'mcapflow.messages': messages,
            'mcapflow.rows': rows,
            'mcapflow.parts': result.parts.length,
            'mcapflow.blob_packs': result.blobs.length,
            'mcapflow.bytes.written': bytes,
            'mcapflow.decode_errors': decodeErrors,
          },
          log: { messages, rows, parts: result.parts.length, bytes_written: bytes, decode_errors: decodeErrors },
        };
      }
      case 'operator': {
        const rows = result.tables.reduce((n, t) => n + t.objects.reduce((m, o) => m + o.rows, 0), 0);
        const bytes = result.tables.reduce((n, t) => n + t.objects.reduce((m, o) => m + o.bytes, 0), 0);
        countOperatorRows(operatorName(result.operator), rows);
        return {
          attributes: { 'mcapflow.operator': result.operator, 'mcapflow.rows': rows, 'mcapflow.tables': result.tables.length, 'mcapflow.bytes.written': bytes },
          log: { operator: result.operator, rows, tables: result.tables.length, bytes_written: bytes },
        };
      }
      case 'convert': {
        const rows = result.objects.reduce((n, o) => n + o.rows, 0);
        const bytes = result.objects.reduce((n, o) => n + o.bytes, 0);
        countMessages('convert', rows);
        countOperatorRows(operatorName(result.operator), rows);
        return {
          attributes: { 'mcapflow.table': result.table, 'mcapflow.rows': rows, 'mcapflow.files': result.objects.length, 'mcapflow.bytes.written': bytes },
          log: { table: result.table, rows, files: result.objects.length, bytes_written: bytes },
        };
      }
    }
  }
  if (typeof result === 'object' && result !== null) {
    const { outcome, status, reason } = result as { outcome?: unknown; status?: unknown; reason?: unknown };
    const value = typeof outcome === 'string' ? outcome : typeof status === 'string' ? status : undefined;
    if (value !== undefined) {
      return {
        attributes: { 'mcapflow.outcome': value, ...(typeof reason === 'string' ? { 'mcapflow.reason': reason } : {}) },
        log: { outcome: value, ...(typeof reason === 'string' ? { reason } : {}) },
      };
    }
  }
  return { attributes: {}, log: {} };
}

/** Telemetry never fails a job: a misbehaving span processor is its own problem. */
function endQuietly(span: { end(): void }): void {
  try {
    span.end();
  } catch {
    // ignored
  }
}

/** Runs one job with its span, log context, duration and busy-time accounting. */
export async function observeJob<R>(queue: PipelineQueue, job: Job, run: () => Promise<R>): Promise<R> {
  const data = (typeof job.data === 'object' && job.data !== null ? job.data : {}) as ObservedJobData;
  const fields: JobLogFields = { job_id: job.id ?? '', kind: job.name, queue, attempt: job.attemptsMade + 1 };
  if (data.recordingId !== undefined) fields.recording_id = data.recordingId;
  const parent = contextFromCarrier(data.trace);
  const span = tracer().startSpan(`process ${queue}`, { kind: SpanKind.CONSUMER, attributes: jobAttributes(queue, job, data) }, parent);
  const done = jobStarted(queue);
  const started = performance.now();
  return runInJobContext(fields, () =>
    context.with(trace.setSpan(parent, span), async () => {
      jobLog?.debug({ ...fields, ...(data.key !== undefined ? { key: data.key } : {}) }, 'job started');
      try {
        const result = await run();
        const summary = summarize(result);
        span.setAttributes(summary.attributes);
        span.setStatus({ code: SpanStatusCode.OK });
        jobLog?.info({ ...fields, duration_ms: Math.round(performance.now() - started), ...summary.log }, 'job completed');
        return result;
      } catch (error) {
        if (isWaitingForChildren(error)) {
          span.setAttribute('mcapflow.waiting_for_children', true);
          jobLog?.debug({ ...fields, duration_ms: Math.round(performance.now() - started) }, 'job waiting for its child jobs');
        } else {
          recordSpanError(span, error);
          // The 'job failed' line is written by the worker's failed handler (it also sees stalls).
        }
        throw error;
      } finally {
        const seconds = (performance.now() - started) / 1000;
        jobDuration.observe({ queue, kind: job.name }, seconds);
        done();
        endQuietly(span);
      }
    }),
  );
}

/** Counts a worker's slots while it runs. */
export function observeWorker(queue: PipelineQueue, worker: Worker): void {
  const stop = workerStarted(queue, worker.concurrency);
  worker.once('closed', stop);
}

/** The running job learned its recording id (ingest, after its HEAD): later log lines and its span carry it. */
export function annotateJobRecording(recordingId: string): void {
  setJobRecordingId(recordingId);
  trace.getActiveSpan()?.setAttribute('mcapflow.recording.id', recordingId);
}

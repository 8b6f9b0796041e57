/**
 * Prometheus metrics of this process (prom-client). One registry per process; every role
 * serves it on /metrics. Labels are bounded sets (queues, job kinds, outcomes, read
 * purposes, S3 operations): never recording ids, keys or topics. Known label combinations
 * are created at zero so that `rate()` sees the first increment.
 *
 * docs/observability.md describes every metric; a test keeps the two in sync.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { QUEUE_NAMES, type PipelineQueue } from '../queue/jobs.ts';
import type { ReadPurpose, StoreObserver } from '../storage/object-store.ts';

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

export async function renderMetrics(): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}

export const JOB_OUTCOMES = ['completed', 'failed', 'retried', 'dlq'] as const;
export type JobOutcome = (typeof JOB_OUTCOMES)[number];
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'failed', 'completed'] as const;
export const RECORDING_OUTCOMES = ['committed', 'quarantined', 'recovered'] as const;
export type RecordingOutcome = (typeof RECORDING_OUTCOMES)[number];
const READ_PURPOSES: readonly ReadPurpose[] = ['plan', 'scan', 'span', 'derived', 'cache'];
/** Reads of the recording itself, whose needed bytes are known: the scan amplification. */
export const SOURCE_READ_PURPOSES = ['plan', 'scan', 'span'] as const;
export type SourceReadPurpose = (typeof SOURCE_READ_PURPOSES)[number];
export const MESSAGE_OPERATORS = ['index', 'extract', 'convert'] as const;
const S3_OPS = ['head', 'get', 'put', 'delete', 'list', 'create-multipart', 'upload-part', 'complete-multipart', 'abort-multipart'] as const;
export const S3_STATUSES = ['ok', 'not_found', 'error'] as const;
export type S3Status = (typeof S3_STATUSES)[number];
export const CACHES = ['plan', 'object'] as const;
export type CacheName = (typeof CACHES)[number];

const registers = [registry];

export const jobsTotal = new Counter({
  name: 'mcapflow_jobs_total',
  help: 'Job attempts that ended, by queue, job kind and outcome: completed; retried (failed, attempts left); failed (failed, no attempts left); dlq (filed in the dead-letter queue).',
  labelNames: ['queue', 'kind', 'outcome'] as const,
  registers,
});

export const jobDuration = new Histogram({
  name: 'mcapflow_job_duration_seconds',
  help: 'Wall time of one job run (an attempt, or one step of a commit), by queue and job kind.',
  labelNames: ['queue', 'kind'] as const,
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
  registers,
});

export const recordingsTotal = new Counter({
  name: 'mcapflow_recordings_total',
  help: 'Recordings that reached an end, by outcome: committed (manifest written), quarantined (can never be processed), recovered (committed with damaged parts skipped; also counted as committed).',
  labelNames: ['outcome'] as const,
  registers,
});

export const ingestLag = new Histogram({
  name: 'mcapflow_ingest_lag_seconds',
  help: 'Time from the object-created event to the commit of its recording (manifest written).',
  buckets: [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600],
  registers,
});

export const bytesRead = new Counter({
  name: 'mcapflow_bytes_read_total',
  help: 'Bytes read from object storage, by purpose: plan (head, footer and summary), scan (whole-file scans), span (chunk spans), derived (plans, parts, manifests), cache (query cache fills).',
  labelNames: ['purpose'] as const,
  registers,
});

export const bytesNeeded = new Counter({
  name: 'mcapflow_bytes_needed_total',
  help: 'Bytes of recordings the readers actually parsed, by purpose (plan, scan, span). bytes_read / bytes_needed over those purposes is the scan amplification.',
  labelNames: ['purpose'] as const,
  registers,
});

export const bytesWritten = new Counter({
  name: 'mcapflow_bytes_written_total',
  help: 'Bytes written to object storage (uploads, plans, parts, blobs, tables, manifests).',
  registers,
});

export const messagesTotal = new Counter({
  name: 'mcapflow_messages_total',
  help: 'Messages (rows) handled by an operator: index (messages indexed), extract (messages decoded into schema tables), convert (rows written to Parquet).',
  labelNames: ['operator'] as const,
  registers,
});

export const operatorRows = new Counter({
  name: 'mcapflow_operator_rows_total',
  help: 'Rows written to Parquet per operator (the built-ins and MCAPFLOW_OPERATORS): a table that stops growing names its operator.',
  labelNames: ['operator'] as const,
  registers,
});

export const s3Requests = new Counter({
  name: 'mcapflow_s3_requests_total',
  help: "Object-storage requests, after the SDK's own retries, by operation (head, get, put, delete, list, and the multipart upload steps) and status (ok, not_found, error).",
  labelNames: ['op', 'status'] as const,
  registers,
});

export const cacheRequests = new Counter({
  name: 'mcapflow_cache_requests_total',
  help: "Cache lookups by cache (plan: the workers' plan cache; object: the query layer's local copies of derived objects) and result (hit, miss).",
  labelNames: ['cache', 'result'] as const,
  registers,
});

for (const queue of QUEUE_NAMES) {
  jobDuration.zero({ queue, kind: queue });
  for (const outcome of JOB_OUTCOMES) jobsTotal.inc({ queue, kind: queue, outcome }, 0);
}
for (const outcome of RECORDING_OUTCOMES) recordingsTotal.inc({ outcome }, 0);
for (const purpose of READ_PURPOSES) bytesRead.inc({ purpose }, 0);
for (const purpose of SOURCE_READ_PURPOSES) bytesNeeded.inc({ purpose }, 0);
for (const operator of MESSAGE_OPERATORS) messagesTotal.inc({ operator }, 0);
for (const op of S3_OPS) for (const status of S3_STATUSES) s3Requests.inc({ op, status }, 0);
for (const cache of CACHES) for (const result of ['hit', 'miss']) cacheRequests.inc({ cache, result }, 0);

export function countJob(queue: PipelineQueue, kind: string, outcome: JobOutcome): void {
  jobsTotal.inc({ queue, kind, outcome });
}

export function countRecording(outcome: RecordingOutcome): void {
  recordingsTotal.inc({ outcome });
}

/** A recording's manifest was written: counts it and observes its lag from the event. */
export function recordCommitted(options: { recovered: boolean; eventTime: string | undefined; now?: number }): void {
  countRecording('committed');
  if (options.recovered) countRecording('recovered');
  const eventMs = options.eventTime === undefined ? Number.NaN : Date.parse(options.eventTime);
  if (Number.isFinite(eventMs)) ingestLag.observe(Math.max(0, ((options.now ?? Date.now()) - eventMs) / 1000));
}

export function countBytesNeeded(purpose: SourceReadPurpose, bytes: number): void {
  if (bytes > 0) bytesNeeded.inc({ purpose }, bytes);
}

export function countMessages(operator: (typeof MESSAGE_OPERATORS)[number], count: number): void {
  if (count > 0) messagesTotal.inc({ operator }, count);
}

export function countOperatorRows(operator: string, rows: number): void {
  operatorRows.inc({ operator }, rows);
}

/** Every registered operator appears in /metrics from the start, at zero. */
export function registerOperatorLabels(names: readonly string[]): void {
  for (const operator of names) operatorRows.inc({ operator }, 0);
}

export function countCache(cache: CacheName, hit: boolean): void {
  cacheRequests.inc({ cache, result: hit ? 'hit' : 'miss' });
}

/** The observer every object store of this process reports its traffic to. */
export const storeMetrics: StoreObserver = {
  onRead(purpose, bytes) {
    bytesRead.inc({ purpose }, bytes);
  },
  onWrite(bytes) {
    if (bytes > 0) bytesWritten.inc(bytes);
  },
  onRequest(op, status) {
    s3Requests.inc({ op, status });
  },
};

// ---------------------------------------------------------------------------------------
// Worker utilisation: jobs running now, slots, and busy time (running jobs included up to
// the moment of the scrape, so a long job shows as busy while it runs).

interface RunningJob {
  queue: string;
  accountedAt: number;
}

const running = new Set<RunningJob>();

export const workerBusySeconds = new Counter({
  name: 'mcapflow_worker_busy_seconds_total',
  help: 'Seconds spent running jobs, summed over job slots, by queue. rate() of it divided by mcapflow_worker_concurrency is the utilisation.',
  labelNames: ['queue'] as const,
  registers,
  collect() {
    const now = performance.now();
    for (const job of running) {
      this.inc({ queue: job.queue }, (now - job.accountedAt) / 1000);
      job.accountedAt = now;
    }
  },
});

export const workerConcurrency = new Gauge({
  name: 'mcapflow_worker_concurrency',
  help: "Job slots of this process (sum of its workers' concurrency), by queue.",
  labelNames: ['queue'] as const,
  registers,
});

export const workerActiveJobs = new Gauge({
  name: 'mcapflow_worker_active_jobs',
  help: 'Jobs this process is running now, by queue.',
  labelNames: ['queue'] as const,
  registers,
});

const slots = new Map<string, number>();
const active = new Map<string, number>();

export const workerBusyRatio = new Gauge({
  name: 'mcapflow_worker_busy_ratio',
  help: "Share of this process's job slots busy at scrape time (active jobs / concurrency), by queue. For averages use mcapflow_worker_busy_seconds_total.",
  labelNames: ['queue'] as const,
  registers,
  collect() {
    this.reset();
    for (const [queue, concurrency] of slots) if (concurrency > 0) this.set({ queue }, (active.get(queue) ?? 0) / concurrency);
  },
});

/** A worker with `concurrency` slots started consuming `queue`; returns its stop callback. */
export function workerStarted(queue: string, concurrency: number): () => void {
  slots.set(queue, (slots.get(queue) ?? 0) + concurrency);
  workerConcurrency.set({ queue }, slots.get(queue)!);
  workerActiveJobs.inc({ queue }, 0);
  workerBusySeconds.inc({ queue }, 0);
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    slots.set(queue, Math.max(0, (slots.get(queue) ?? 0) - concurrency));
    workerConcurrency.set({ queue }, slots.get(queue)!);
  };
}

/** Marks one job as running; the returned callback marks it done and adds its busy time. */
export function jobStarted(queue: string): () => void {
  const job: RunningJob = { queue, accountedAt: performance.now() };
  running.add(job);
  active.set(queue, (active.get(queue) ?? 0) + 1);
  workerActiveJobs.set({ queue }, active.get(queue)!);
  return () => {
    if (!running.delete(job)) return;
    workerBusySeconds.inc({ queue }, (performance.now() - job.accountedAt) / 1000);
    active.set(queue, Math.max(0, (active.get(queue) ?? 0) - 1));
    workerActiveJobs.set({ queue }, active.get(queue)!);
  };
}

// ---------------------------------------------------------------------------------------
// Queue depth, read from BullMQ when scraped.

/** What the queue gauges read at scrape time (satisfied by Services' queues and DLQ). */
export interface QueueDepthSource {
  jobCounts(queue: PipelineQueue, states: readonly string[]): Promise<Record<string, number>>;
  dlqCount(): Promise<number>;
}

const sources: QueueDepthSource[] = [];
/** A scrape never waits longer than this for Redis (ioredis queues commands while disconnected). */
const QUEUE_SCRAPE_TIMEOUT_MS = 2000;

function withTimeout<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('queue metrics timed out')), QUEUE_SCRAPE_TIMEOUT_MS);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export const queueScrapeErrors = new Counter({
  name: 'mcapflow_queue_scrape_errors_total',
  help: 'Scrapes whose queue depth could not be read from Redis in time (the queue gauges are then absent).',
  registers,
});

export const queueJobs = new Gauge({
  name: 'mcapflow_queue_jobs',
  help: 'Jobs in each pipeline queue by state (waiting, active, delayed, prioritized, waiting-children, failed, completed), read from BullMQ when scraped. Every process reports the same shared queues: aggregate with max, not sum.',
  labelNames: ['queue', 'state'] as const,
  registers,
  async collect() {
    this.reset();
    const source = sources.at(-1);
    if (source === undefined) return;
    try {
      const counts = await withTimeout(Promise.all(QUEUE_NAMES.map(async (queue) => [queue, await source.jobCounts(queue, QUEUE_STATES)] as const)));
      for (const [queue, byState] of counts) for (const state of QUEUE_STATES) this.set({ queue, state }, byState[state] ?? 0);
    } catch {
      queueScrapeErrors.inc();
    }
  },
});

export const dlqDropped = new Counter({
  name: 'mcapflow_dlq_dropped_total',
  help: 'Dead-letter entries dropped, oldest first, to keep the dead-letter queue within MCAPFLOW_DLQ_MAX_ENTRIES (their recordings stay failed; re-ingest them to retry).',
  registers,
});

export function countDlqDropped(entries: number): void {
  if (entries > 0) dlqDropped.inc(entries);
}

export const dlqJobs = new Gauge({
  name: 'mcapflow_dlq_jobs',
  help: 'Entries in the dead-letter queue (jobs that exhausted their attempts), read when scraped.',
  registers,
  async collect() {
    this.reset();
    const source = sources.at(-1);
    if (source === undefined) return;
    try {
      this.set(await withTimeout(source.dlqCount()));
    } catch {
      queueScrapeErrors.inc();
    }
  },
});

/** Makes the queue gauges read from `source` (the most recent one registered); returns its removal. */
export function watchQueues(source: QueueDepthSource): () => void {
  sources.push(source);
  return () => {
    const index = sources.indexOf(source);
    if (index >= 0) sources.splice(index, 1);
  };
}

export const manifestsInvalid = new Counter({
  name: 'mcapflow_manifests_invalid_total',
  help: 'Manifests the catalog skipped because they are not valid (not JSON, another format version, a field that does not fit), counted each time a listing skips one.',
  registers,
});

export const QUERY_OUTCOMES = ['ok', 'failed', 'refused', 'timeout', 'too_large', 'busy', 'cancelled'] as const;
export type QueryOutcome = (typeof QUERY_OUTCOMES)[number];

export const queriesTotal = new Counter({
  name: 'mcapflow_queries_total',
  help: 'POST /v1/query statements by outcome: ok, failed (SQL error), refused (not a single SELECT, or a file outside the catalog), timeout, too_large (result bytes or memory), busy (over the concurrency cap), cancelled (the client went away).',
  labelNames: ['outcome'] as const,
  registers,
});
for (const outcome of QUERY_OUTCOMES) queriesTotal.inc({ outcome }, 0);

export const queryEnginesTotal = new Counter({
  name: 'mcapflow_query_engines_total',
  help: "Answered POST /v1/query statements by engine: warm (the sandbox's DuckDB of an earlier statement, same catalog version, views swapped) or opened (a new DuckDB: first statement of a sandbox, or a commit landed).",
  labelNames: ['engine'] as const,
  registers,
});
for (const engine of ['warm', 'opened'] as const) queryEnginesTotal.inc({ engine }, 0);

/** What happened to a recording the edge uploader finished: sent whole, continued from its journal, or found already there. */
export const UPLOAD_OUTCOMES = ['uploaded', 'resumed', 'unchanged'] as const;
/** Where an edge-uploader attempt failed: sending, the checksum confirmation, or the delete/move after it. */
export const UPLOAD_FAILURE_STAGES = ['upload', 'confirm', 'clean'] as const;

export const uploaderFiles = new Counter({
  name: 'mcapflow_uploader_files_total',
  help: 'Recordings the edge uploader confirmed in the bucket (sha256 and size checked by a HEAD), by outcome: uploaded, resumed (continued from its journal after a restart), unchanged (already there).',
  labelNames: ['outcome'] as const,
  registers,
});
for (const outcome of UPLOAD_OUTCOMES) uploaderFiles.inc({ outcome }, 0);

export const uploaderFailures = new Counter({
  name: 'mcapflow_uploader_failures_total',
  help: 'Edge-uploader attempts on a recording that failed and will be retried after a backoff, by stage: upload (offline, S3 errors), confirm (the object does not match the local file), clean (the delete or move failed).',
  labelNames: ['stage'] as const,
  registers,
});
for (const stage of UPLOAD_FAILURE_STAGES) uploaderFailures.inc({ stage }, 0);

export const uploaderRetries = new Counter({
  name: 'mcapflow_uploader_retries_total',
  help: 'Requests the edge uploader sent again: a part or completion retried within an attempt, plus every attempt retried after a backoff.',
  registers,
});

export const uploaderBytes = new Counter({
  name: 'mcapflow_uploader_bytes_total',
  help: 'Bytes of recording parts the bucket accepted from the edge uploader.',
  registers,
});

export const uploaderBacklogFiles = new Gauge({
  name: 'mcapflow_uploader_backlog_files',
  help: 'Complete recordings in the watched directory the edge uploader has not yet confirmed and cleaned (pending, uploading or waiting for a retry).',
  registers,
});

export const uploaderBacklogBytes = new Gauge({
  name: 'mcapflow_uploader_backlog_bytes',
  help: 'Size of the recordings counted by mcapflow_uploader_backlog_files.',
  registers,
});

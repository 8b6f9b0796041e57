/**
 * What /metrics says after real work: a multi-span recording committed, a non-MCAP file
 * quarantined, a recording whose span reads keep failing filed in the DLQ. Counts are checked
 * against what the pipeline actually did (jobs per queue, bytes per span, messages), and no
 * label carries a recording id.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForFinal } from '../../src/cli/submit.ts';
import { recordingIdFor } from '../../src/domain/identity.ts';
import type { RecordingPlan } from '../../src/domain/plan.ts';
import { createHttpServer, listen } from '../../src/http/server.ts';
import { QUEUE_NAMES } from '../../src/queue/jobs.ts';
import { generateRobotRun, type RobotRunSummary } from '../../src/synth/robot-run.ts';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.ts';
import { fixture } from '../helpers/fixtures.ts';
import { startHarness, type Harness } from '../helpers/pipeline-harness.ts';

type Samples = Map<string, number>;

/** Parses the text exposition into `name{label="v",…}` → value (labels sorted by name). */
function parseExposition(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`unparseable exposition line: ${line}`);
    const labels = [...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => `${m[1]}="${m[2]}"`).sort();
    samples.set(labels.length > 0 ? `${match[1]}{${labels.join(',')}}` : match[1]!, Number(match[3]));
  }
  return samples;
}

function key(name: string, labels: Record<string, string> = {}): string {
  const parts = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort();
  return parts.length > 0 ? `${name}{${parts.join(',')}}` : name;
}

let harness: Harness;
let proxy: FaultProxy;
let app: FastifyInstance;
let metricsUrl: string;
const dir = mkdtempSync(join(tmpdir(), 'mcapflow-metrics-'));
let run: RobotRunSummary;

async function scrape(): Promise<{ text: string; samples: Samples }> {
  const response = await fetch(metricsUrl);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
  const text = await response.text();
  return { text, samples: parseExposition(text) };
}

function value(samples: Samples, name: string, labels: Record<string, string> = {}): number {
  return samples.get(key(name, labels)) ?? Number.NaN;
}

beforeAll(async () => {
  run = await generateRobotRun({ path: join(dir, 'run.mcap'), sizeBytes: 1024 * 1024, seed: 7, chunkSizeBytes: 64 * 1024 });
  harness = await startHarness(
    'metrics',
    { MCAPFLOW_SPAN_MAX_BYTES: String(256 * 1024), MCAPFLOW_JOB_ATTEMPTS: '2', MCAPFLOW_BACKOFF_MS: '50' },
    { s3Endpoint: async (embedded) => ((proxy = await startFaultProxy(embedded)), proxy.endpoint) },
  );
  app = createHttpServer({ services: harness.services });
  metricsUrl = `${await listen(app, '127.0.0.1', 0)}/metrics`;
});

afterAll(async () => {
  await app?.close();
  await harness?.close();
  await proxy?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('/metrics after a pipeline run', () => {
  it('counts jobs, bytes, messages, recordings and lag for a committed and a quarantined recording', async () => {
    const started = Date.now();
    const before = (await scrape()).samples;
    const summary = await harness.process(run.path);
    expect(summary.status).toBe('committed');
    const junk = join(dir, 'notes.mcap');
    writeFileSync(junk, 'these are my notes, not a recording\n'.repeat(10));
    expect((await harness.process(junk)).status).toBe('quarantined');

    const commitJob = await harness.services.queues.queue('commit').getJob(`${summary.recording_id}-commit`);
    const plan: RecordingPlan = await harness.services.work.loadPlan(commitJob!.data.planKey);
    const spans = plan.spans.length;
    expect(spans).toBeGreaterThan(1);
    // Tracing is off by default: job data carries no trace context.
    expect(commitJob!.data).not.toHaveProperty('trace');

    // The status says committed just before BullMQ records the commit job as completed.
    let scraped = await scrape();
    for (let i = 0; i < 50 && value(scraped.samples, 'mcapflow_jobs_total', { queue: 'commit', kind: 'commit', outcome: 'completed' }) < 1; i++) {
      await new Promise((r) => setTimeout(r, 100));
      scraped = await scrape();
    }
    const { text, samples: after } = scraped;
    const delta = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - (value(before, name, labels) || 0);

    // Recordings and lag.
    expect(delta('mcapflow_recordings_total', { outcome: 'committed' })).toBe(1);
    expect(delta('mcapflow_recordings_total', { outcome: 'quarantined' })).toBe(1);
    expect(delta('mcapflow_recordings_total', { outcome: 'recovered' })).toBe(0);
    expect(delta('mcapflow_ingest_lag_seconds_count')).toBe(1);
    const lag = delta('mcapflow_ingest_lag_seconds_sum');
    expect(lag).toBeGreaterThan(0);
    expect(lag).toBeLessThan((Date.now() - started) / 1000);

    // One completed job per planned job, in its own queue.
    const completed = (queue: string) => delta('mcapflow_jobs_total', { queue, kind: queue, outcome: 'completed' });
    expect(completed('ingest')).toBe(2);
    expect(completed('index')).toBe(plan.spans.filter((s) => s.segments.some((g) => g.messageIndex !== undefined)).length);
    expect(completed('extract')).toBe(spans);
    // A convert per span-operator table (messages, chunks, odometry_events and the schema tables),
    // and in the same queue an `operator` job per recording operator (attachments, metadata, imu_windows).
    expect(completed('convert')).toBe(plan.tables.length + 3);
    expect(delta('mcapflow_jobs_total', { queue: 'convert', kind: 'operator', outcome: 'completed' })).toBe(3);
    expect(completed('commit')).toBe(1);
    expect(completed('scan')).toBe(0);
    for (const queue of ['index', 'extract', 'convert']) {
      expect(delta('mcapflow_job_duration_seconds_count', { queue, kind: queue })).toBe(completed(queue));
    }
    // The commit ran in two steps: plan the converts, then write the manifest.
    expect(delta('mcapflow_job_duration_seconds_count', { queue: 'commit', kind: 'commit' })).toBeGreaterThanOrEqual(2);
    expect(delta('mcapflow_jobs_total', { queue: 'index', kind: 'index', outcome: 'retried' })).toBe(0);

    // Span reads: one GET of [start, end) per span (extract), and each chunk's message indexes
    // (index), nothing twice. Extract needs the chunks; the message indexes between them come along.
    const spanBytes = plan.spans.reduce((n, s) => n + (s.end - s.start), 0);
    const segmentBytes = plan.spans.reduce((n, s) => n + s.segments.reduce((m, g) => m + g.length, 0), 0);
    const indexBytes = plan.spans.reduce((n, s) => n + s.segments.reduce((m, g) => m + (g.messageIndex?.length ?? 0), 0), 0);
    expect(delta('mcapflow_bytes_read_total', { purpose: 'span' })).toBe(spanBytes + indexBytes);
    expect(delta('mcapflow_bytes_needed_total', { purpose: 'span' })).toBe(segmentBytes + indexBytes);
    expect(segmentBytes).toBeLessThan(spanBytes);
    // Planning reads the head and one tail block; it needs less than that.
    expect(delta('mcapflow_bytes_read_total', { purpose: 'plan' })).toBeGreaterThan(0);
    expect(delta('mcapflow_bytes_needed_total', { purpose: 'plan' })).toBeGreaterThan(0);
    expect(delta('mcapflow_bytes_needed_total', { purpose: 'plan' })).toBeLessThanOrEqual(delta('mcapflow_bytes_read_total', { purpose: 'plan' }));
    let derived = 0;
    for await (const object of harness.services.store.list(harness.config.derivedBucket, '')) derived += object.size;
    expect(delta('mcapflow_bytes_written_total')).toBeGreaterThanOrEqual(derived + run.bytes);

    // Messages per operator.
    expect(delta('mcapflow_messages_total', { operator: 'index' })).toBe(run.messages);
    expect(delta('mcapflow_messages_total', { operator: 'extract' })).toBe(run.messages);
    expect(delta('mcapflow_messages_total', { operator: 'convert' })).toBeGreaterThanOrEqual(2 * run.messages);
    // Rows per operator: every message once in `messages`, once decoded into its schema table.
    expect(delta('mcapflow_operator_rows_total', { operator: 'messages' })).toBe(run.messages);
    expect(delta('mcapflow_operator_rows_total', { operator: 'schema-tables' })).toBe(run.messages);

    // S3: a missing manifest is an answer, not an error; nothing failed.
    expect(delta('mcapflow_s3_requests_total', { op: 'get', status: 'not_found' })).toBeGreaterThanOrEqual(2);
    expect(delta('mcapflow_s3_requests_total', { op: 'put', status: 'ok' })).toBeGreaterThan(0);
    expect(delta('mcapflow_s3_requests_total', { op: 'get', status: 'error' })).toBe(0);
    // index and extract of every span share the cached plan.
    expect(delta('mcapflow_cache_requests_total', { cache: 'plan', result: 'hit' })).toBeGreaterThanOrEqual(2 * spans);

    // Queue depth from BullMQ: every queue and state, all work done.
    for (const queue of QUEUE_NAMES) {
      for (const state of ['waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed']) {
        expect(value(after, 'mcapflow_queue_jobs', { queue, state }), `${queue} ${state}`).not.toBeNaN();
      }
      expect(value(after, 'mcapflow_queue_jobs', { queue, state: 'waiting' })).toBe(0);
    }
    expect(value(after, 'mcapflow_queue_jobs', { queue: 'index', state: 'completed' })).toBe(spans);
    expect(value(after, 'mcapflow_dlq_jobs')).toBe(0);

    // Utilisation: slots per queue, busy time spent.
    expect(value(after, 'mcapflow_worker_concurrency', { queue: 'index' })).toBe(harness.config.workerConcurrency);
    expect(value(after, 'mcapflow_worker_concurrency', { queue: 'ingest' })).toBe(harness.config.dispatcherConcurrency);
    expect(delta('mcapflow_worker_busy_seconds_total', { queue: 'extract' })).toBeGreaterThan(0);
    expect(value(after, 'mcapflow_worker_busy_ratio', { queue: 'extract' })).toBe(0);
    expect(value(after, 'process_resident_memory_bytes')).toBeGreaterThan(0);

    // Bounded labels: no recording id, key or topic anywhere in the exposition.
    expect(text).not.toContain(summary.recording_id);
    expect(text).not.toContain('run.mcap');
    for (const topic of run.topics) expect(text).not.toContain(`"${topic.topic}"`);
    const allowed = new Set([
      'queue',
      'kind',
      'outcome',
      'engine',
      'state',
      'purpose',
      'operator',
      'op',
      'status',
      'cache',
      'result',
      'stage',
      'le',
      'quantile',
    ]);
    for (const series of after.keys()) {
      if (!series.startsWith('mcapflow_')) continue;
      for (const [, label] of series.matchAll(/([a-z_]+)="/g)) expect(allowed, series).toContain(label);
    }
  });

  it('counts retries, final failures and dead letters, and shows the DLQ size', async () => {
    const before = (await scrape()).samples;
    // Every span read of this one object answers 503: its only chunk starts at byte 45, its message indexes at 3010.
    proxy.rule = (req) => {
      const range = /bytes=(\d+)-/.exec(String(req.headers.range ?? ''));
      return req.method === 'GET' && (req.url ?? '').includes('/raw/dlq/') && range !== null && [45, 3010].includes(Number(range[1])) ? 'error503' : 'pass';
    };
    const { store } = harness.services;
    await store.put(harness.config.rawBucket, 'dlq/talker.mcap', readFileSync(fixture('talker').path));
    const info = (await store.head(harness.config.rawBucket, 'dlq/talker.mcap'))!;
    const recordingId = recordingIdFor({ bucket: info.bucket, key: 'dlq/talker.mcap', size: info.size, etag: info.etag });
    const statuses = await waitForFinal(harness.services, [recordingId], { timeoutMs: 30_000 });
    expect(statuses.get(recordingId)?.state).toBe('failed');
    const deadline = Date.now() + 10_000;
    while ((await harness.services.deadLetters.count()) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    proxy.rule = () => 'pass';

    const after = (await scrape()).samples;
    const delta = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - (value(before, name, labels) || 0);
    for (const queue of ['index', 'extract']) {
      expect(delta('mcapflow_jobs_total', { queue, kind: queue, outcome: 'retried' })).toBe(1);
      expect(delta('mcapflow_jobs_total', { queue, kind: queue, outcome: 'failed' })).toBe(1);
      expect(delta('mcapflow_jobs_total', { queue, kind: queue, outcome: 'dlq' })).toBe(1);
      expect(delta('mcapflow_jobs_total', { queue, kind: queue, outcome: 'completed' })).toBe(0);
    }
    expect(value(after, 'mcapflow_dlq_jobs')).toBe(2);
    expect(value(after, 'mcapflow_queue_jobs', { queue: 'index', state: 'failed' })).toBe(1);
    // 2 attempts × 2 jobs, each a GET that failed after the SDK's own retries.
    expect(delta('mcapflow_s3_requests_total', { op: 'get', status: 'error' })).toBe(4);
    expect(delta('mcapflow_recordings_total', { outcome: 'committed' })).toBe(0);
  });
});

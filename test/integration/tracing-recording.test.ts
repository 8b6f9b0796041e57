/**
 * One recording, one trace: the object-created event, the dispatcher's planning (ingest),
 * every index and extract job, the converts and the commit share a trace id, each job's span
 * is a child of the job that enqueued it, and the spans carry recording id, span offsets,
 * bytes and rows. Then the same through the real command with only OTEL_* variables set: the
 * OTLP exporter delivers the trace to a collector.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordingPlan } from '../../src/domain/plan.ts';
import { startTracing, stopTracing, tracingRequested } from '../../src/observability/tracing.ts';
import { generateRobotRun, type RobotRunSummary } from '../../src/synth/robot-run.ts';
import { deleteRedisPrefix, startHarness, TEST_REDIS_URL, uniquePrefix, type Harness } from '../helpers/pipeline-harness.ts';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/mcapflow.js');
const dir = mkdtempSync(join(tmpdir(), 'mcapflow-trace-'));
const exporter = new InMemorySpanExporter();
let harness: Harness;
let run: RobotRunSummary;

beforeAll(async () => {
  run = await generateRobotRun({ path: join(dir, 'traced.mcap'), sizeBytes: 768 * 1024, seed: 11, chunkSizeBytes: 64 * 1024 });
  expect(startTracing({ spanProcessors: [new SimpleSpanProcessor({ exporter })] })).toBe('started');
  harness = await startHarness('trace', { MCAPFLOW_SPAN_MAX_BYTES: String(192 * 1024) });
});

afterAll(async () => {
  await harness?.close();
  await stopTracing();
  rmSync(dir, { recursive: true, force: true });
});

const attr = (span: ReadableSpan, name: string) => span.attributes[name];

describe('tracing', () => {
  it('is off unless OTEL_* variables ask for an exporter', () => {
    expect(tracingRequested({})).toBe(false);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(true);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' })).toBe(true);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'console' })).toBe(true);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(false);
    expect(tracingRequested({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(false);
  });

  it('puts the event, planning, every span job, the converts and the commit of one recording in one trace', async () => {
    const summary = await harness.process(run.path);
    expect(summary.status).toBe('committed');
    const id = summary.recording_id;
    const commitJob = await harness.services.queues.queue('commit').getJob(`${id}-commit`);
    const plan: RecordingPlan = await harness.services.work.loadPlan(commitJob!.data.planKey);
    expect(plan.spans.length).toBeGreaterThan(1);

    // The commit's span ends just after it sets the status: wait for it.
    const deadline = Date.now() + 10_000;
    const committedSpan = () =>
      exporter
        .getFinishedSpans()
        .find((s) => s.name === 'process commit' && attr(s, 'mcapflow.recording.id') === id && attr(s, 'mcapflow.outcome') === 'committed');
    while (committedSpan() === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));

    const all = exporter.getFinishedSpans();
    const ofRecording = all.filter((s) => attr(s, 'mcapflow.recording.id') === id);
    const traceIds = new Set(ofRecording.map((s) => s.spanContext().traceId));
    expect(traceIds.size).toBe(1);
    const traceId = [...traceIds][0]!;
    const trace = all.filter((s) => s.spanContext().traceId === traceId);
    // Operator jobs run in the convert queue: their spans are `process convert` of job kind `operator`.
    const named = (name: string) =>
      name === 'process operator'
        ? trace.filter((s) => s.name === 'process convert' && attr(s, 'mcapflow.job.kind') === 'operator')
        : trace.filter((s) => s.name === name && attr(s, 'mcapflow.job.kind') !== 'operator');

    // The root: the object-created event of the uploaded object.
    const roots = trace.filter((s) => s.parentSpanContext === undefined);
    expect(roots.map((s) => s.name)).toEqual(['object created']);
    const root = roots[0]!;
    expect(attr(root, 'mcapflow.source.key')).toMatch(/traced\.mcap$/);
    expect(attr(root, 'mcapflow.trigger')).toBe('event');

    // Every job once (the commit once per step), nothing of another recording.
    expect(named('process ingest')).toHaveLength(1);
    expect(named('process index')).toHaveLength(plan.spans.length);
    expect(named('process extract')).toHaveLength(plan.spans.length);
    // A convert per span-operator table: messages, chunks, odometry_events and the schema tables.
    expect(named('process convert')).toHaveLength(plan.tables.length + 3);
    // The recording operators: attachments and metadata from the start, imu_windows once its input is converted.
    expect(named('process operator')).toHaveLength(3);
    expect(named('process commit').length).toBeGreaterThanOrEqual(1);
    expect(committedSpan()).toBeDefined();
    expect(trace.length).toBe(2 + 2 * plan.spans.length + plan.tables.length + 3 + 3 + named('process commit').length);
    for (const span of trace.filter((s) => s !== root)) expect(attr(span, 'mcapflow.recording.id'), span.name).toBe(id);

    // Parent links: event → ingest → span jobs and commit → converts.
    const byId = new Map(trace.map((s) => [s.spanContext().spanId, s]));
    const parentName = (span: ReadableSpan) => byId.get(span.parentSpanContext?.spanId ?? '')?.name;
    const ingest = named('process ingest')[0]!;
    expect(parentName(ingest)).toBe('object created');
    for (const span of [...named('process index'), ...named('process extract'), ...named('process commit')])
      expect(parentName(span), span.name).toBe('process ingest');
    for (const span of named('process convert')) expect(parentName(span)).toBe('process commit');
    expect(named('process operator').map(parentName).sort()).toEqual(['process commit', 'process ingest', 'process ingest']);

    // Attributes: planning reads, span offsets and bytes, rows written.
    expect(attr(ingest, 'mcapflow.plan.spans')).toBe(plan.spans.length);
    expect(attr(ingest, 'mcapflow.bytes.fetched')).toBeGreaterThan(0);
    expect(attr(ingest, 'mcapflow.bytes.needed')).toBeGreaterThan(0);
    expect(attr(ingest, 'mcapflow.outcome')).toBe('planned');
    for (const kind of ['index', 'extract']) {
      const spans = named(`process ${kind}`).sort((a, b) => Number(attr(a, 'mcapflow.span.index')) - Number(attr(b, 'mcapflow.span.index')));
      spans.forEach((span, i) => {
        const planned = plan.spans[i]!;
        expect(attr(span, 'mcapflow.span.index')).toBe(planned.index);
        expect(attr(span, 'mcapflow.span.start')).toBe(planned.start);
        expect(attr(span, 'mcapflow.span.end')).toBe(planned.end);
        // Extract: the span's one GET, of which it needs the chunks. Index: only the message indexes.
        const messageIndexes = planned.segments.reduce((n, s) => n + (s.messageIndex?.length ?? 0), 0);
        expect(attr(span, 'mcapflow.bytes.fetched')).toBe(kind === 'extract' ? planned.end - planned.start : messageIndexes);
        expect(attr(span, 'mcapflow.bytes.needed')).toBe(kind === 'extract' ? planned.segments.reduce((n, s) => n + s.length, 0) : messageIndexes);
      });
    }
    const indexed = named('process index').reduce((n, s) => n + Number(attr(s, 'mcapflow.messages')), 0);
    expect(indexed).toBe(run.messages);
    const converted = named('process convert');
    expect(converted.map((s) => attr(s, 'mcapflow.table')).sort()).toEqual(['chunks', 'messages', 'odometry_events', ...plan.tables].sort());
    const messagesTable = converted.find((s) => attr(s, 'mcapflow.table') === 'messages')!;
    expect(attr(messagesTable, 'mcapflow.rows')).toBe(run.messages);
    expect(attr(messagesTable, 'mcapflow.bytes.written')).toBeGreaterThan(0);

    // The context travelled in the job data.
    const indexJob = await harness.services.queues.queue('index').getJob(`${id}-index-0`);
    expect(indexJob!.data.trace?.traceparent).toMatch(new RegExp(`^00-${traceId}-${ingest.spanContext().spanId}-01$`));
  });

  it('exports the trace over OTLP when only the standard OTEL_* variables are set (mcapflow process)', async () => {
    const received: unknown[] = [];
    const collector: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        if (req.url === '/v1/traces') received.push(JSON.parse(body));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      });
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
    const home = mkdtempSync(join(tmpdir(), 'mcapflow-otlp-'));
    const prefix = uniquePrefix('otlp');
    try {
      const env = {
        ...process.env,
        MCAPFLOW_HOME: home,
        MCAPFLOW_PREFIX: prefix,
        REDIS_URL: TEST_REDIS_URL,
        MCAPFLOW_SPAWN_REDIS: 'false',
        MCAPFLOW_LOG_LEVEL: 'warn',
        MCAPFLOW_SPAN_MAX_BYTES: String(192 * 1024),
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(collector.address() as AddressInfo).port}`,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_SERVICE_NAME: 'mcapflow-test',
      };
      const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolveRun, reject) => {
        const child = spawn(process.execPath, [BIN, 'process', run.path, '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', reject);
        child.on('close', (code) => resolveRun({ code, stdout, stderr }));
      });
      expect(result.code, result.stderr).toBe(0);
      const recordingId = JSON.parse(result.stdout).recordings[0].recording_id as string;

      interface OtlpSpan {
        traceId: string;
        name: string;
        attributes: { key: string; value: Record<string, unknown> }[];
      }
      interface OtlpExport {
        resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
      }
      const exports = received as OtlpExport[];
      const services = new Set(
        exports.flatMap((e) => e.resourceSpans.flatMap((r) => r.resource.attributes.filter((a) => a.key === 'service.name').map((a) => a.value.stringValue))),
      );
      expect(services).toEqual(new Set(['mcapflow-test']));
      const spans = exports.flatMap((e) => e.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));
      const mine = spans.filter((s) => s.attributes.some((a) => a.key === 'mcapflow.recording.id' && a.value.stringValue === recordingId));
      expect(new Set(mine.map((s) => s.traceId)).size).toBe(1);
      const names = new Set(spans.filter((s) => s.traceId === mine[0]!.traceId).map((s) => s.name));
      expect(names).toEqual(new Set(['object created', 'process ingest', 'process index', 'process extract', 'process convert', 'process commit']));
    } finally {
      collector.closeAllConnections();
      await new Promise<void>((r) => collector.close(() => r()));
      await deleteRedisPrefix(prefix);
      rmSync(home, { recursive: true, force: true });
    }
  });
});

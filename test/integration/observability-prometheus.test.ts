/**
 * The dashboard and the alerts against a real Prometheus: /usr/bin/prometheus scrapes a
 * running mcapflow (pipeline in this process, /metrics from the real HTTP server) every
 * second while it commits a recording, recovers a truncated one, quarantines a non-MCAP file
 * and files a recording whose span reads keep failing in the DLQ; a query layer fills its
 * cache. Then every PromQL expression of every panel of deploy/grafana/mcapflow.json is
 * evaluated through Prometheus' HTTP API and must return data, and the alert rules of
 * deploy/prometheus/alerts.yaml must load and evaluate (the DLQ alert goes pending).
 *
 * Skipped, with a message, only when the prometheus binary is absent (`apt-get install
 * prometheus`; .ci/run installs it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listCommitted, ObjectCache } from '../../src/catalog/catalog.ts';
import { waitForFinal } from '../../src/cli/submit.ts';
import { recordingIdFor } from '../../src/domain/identity.ts';
import { createHttpServer, listen } from '../../src/http/server.ts';
import { generateRobotRun } from '../../src/synth/robot-run.ts';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.ts';
import { fixture } from '../helpers/fixtures.ts';
import { startHarness, type Harness } from '../helpers/pipeline-harness.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DASHBOARD = join(ROOT, 'deploy/grafana/mcapflow.json');
const ALERTS = join(ROOT, 'deploy/prometheus/alerts.yaml');
const PROMETHEUS = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';
const available = existsSync(PROMETHEUS);
if (!available)
  console.warn(
    `observability-prometheus: SKIPPED — ${PROMETHEUS} not found; install it with \`apt-get install -y prometheus\` (or set PROMETHEUS_BIN) to prove the dashboard and alerts`,
  );

const SCRAPE_JOB = 'mcapflow';
/** What Grafana would substitute for the dashboard's variables on a short time range. */
const VARIABLES: [RegExp, string][] = [
  [/\$__rate_interval/g, '1m'],
  [/\$__range/g, '5m'],
  [/\$__interval/g, '1s'],
  [/\$job\b/g, SCRAPE_JOB],
];

interface PromResponse<T> {
  status: string;
  data: T;
  error?: string;
}
interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

let harness: Harness;
let proxy: FaultProxy;
let app: FastifyInstance;
let prometheus: ChildProcess | undefined;
let prometheusLog = '';
let promUrl: string;
const dir = mkdtempSync(join(tmpdir(), 'mcapflow-prom-'));

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

async function api<T>(path: string): Promise<T> {
  const response = await fetch(`${promUrl}${path}`);
  const body = (await response.json()) as PromResponse<T>;
  if (body.status !== 'success') throw new Error(`Prometheus ${path}: ${body.error ?? response.status}`);
  return body.data;
}

async function query(expr: string): Promise<VectorSample[]> {
  const data = await api<{ resultType: string; result: VectorSample[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
  expect(data.resultType, expr).toBe('vector');
  return data.result;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${prometheusLog.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function substitute(expr: string): string {
  let out = expr;
  for (const [pattern, value] of VARIABLES) out = out.replace(pattern, value);
  return out;
}

interface DashboardPanel {
  type: string;
  title: string;
  targets?: { expr: string; legendFormat?: string }[];
  panels?: DashboardPanel[];
}

function panelsOf(dashboard: { panels: DashboardPanel[] }): DashboardPanel[] {
  return dashboard.panels.flatMap((p) => (p.type === 'row' ? (p.panels ?? []) : [p]));
}

describe.skipIf(!available)('Grafana dashboard and alerts against a real Prometheus', () => {
  beforeAll(async () => {
    harness = await startHarness(
      'prom',
      { MCAPFLOW_SPAN_MAX_BYTES: String(256 * 1024), MCAPFLOW_JOB_ATTEMPTS: '2', MCAPFLOW_BACKOFF_MS: '50' },
      { s3Endpoint: async (embedded) => ((proxy = await startFaultProxy(embedded)), proxy.endpoint) },
    );
    app = createHttpServer({ services: harness.services });
    const target = new URL(await listen(app, '127.0.0.1', 0)).host;

    const promPort = await freePort();
    promUrl = `http://127.0.0.1:${promPort}`;
    const config = join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        'rule_files:',
        `  - ${JSON.stringify(ALERTS)}`,
        'scrape_configs:',
        `  - job_name: ${SCRAPE_JOB}`,
        '    scrape_interval: 1s',
        '    scrape_timeout: 900ms',
        '    static_configs:',
        `      - targets: [${JSON.stringify(target)}]`,
        '',
      ].join('\n'),
    );
    prometheus = spawn(
      PROMETHEUS,
      [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    prometheus.stdout!.on('data', (d: Buffer) => (prometheusLog += d.toString()));
    prometheus.stderr!.on('data', (d: Buffer) => (prometheusLog += d.toString()));
    await until('Prometheus to be ready', async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined));
    await until('the first successful scrape of mcapflow', async () => {
      const { activeTargets } = await api<{ activeTargets: { health: string; lastError: string }[] }>('/api/v1/targets');
      return activeTargets.some((t) => t.health === 'up') ? true : undefined;
    });
  });

  afterAll(async () => {
    if (prometheus?.exitCode === null) {
      const exited = new Promise((r) => prometheus!.once('exit', r));
      prometheus.kill('SIGTERM');
      await exited;
    }
    await app?.close();
    await harness?.close();
    await proxy?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every panel query of the dashboard returns data from a real pipeline run, and the alert rules evaluate', async () => {
    const started = Date.now();
    // The workload: committed, recovered (truncated → scan), quarantined, dead-lettered.
    const good = join(dir, 'good.mcap');
    const truncated = join(dir, 'truncated.mcap');
    await generateRobotRun({ path: good, sizeBytes: 1024 * 1024, seed: 21, chunkSizeBytes: 64 * 1024 });
    const cut = await generateRobotRun({ path: truncated, sizeBytes: 768 * 1024, seed: 22, chunkSizeBytes: 64 * 1024 });
    truncateSync(truncated, Math.floor(cut.bytes * 0.6) + 123);
    const junk = join(dir, 'junk.mcap');
    writeFileSync(junk, 'definitely not MCAP\n'.repeat(20));

    proxy.rule = (req) => {
      const range = /bytes=(\d+)-/.exec(String(req.headers.range ?? ''));
      return req.method === 'GET' && (req.url ?? '').includes('/raw/dlq/') && range !== null && [45, 3010].includes(Number(range[1])) ? 'error503' : 'pass';
    };
    const failing = async () => {
      const { store } = harness.services;
      await store.put(harness.config.rawBucket, 'dlq/talker.mcap', readFileSync(fixture('talker').path));
      const info = (await store.head(harness.config.rawBucket, 'dlq/talker.mcap'))!;
      const id = recordingIdFor({ bucket: info.bucket, key: 'dlq/talker.mcap', size: info.size, etag: info.etag });
      return (await waitForFinal(harness.services, [id], { timeoutMs: 30_000 })).get(id)?.state;
    };
    const [goodResult, truncatedResult, junkResult, failedState] = await Promise.all([
      harness.process(good),
      harness.process(truncated),
      harness.process(junk),
      failing(),
    ]);
    expect(goodResult).toMatchObject({ status: 'committed', recovered: false });
    expect(truncatedResult).toMatchObject({ status: 'committed', recovered: true });
    expect(junkResult.status).toBe('quarantined');
    expect(failedState).toBe('failed');
    await until('two DLQ entries', async () => ((await harness.services.deadLetters.count()) >= 2 ? true : undefined));
    // The query layer reads each committed recording's messages object twice: misses, then hits.
    const cache = new ObjectCache(join(dir, 'cache'), harness.services.store, harness.config.derivedBucket);
    const committed = await listCommitted(harness.services.store, harness.config.derivedBucket, cache);
    expect(committed).toHaveLength(2);
    for (let pass = 0; pass < 2; pass += 1) {
      for (const { manifest } of committed) {
        const [object] = manifest.tables['messages']?.objects ?? [];
        expect(object, manifest.recording_id).toBeDefined();
        await cache.path(object!.key, object!.sha256);
      }
    }

    // Wait until Prometheus has scraped the end state.
    await until('a scrape after the workload', async () => {
      const [dlq] = await query(`max(mcapflow_dlq_jobs{job="${SCRAPE_JOB}"})`);
      const [hits] = await query(`sum(mcapflow_cache_requests_total{job="${SCRAPE_JOB}",cache="object",result="hit"})`);
      return Number(dlq?.value[1]) >= 2 && Number(hits?.value[1]) >= 2 ? true : undefined;
    });
    await new Promise((r) => setTimeout(r, 1500));

    // The dashboard's job variable finds this scrape job.
    expect(await api<string[]>(`/api/v1/label/job/values?match[]=mcapflow_jobs_total`)).toContain(SCRAPE_JOB);

    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: DashboardPanel[] };
    const panels = panelsOf(dashboard);
    expect(panels.length).toBeGreaterThanOrEqual(15);
    const results = new Map<string, VectorSample[]>();
    const empty: string[] = [];
    for (const panel of panels) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        const expr = substitute(target.expr);
        expect(expr, `${panel.title}: unsubstituted variable`).not.toContain('$');
        const samples = await query(expr);
        const finite = samples.filter((s) => Number.isFinite(Number(s.value[1])));
        if (finite.length === 0) empty.push(`${panel.title} [${target.legendFormat}]: ${expr} → ${JSON.stringify(samples)}`);
        results.set(`${panel.title} [${target.legendFormat}]`, finite);
      }
    }
    expect(empty, 'panels without data').toEqual([]);

    // And the data says what happened.
    const one = (name: string) => Number(results.get(name)?.[0]?.value[1]);
    /** The largest value per value of `label` (a panel may have several series per label value). */
    const byLabel = (name: string, label: string) => {
      const out = new Map<string | undefined, number>();
      for (const s of results.get(name) ?? []) out.set(s.metric[label], Math.max(out.get(s.metric[label]) ?? Number.NEGATIVE_INFINITY, Number(s.value[1])));
      return out;
    };
    expect(one('Dead-letter entries [DLQ]')).toBe(2);
    expect(one('Recordings committed [committed]')).toBeGreaterThanOrEqual(2);
    const finished = byLabel('Recordings finished / s [{{outcome}}]', 'outcome');
    for (const outcome of ['committed', 'quarantined', 'recovered']) expect(finished.get(outcome), outcome).toBeGreaterThan(0);
    const failures = byLabel('Job failures / s [{{queue}} {{outcome}}]', 'outcome');
    for (const outcome of ['retried', 'failed', 'dlq']) expect(failures.get(outcome), outcome).toBeGreaterThan(0);
    const lagP99 = one('Ingest lag: object created → committed [p99]');
    expect(lagP99).toBeGreaterThan(0);
    expect(lagP99).toBeLessThanOrEqual(60);
    expect(byLabel('S3 error ratio by operation [{{op}}]', 'op').get('get')).toBeGreaterThan(0);
    for (const [purpose, ratio] of byLabel('Scan amplification (bytes read / bytes needed) [{{purpose}}]', 'purpose'))
      expect(ratio, purpose).toBeGreaterThanOrEqual(1);
    expect(byLabel('Bytes read / s by purpose [{{purpose}}]', 'purpose').get('scan')).toBeGreaterThan(0);
    for (const [cacheName, ratio] of byLabel('Cache hit ratio [{{cache}}]', 'cache')) {
      expect(ratio, cacheName).toBeGreaterThan(0);
      expect(ratio, cacheName).toBeLessThan(1);
    }
    const utilisation = byLabel('Worker utilisation by queue [{{queue}}]', 'queue');
    expect(utilisation.get('extract')).toBeGreaterThan(0);
    expect(utilisation.get('extract')).toBeLessThanOrEqual(1);
    expect(byLabel('Jobs by state (all queues) [{{state}}]', 'state').has('waiting')).toBe(true);

    // The alert rules load and evaluate against the same data; the DLQ alert is on its way.
    const { groups } = await api<{ groups: { rules: { name: string; health: string; lastError?: string; type: string }[] }[] }>('/api/v1/rules');
    const rules = groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.name).sort()).toEqual(['McapflowDeadLetters', 'McapflowIngestLagHigh', 'McapflowNoWorkerConsuming', 'McapflowS3ErrorRateHigh']);
    for (const rule of rules) expect(rule.health, `${rule.name}: ${rule.lastError}`).toBe('ok');
    const alerts = await until('the DLQ alert', async () => {
      const { alerts: active } = await api<{ alerts: { labels: Record<string, string>; state: string }[] }>('/api/v1/alerts');
      return active.some((a) => a.labels.alertname === 'McapflowDeadLetters') ? active : undefined;
    });
    expect(alerts.find((a) => a.labels.alertname === 'McapflowDeadLetters')).toMatchObject({
      state: 'pending',
      labels: { job: SCRAPE_JOB, severity: 'warning' },
    });
    expect(alerts.some((a) => a.labels.alertname === 'McapflowNoWorkerConsuming')).toBe(false);
    expect(Date.now() - started).toBeLessThan(45_000);
  });
});

/**
 * The cost of mcapflow's queue machinery per job, against raw BullMQ doing the same flows.
 *
 * Both sides run the same workload on the same Redis, each in a process of its own, with the
 * same connection pattern (one shared ioredis connection for workers and producer, as `Queues`
 * uses):
 *   - F flows shaped like a recording's: one `commit` parent with S `index` and S `extract`
 *     children (F × (2S + 1) jobs), the same job data, added with `FlowProducer.addBulk`;
 *   - one worker per queue (`index`, `extract`, `commit`), each with concurrency C, whose
 *     processor returns `{}` at once.
 * The clock runs from just before `addBulk` to the completion of the last parent, so it covers
 * adding and processing. The only differences are mcapflow's:
 *   - raw: `new Worker(queue, noop, {connection, prefix, concurrency})`, flows with no job
 *     options (BullMQ's defaults: generated ids, 1 attempt, completed jobs kept);
 *   - mcapflow: `Queues.worker()` (active-job tracking for drains, `observeJob`: trace span,
 *     log context, duration histogram, busy-slot gauge; lock/stall settings of the
 *     configuration), `trackRecording` listeners (jobs counter, recording progress `HINCRBY`
 *     per completed job), and the dispatcher's flow options: derived job ids,
 *     `failParentOnFailure`, attempts with exponential backoff, bounded completed/failed history.
 * Each side runs in its own fresh process (see variantInProcess for why), processes started
 * alternately; each side's median over all its rounds is reported and the ratio is mcapflow
 * jobs/s over raw jobs/s. The process CPU time per job (producer and workers; Redis's own time
 * is not in it) is reported too: it is steadier than jobs/s on a shared machine.
 *
 * `--ablation` runs every variant (see VARIANTS: raw plus each of mcapflow's job options, raw
 * inside AsyncLocalStorage or observeJob, mcapflow's worker without and with each part of
 * trackRecording, and `mcapflow-proposed`, the changes proposed in docs/benchmarks.md);
 * `--compare` runs the named ones side by side.
 *
 *   npx tsx bench/queue-overhead.ts [--flows F] [--spans S] [--concurrency C] [--rounds R] [--processes P]
 *   npx tsx bench/queue-overhead.ts --ablation [...]
 *   npx tsx bench/queue-overhead.ts --compare raw,mcapflow,mcapflow-proposed [--processes P]
 *   npx tsx bench/queue-overhead.ts --only VARIANT [...]     (one variant in this process)
 */
import { BUILTIN_OPERATORS } from '../src/operators/builtin/index.ts';
import { OperatorRegistry } from '../src/operators/registry.ts';
import { AsyncLocalStorage } from 'node:async_hooks';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FlowProducer, Worker, type DefaultJobOptions, type FlowJob, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config/config.ts';
import { jobIds } from '../src/dispatcher/start-flow.ts';
import { observeJob } from '../src/observability/jobs.ts';
import { countJob } from '../src/observability/metrics.ts';
import type { CommitJobData, PipelineQueue, SpanJobData } from '../src/queue/jobs.ts';
import { Queues } from '../src/queue/queues.ts';
import { createServices, type Services } from '../src/runtime/services.ts';
import { trackRecording } from '../src/workers/worker-pool.ts';
import { deleteRedisPrefix, TEST_REDIS_URL } from '../test/helpers/pipeline-harness.ts';
import { benchPrefix } from './prefix.ts';

export interface QueueOverheadOptions {
  flows: number;
  spans: number;
  concurrency: number;
  rounds: number;
  log?: (line: string) => void;
}

export interface QueueOverheadResult {
  jobs: number;
  flows: number;
  spans: number;
  concurrency: number;
  rawJobsPerS: number[];
  mcapflowJobsPerS: number[];
  rawMedian: number;
  mcapflowMedian: number;
  ratio: number;
  /** Median CPU µs per job of this process (producer + workers; Redis not included). */
  rawCpuUsPerJob: number;
  mcapflowCpuUsPerJob: number;
}

const SPAN_KINDS = ['index', 'extract'] as const;
const QUEUES = ['index', 'extract', 'commit'] as const satisfies readonly PipelineQueue[];

/** A fresh, well-formed recording id (32 hex digits), as the key factory requires. */
function recordingId(): string {
  return randomBytes(16).toString('hex');
}

function commitData(id: string): CommitJobData {
  return { recordingId: id, planKey: `objects/plans/00/${id}.json`, eventTime: '2026-01-15T09:00:00.000Z', operators: [] };
}

function spanData(id: string, span: number): SpanJobData {
  return { recordingId: id, planKey: `objects/plans/00/${id}.json`, span, operators: [] };
}

interface RoundResult {
  jobsPerS: number;
  /** CPU time of this process (producer and workers) per job, µs: less sensitive to a busy machine than wall time. */
  cpuUsPerJob: number;
}

async function timed(options: QueueOverheadOptions, run: () => Promise<void>): Promise<RoundResult> {
  const jobs = options.flows * (2 * options.spans + 1);
  const cpu = process.cpuUsage();
  const started = performance.now();
  await run();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return { jobsPerS: jobs / seconds, cpuUsPerJob: (used.user + used.system) / jobs };
}

/** Resolves when `count` jobs completed on `worker`. */
function completions(worker: Worker, count: number): Promise<void> {
  return new Promise((done) => {
    let seen = 0;
    worker.on('completed', () => {
      if (++seen === count) done();
    });
  });
}

/** Which of mcapflow's job options raw flows carry (ablation); none by default. */
type OptionParts = Partial<Record<'ids' | 'retention' | 'retries' | 'failParent', boolean>> & {
  /** Wrap the no-op processor: in an AsyncLocalStorage context only, or in mcapflow's observeJob. */
  wrap?: 'als' | 'observe';
};
const ALL_OPTIONS: OptionParts = { ids: true, retention: true, retries: true, failParent: true };

/** Raw BullMQ workers; `parts`: the flows carry these of mcapflow's job ids and options (ablation). */
async function rawRound(options: QueueOverheadOptions, round: number, parts: OptionParts = {}): Promise<RoundResult> {
  const prefix = benchPrefix('queue-raw');
  // mcapflow's job options with the default configuration (Queues.jobOptions), for the ablation.
  const config = loadConfig({ MCAPFLOW_HOME: tmpdir(), MCAPFLOW_PREFIX: prefix, REDIS_URL: TEST_REDIS_URL });
  const settingsQueues = new Queues({
    redisUrl: TEST_REDIS_URL,
    prefix,
    jobAttempts: config.jobAttempts,
    backoffMs: config.backoffMs,
    lockDurationMs: config.lockDurationMs,
  });
  const jobOptions = { commit: settingsQueues.jobOptions('commit'), index: settingsQueues.jobOptions('index'), extract: settingsQueues.jobOptions('extract') };
  settingsQueues.connection.disconnect();
  const optsFor = (jobId: string, defaults: DefaultJobOptions, child: boolean) => ({
    ...(parts.ids ? { jobId } : {}),
    ...(parts.retention ? { removeOnComplete: defaults.removeOnComplete, removeOnFail: defaults.removeOnFail } : {}),
    ...(parts.retries ? { attempts: defaults.attempts, backoff: defaults.backoff } : {}),
    ...(parts.failParent && child ? { failParentOnFailure: true } : {}),
  });
  const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const storage = new AsyncLocalStorage<object>();
  const processorFor = (name: PipelineQueue) => {
    const noop = async () => ({});
    if (parts.wrap === 'als') return (_job: Job) => storage.run({ job: _job.id }, noop);
    if (parts.wrap === 'observe') return (job: Job) => observeJob(name, job, noop);
    return noop;
  };
  const workers = QUEUES.map((name) => new Worker(name, processorFor(name), { connection, prefix, concurrency: options.concurrency }));
  const producer = new FlowProducer({ connection, prefix });
  try {
    await Promise.all(workers.map((w) => w.waitUntilReady()));
    const flows: FlowJob[] = Array.from({ length: options.flows }, () => {
      const id = recordingId();
      const ids = jobIds(id);
      return {
        name: 'commit',
        queueName: 'commit',
        data: commitData(id),
        opts: optsFor(ids.commit, jobOptions.commit, false),
        children: Array.from({ length: options.spans }, (_, s) =>
          SPAN_KINDS.map((kind) => ({
            name: kind,
            queueName: kind,
            data: spanData(id, s),
            opts: optsFor(kind === 'index' ? ids.index(s) : ids.extract(s), jobOptions[kind], true),
          })),
        ).flat(),
      };
    });
    const done = completions(workers[2]!, options.flows);
    return await timed(options, async () => {
      await producer.addBulk(flows);
      await done;
    });
  } finally {
    await Promise.all(workers.map((w) => w.close()));
    await producer.close();
    connection.disconnect();
    await deleteRedisPrefix(prefix);
  }
}

/**
 * mcapflow's machinery. `track`: 'all' adds trackRecording's listeners (as the worker pool
 * does); the others are for the ablation: none, or only one of the two things its
 * 'completed' listener does (the jobs counter; the recording's progress HINCRBY).
 */
async function mcapflowRound(
  options: QueueOverheadOptions,
  round: number,
  track: 'all' | 'none' | 'counter' | 'progress' | 'proposed' = 'all',
): Promise<RoundResult> {
  const prefix = benchPrefix('queue-mcapflow');
  const home = mkdtempSync(join(tmpdir(), 'mcapflow-bench-queue-'));
  const config = loadConfig({ MCAPFLOW_HOME: home, MCAPFLOW_PREFIX: prefix, REDIS_URL: TEST_REDIS_URL, MCAPFLOW_SPAWN_REDIS: 'false' });
  // No S3 traffic happens here; the store is never used.
  const services: Services = createServices(config, { redisUrl: TEST_REDIS_URL, s3Endpoint: 'http://127.0.0.1:9' }, new OperatorRegistry(BUILTIN_OPERATORS));
  const pending = new Map<string, number>();
  const flush = () => {
    if (pending.size === 0) return;
    const batch = services.queues.connection.pipeline();
    for (const [id, n] of pending) batch.hincrby(services.queues.keys.recordingStatus(id), 'jobs_done', n);
    pending.clear();
    void batch.exec().catch(() => {});
  };
  const flusher = track === 'proposed' ? setInterval(flush, 200) : undefined;
  // The proposed retention: a count bound only (each completion then trims by count, not also by age).
  const jobOptions = (kind: PipelineQueue): DefaultJobOptions => {
    const base = services.queues.jobOptions(kind);
    return track === 'proposed' ? { ...base, removeOnComplete: { count: 10_000 } } : base;
  };
  try {
    const { queues } = services;
    const workers = QUEUES.map((name) => {
      const worker = queues.worker<unknown, unknown>(name, async () => ({}), { concurrency: options.concurrency });
      if (track === 'all') trackRecording(services, worker as Worker, name);
      if (track === 'counter') (worker as Worker).on('completed', (job) => countJob(name, job.name, 'completed'));
      if (track === 'progress')
        (worker as Worker).on('completed', (job) => void services.status.jobDone((job.data as SpanJobData).recordingId).catch(() => {}));
      if (track === 'proposed') {
        // The change proposed in docs/benchmarks.md: the jobs counter as before, recording
        // progress coalesced per recording and flushed every 200 ms instead of a HINCRBY per job.
        (worker as Worker).on('completed', (job) => {
          countJob(name, job.name, 'completed');
          const id = (job.data as SpanJobData).recordingId;
          pending.set(id, (pending.get(id) ?? 0) + 1);
        });
      }
      return worker as Worker;
    });
    await Promise.all(workers.map((w) => w.waitUntilReady()));
    // The shape and options startRecordingFlow (src/dispatcher/start-flow.ts) gives a recording's flow.
    const flows: FlowJob[] = Array.from({ length: options.flows }, () => {
      const id = recordingId();
      const ids = jobIds(id);
      return {
        name: 'commit',
        queueName: 'commit',
        data: commitData(id),
        opts: { jobId: ids.commit, ...jobOptions('commit') },
        children: Array.from({ length: options.spans }, (_, s) =>
          SPAN_KINDS.map((kind) => ({
            name: kind,
            queueName: kind,
            data: spanData(id, s),
            opts: { jobId: kind === 'index' ? ids.index(s) : ids.extract(s), failParentOnFailure: true, ...jobOptions(kind) },
          })),
        ).flat(),
      };
    });
    const done = completions(workers[2]!, options.flows);
    return await timed(options, async () => {
      await queues.flowProducer().addBulk(flows);
      await done;
    });
  } finally {
    clearInterval(flusher);
    flush();
    await services.close(5_000);
    await deleteRedisPrefix(prefix);
    rmSync(home, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Every way to run a round, by name: the two sides of the comparison and the ablation steps. */
const VARIANTS = {
  raw: (o: QueueOverheadOptions, r: number) => rawRound(o, r),
  'raw+ids': (o: QueueOverheadOptions, r: number) => rawRound(o, r, { ids: true }),
  'raw+retention': (o: QueueOverheadOptions, r: number) => rawRound(o, r, { retention: true }),
  'raw+retries': (o: QueueOverheadOptions, r: number) => rawRound(o, r, { retries: true }),
  'raw+failparent': (o: QueueOverheadOptions, r: number) => rawRound(o, r, { failParent: true }),
  'raw+options': (o: QueueOverheadOptions, r: number) => rawRound(o, r, ALL_OPTIONS),
  'raw+als': (o: QueueOverheadOptions, r: number) => rawRound(o, r, { wrap: 'als' }),
  'raw+observejob': (o: QueueOverheadOptions, r: number) => rawRound(o, r, { wrap: 'observe' }),
  'mcapflow-wrapper': (o: QueueOverheadOptions, r: number) => mcapflowRound(o, r, 'none'),
  'mcapflow-wrapper+counter': (o: QueueOverheadOptions, r: number) => mcapflowRound(o, r, 'counter'),
  'mcapflow-wrapper+progress': (o: QueueOverheadOptions, r: number) => mcapflowRound(o, r, 'progress'),
  mcapflow: (o: QueueOverheadOptions, r: number) => mcapflowRound(o, r),
  'mcapflow-proposed': (o: QueueOverheadOptions, r: number) => mcapflowRound(o, r, 'proposed'),
} as const;
type Variant = keyof typeof VARIANTS;

const VARIANT_DOCS: Record<Variant, string> = {
  raw: 'raw BullMQ',
  'raw+ids': 'raw + derived job ids',
  'raw+retention': 'raw + removeOnComplete/removeOnFail',
  'raw+retries': 'raw + attempts and backoff',
  'raw+failparent': 'raw + failParentOnFailure',
  'raw+options': 'raw + all of mcapflow job ids and options',
  'raw+als': 'raw, processor run inside AsyncLocalStorage.run',
  'raw+observejob': 'raw, processor run inside observeJob (span, ALS log context, metrics)',
  'mcapflow-wrapper': 'Queues.worker() (observeJob, ALS), no trackRecording',
  'mcapflow-wrapper+counter': '  + jobs counter on completion',
  'mcapflow-wrapper+progress': '  + recording progress HINCRBY per completed job',
  mcapflow: 'mcapflow: Queues.worker() + trackRecording + flow options',
  'mcapflow-proposed': 'mcapflow with the proposed changes (progress coalesced, retention by count only)',
};

/** Runs rounds of one variant in this process (after one small untimed warm-up round). */
async function runVariant(variant: Variant, options: QueueOverheadOptions): Promise<RoundResult[]> {
  const run = VARIANTS[variant];
  await run({ ...options, flows: Math.min(options.flows, 20) }, -1);
  const rounds: RoundResult[] = [];
  for (let round = 0; round < options.rounds; round++) rounds.push(await run(options, round));
  return rounds;
}

/**
 * Runs a variant in a fresh process. Each side gets its own process because mcapflow's job
 * context is an AsyncLocalStorage: once used, Node keeps promise hooks on for the whole
 * process, which would tax raw BullMQ rounds run after it in the same process.
 */
function variantInProcess(variant: Variant, options: QueueOverheadOptions): Promise<RoundResult[]> {
  const script = fileURLToPath(import.meta.url);
  const args = [
    '--import',
    'tsx',
    script,
    '--only',
    variant,
    '--flows',
    String(options.flows),
    '--spans',
    String(options.spans),
    '--concurrency',
    String(options.concurrency),
    '--rounds',
    String(options.rounds),
  ];
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) return fail(new Error(`queue variant ${variant} exited with ${code}: ${err.slice(-2000)}`));
      ok((JSON.parse(out) as { rounds: RoundResult[] }).rounds);
    });
  });
}

/**
 * raw vs mcapflow: `processes` processes per side, started alternately (raw, mcapflow, raw,
 * mcapflow, …) so slow drift in the machine's load hits both alike, each running
 * `options.rounds` timed rounds; the medians over all rounds of each side are compared.
 */
export async function measureQueueOverhead(options: QueueOverheadOptions & { processes?: number }): Promise<QueueOverheadResult> {
  const log = options.log ?? (() => {});
  const raw: RoundResult[] = [];
  const mcapflow: RoundResult[] = [];
  for (let p = 0; p < (options.processes ?? 2); p++) {
    raw.push(...(await variantInProcess('raw', options)));
    mcapflow.push(...(await variantInProcess('mcapflow', options)));
    log(
      `queue pass ${p + 1}: raw ${raw
        .slice(-options.rounds)
        .map((r) => Math.round(r.jobsPerS))
        .join(', ')} jobs/s; mcapflow ${mcapflow
        .slice(-options.rounds)
        .map((r) => Math.round(r.jobsPerS))
        .join(', ')} jobs/s`,
    );
  }
  const rawMedian = median(raw.map((r) => r.jobsPerS));
  const mcapflowMedian = median(mcapflow.map((r) => r.jobsPerS));
  return {
    jobs: options.flows * (2 * options.spans + 1),
    flows: options.flows,
    spans: options.spans,
    concurrency: options.concurrency,
    rawJobsPerS: raw.map((r) => Math.round(r.jobsPerS)),
    mcapflowJobsPerS: mcapflow.map((r) => Math.round(r.jobsPerS)),
    rawMedian: Math.round(rawMedian),
    mcapflowMedian: Math.round(mcapflowMedian),
    ratio: mcapflowMedian / rawMedian,
    rawCpuUsPerJob: Math.round(median(raw.map((r) => r.cpuUsPerJob))),
    mcapflowCpuUsPerJob: Math.round(median(mcapflow.map((r) => r.cpuUsPerJob))),
  };
}

/**
 * Where mcapflow's extra cost per job comes from: every variant in its own process, two
 * passes in opposite orders; the median jobs/s and process CPU per job of each.
 */
export async function queueAblation(options: QueueOverheadOptions): Promise<Record<string, { jobsPerS: number; cpuUsPerJob: number }>> {
  const names = Object.keys(VARIANTS) as Variant[];
  const results = new Map<Variant, RoundResult[]>(names.map((n) => [n, []]));
  for (const order of [names, [...names].reverse()]) {
    for (const name of order) {
      results.get(name)!.push(...(await variantInProcess(name, options)));
      options.log?.(
        `${name}: ${results
          .get(name)!
          .map((r) => Math.round(r.jobsPerS))
          .join(', ')} jobs/s`,
      );
    }
  }
  return Object.fromEntries(
    names.map((name) => {
      const xs = results.get(name)!;
      return [VARIANT_DOCS[name], { jobsPerS: Math.round(median(xs.map((x) => x.jobsPerS))), cpuUsPerJob: Math.round(median(xs.map((x) => x.cpuUsPerJob))) }];
    }),
  );
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({
    options: {
      flows: { type: 'string', default: '400' },
      spans: { type: 'string', default: '8' },
      concurrency: { type: 'string', default: '8' },
      rounds: { type: 'string', default: '3' },
      processes: { type: 'string', default: '2' },
      ablation: { type: 'boolean', default: false },
      // Variants to compare, e.g. raw,mcapflow,mcapflow-proposed: `processes` passes, one process per variant per pass.
      compare: { type: 'string' },
      // One variant in this process only (what the drivers spawn; also for `node --cpu-prof`).
      only: { type: 'string' },
    },
  });
  const options: QueueOverheadOptions = {
    flows: Number(values.flows),
    spans: Number(values.spans),
    concurrency: Number(values.concurrency),
    rounds: Number(values.rounds),
    log: (line) => process.stderr.write(`[queue] ${line}\n`),
  };
  let result: unknown;
  if (values.only !== undefined) {
    if (!(values.only in VARIANTS)) throw new Error(`--only: unknown variant ${values.only} (${Object.keys(VARIANTS).join(', ')})`);
    result = { variant: values.only, rounds: await runVariant(values.only as Variant, options) };
  } else if (values.compare !== undefined) {
    const names = values.compare.split(',') as Variant[];
    for (const name of names) if (!(name in VARIANTS)) throw new Error(`--compare: unknown variant ${name}`);
    const all = new Map<Variant, RoundResult[]>(names.map((n) => [n, []]));
    for (let pass = 0; pass < Number(values.processes); pass++) {
      for (const name of pass % 2 === 0 ? names : [...names].reverse()) all.get(name)!.push(...(await variantInProcess(name, options)));
    }
    const base = median(all.get(names[0]!)!.map((r) => r.jobsPerS));
    result = Object.fromEntries(
      names.map((name) => {
        const xs = all.get(name)!;
        const jobsPerS = median(xs.map((x) => x.jobsPerS));
        return [
          name,
          {
            jobsPerS: Math.round(jobsPerS),
            vsFirst: Math.round((jobsPerS / base) * 100) / 100,
            cpuUsPerJob: Math.round(median(xs.map((x) => x.cpuUsPerJob))),
            runs: xs.map((x) => Math.round(x.jobsPerS)),
          },
        ];
      }),
    );
  } else {
    result = values.ablation ? await queueAblation(options) : await measureQueueOverhead({ ...options, processes: Number(values.processes) });
  }
  process.stdout.write(`${JSON.stringify(result, null, values.only !== undefined ? undefined : 2)}\n`);
}

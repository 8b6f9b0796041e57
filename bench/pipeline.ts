/**
 * The real pipeline, measured: this process hosts the embedded S3 server (s3rver) and the
 * dispatcher (as in scripts/chaos.ts); all index/extract/convert/commit work runs in N spawned
 * `mcapflow serve --role worker` processes talking to that s3rver and to Redis under a private
 * key prefix.
 *
 * Timing: the work queues (index, extract, convert) are paused, the inputs are uploaded (their
 * events run ingest here, which plans each recording and adds its flow), the workers are
 * started and waited for, and then the queues are resumed. The measured window runs from the
 * resume to the completion (BullMQ `finishedOn`) of the last commit job, so it holds all of the
 * workers' processing and none of the upload, planning or process start-up. (Convert is paused
 * too: an attachment operator's job is a child of the flow and would otherwise run before the
 * window opens.)
 *
 *   npx tsx bench/pipeline.ts --file PATH [--file PATH…] [--workers N] [--concurrency C] [--blob-storage in-place|packs] [--profile DIR] [--messages N]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Job } from 'bullmq';
import { submitFile } from '../src/cli/submit.ts';
import { jobIds } from '../src/dispatcher/start-flow.ts';
import type { PipelineQueue } from '../src/queue/jobs.ts';
import type { Services } from '../src/runtime/services.ts';
import { FINAL_STATES } from '../src/status/recording-status.ts';
import { startHarness, TEST_REDIS_URL, type Harness } from '../test/helpers/pipeline-harness.ts';
import { benchPrefix } from './prefix.ts';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../bin/mcapflow.js');

export interface PipelineRunOptions<T = undefined> {
  files: { path: string; bytes: number; messages: number }[];
  workers: number;
  /** Write each worker's CPU profile (`node --cpu-prof`) into this directory. */
  profileDir?: string;
  /** Extra environment for the harness and the workers (e.g. MCAPFLOW_WORKER_CONCURRENCY). */
  settings?: Record<string, string>;
  timeoutMs?: number;
  log?: (line: string) => void;
  /** Runs after the measured window, before anything is stopped: look at what the run stored. */
  inspect?: (services: Services, recordingIds: string[]) => Promise<T>;
}

export interface KindTiming {
  jobs: number;
  /** Sum of job run times (processedOn → finishedOn); a job that ran in two steps counts once, last step. */
  busyS: number;
  /** First start and last finish, seconds after the resume. */
  firstStartS: number;
  lastFinishS: number;
}

export interface PipelineRunResult<T = undefined> {
  workers: number;
  seconds: number;
  bytes: number;
  messages: number;
  mbPerS: number;
  messagesPerS: number;
  /** Peak resident set of each worker process (VmHWM), MiB; empty when /proc is unavailable. */
  workerPeakRssMiB: number[];
  kinds: Partial<Record<PipelineQueue, KindTiming>>;
  committed: number;
  /**
   * CPU seconds used in the measured window: by each worker process, and by this process
   * (which hosts s3rver, so this is mostly the S3 server's work). Divided by the window they
   * say how many of the machine's cores each side kept busy.
   */
  cpuS: { workers: number[]; workersSystem: number[]; s3rverHost: number };
  /** Object-storage traffic of the workers (their /metrics), MB: read by purpose, written; requests by operation. */
  storage: { readMB: Record<string, number>; writtenMB: number; requests: Record<string, number> } | undefined;
  /** The measured window on the monotonic clock (µs), to cut worker CPU profiles to it. */
  windowUs: { startUs: number; endUs: number };
  /** What `inspect` returned. */
  inspected: T | undefined;
}

export function peakRssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Math.round(Number(match[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system, and system alone) a process has used so far, from /proc; undefined off Linux. */
export function cpuSecondsOf(pid: number | undefined): { total: number; system: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    // Fields after the command name (which is in parentheses and may hold spaces): utime is the 14th field overall, stime the 15th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const user = Number(fields[11]) / CLOCK_TICKS;
    const system = Number(fields[12]) / CLOCK_TICKS;
    return { total: user + system, system };
  } catch {
    return undefined;
  }
}

/** Sums the object-storage counters of the workers' Prometheus endpoints. */
export async function storageTraffic(urls: string[]): Promise<PipelineRunResult['storage']> {
  const readMB: Record<string, number> = {};
  const requests: Record<string, number> = {};
  let written = 0;
  try {
    for (const url of urls) {
      const text = await (await fetch(`${url}/metrics`)).text();
      for (const line of text.split('\n')) {
        const read = /^mcapflow_bytes_read_total\{purpose="([^"]+)"\} (\S+)/.exec(line);
        if (read) readMB[read[1]!] = (readMB[read[1]!] ?? 0) + Number(read[2]) / 1e6;
        const wrote = /^mcapflow_bytes_written_total (\S+)/.exec(line);
        if (wrote) written += Number(wrote[1]) / 1e6;
        const request = /^mcapflow_s3_requests_total\{op="([^"]+)",status="([^"]+)"\} (\S+)/.exec(line);
        if (request) requests[request[1]!] = (requests[request[1]!] ?? 0) + Number(request[3]);
      }
    }
  } catch {
    return undefined;
  }
  const round = (x: number) => Math.round(x * 10) / 10;
  return { readMB: Object.fromEntries(Object.entries(readMB).map(([k, v]) => [k, round(v)])), writtenMB: round(written), requests };
}

/** USER_HZ: 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

export function stopChild(child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
    child.kill('SIGTERM');
  });
}

/** Environment of a `mcapflow serve --role worker` process joining a harness started here. */
export function workerEnv(harness: Harness, settings: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...settings,
    MCAPFLOW_HOME: harness.home,
    MCAPFLOW_PREFIX: harness.config.prefix,
    REDIS_URL: TEST_REDIS_URL,
    S3_ENDPOINT: harness.env.endpoints.s3Endpoint!,
    AWS_ACCESS_KEY_ID: harness.env.endpoints.s3Credentials!.accessKeyId,
    AWS_SECRET_ACCESS_KEY: harness.env.endpoints.s3Credentials!.secretAccessKey,
    MCAPFLOW_SPAWN_REDIS: 'false',
    MCAPFLOW_HTTP_PORT: '0',
  };
}

/**
 * Starts `count` worker processes (pushed onto `into` as they start, so a caller's `finally`
 * stops them even when one fails to start) and resolves once every one serves, with their
 * HTTP (metrics) endpoints. Each one's stderr goes to `logDir/worker-<i>.log`.
 */
export async function spawnWorkers(
  harness: Harness,
  settings: Record<string, string>,
  count: number,
  options: { logDir: string; nodeArgs?: string[]; into: ChildProcess[] },
): Promise<{ urls: string[] }> {
  const env = workerEnv(harness, settings);
  const ready: Promise<void>[] = [];
  const urls: string[] = [];
  for (let n = 0; n < count; n++) {
    const i = options.into.length;
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), BIN, 'serve', '--role', 'worker'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    options.into.push(child);
    const file = createWriteStream(join(options.logDir, `worker-${i}.log`));
    ready.push(
      new Promise<void>((ok, fail) => {
        let seen = '';
        const timer = setTimeout(() => fail(new Error(`worker ${i} did not start within 60 s`)), 60_000);
        child.stderr.on('data', (d: Buffer) => {
          file.write(d);
          if (seen !== 'ready') {
            seen += d.toString();
            if (seen.includes('"msg":"mcapflow serving"')) {
              const url = /"http":"([^"]+)"/.exec(seen)?.[1];
              if (url !== undefined) urls.push(url);
              seen = 'ready';
              clearTimeout(timer);
              ok();
            }
          }
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          fail(new Error(`worker ${i} exited with ${code}; log: ${join(options.logDir, `worker-${i}.log`)}`));
        });
      }),
    );
  }
  await Promise.all(ready);
  return { urls };
}

export async function runPipeline<T = undefined>(options: PipelineRunOptions<T>): Promise<PipelineRunResult<T>> {
  const log = options.log ?? (() => {});
  const timeoutMs = options.timeoutMs ?? 300_000;
  const settings = { MCAPFLOW_LOG_LEVEL: 'info', ...options.settings };
  const harness = await startHarness('bench', settings, { roles: { dispatcher: true, worker: false }, prefix: benchPrefix('pipeline') });
  const logDir = mkdtempSync(join(tmpdir(), 'mcapflow-bench-logs-'));
  const workers: ChildProcess[] = [];
  try {
    const { queues, status } = harness.services;
    const workQueues = [queues.queue('index'), queues.queue('extract'), queues.queue('convert')];
    for (const q of workQueues) await q.pause();

    // Upload: each upload's event runs ingest in this process, which plans and adds the flow.
    const ids: string[] = [];
    for (const file of options.files) ids.push((await submitFile(harness.services, file.path)).recordingId);
    const planned = Date.now() + timeoutMs;
    for (;;) {
      const states = await Promise.all(ids.map((id) => status.get(id)));
      if (states.every((s) => s?.state === 'processing')) break;
      const bad = states.find((s) => s !== undefined && FINAL_STATES.includes(s.state));
      if (bad) throw new Error(`recording ${bad.recordingId} ended ${bad.state} while planning: ${bad.reason}`);
      if (Date.now() > planned) throw new Error('planning did not finish in time');
      await new Promise((r) => setTimeout(r, 50));
    }

    // Workers, each announcing itself once its consumers run.
    if (options.profileDir !== undefined) mkdirSync(options.profileDir, { recursive: true });
    const nodeArgs = options.profileDir !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : [];
    const { urls } = await spawnWorkers(harness, settings, options.workers, { logDir, nodeArgs, into: workers });
    log(`${options.workers} worker process(es) ready; resuming the work queues`);

    const cpuBefore = workers.map((w) => cpuSecondsOf(w.pid) ?? { total: 0, system: 0 });
    const hostBefore = process.cpuUsage();
    const t0 = Date.now();
    const t0Us = Number(process.hrtime.bigint() / 1000n);
    await Promise.all(workQueues.map((q) => q.resume()));
    const deadline = t0 + timeoutMs;
    for (;;) {
      const states = await Promise.all(ids.map((id) => status.get(id)));
      if (states.every((s) => s !== undefined && FINAL_STATES.includes(s.state))) {
        const failed = states.find((s) => s?.state !== 'committed');
        if (failed) throw new Error(`recording ${failed.recordingId} ended ${failed.state}: ${failed.reason}`);
        break;
      }
      if (Date.now() > deadline) throw new Error(`the pipeline did not finish within ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const hostUsed = process.cpuUsage(hostBefore);
    const cpuAfter = workers.map((w) => cpuSecondsOf(w.pid) ?? { total: 0, system: 0 });
    const cpuS = {
      workers: cpuAfter.map((c, i) => Math.round((c.total - cpuBefore[i]!.total) * 100) / 100),
      workersSystem: cpuAfter.map((c, i) => Math.round((c.system - cpuBefore[i]!.system) * 100) / 100),
      s3rverHost: Math.round((hostUsed.user + hostUsed.system) / 1e4) / 100,
    };
    const workerPeakRssMiB = workers.map((w) => peakRssMiB(w.pid)).filter((x): x is number => x !== undefined);
    const storage = await storageTraffic(urls);

    // Job timings from BullMQ's own timestamps.
    const kinds: Partial<Record<PipelineQueue, KindTiming>> = {};
    let end = 0;
    const record = (kind: PipelineQueue, job: Job | undefined) => {
      if (job?.processedOn === undefined || job.finishedOn === undefined) return;
      const k = (kinds[kind] ??= { jobs: 0, busyS: 0, firstStartS: Infinity, lastFinishS: 0 });
      k.jobs += 1;
      k.busyS += (job.finishedOn - job.processedOn) / 1000;
      k.firstStartS = Math.min(k.firstStartS, (job.processedOn - t0) / 1000);
      k.lastFinishS = Math.max(k.lastFinishS, (job.finishedOn - t0) / 1000);
      end = Math.max(end, job.finishedOn);
    };
    for (const id of ids) {
      const names = jobIds(id);
      const commit = await queues.queue('commit').getJob(names.commit);
      record('commit', commit);
      const deps = commit ? await commit.getDependencies({ processed: { count: 10_000 } }) : undefined;
      for (const key of Object.keys(deps?.processed ?? {})) {
        // Keys look like <prefix>:<queue>:<job id>.
        const [queueName, ...rest] = key.slice(harness.config.prefix.length + 1).split(':');
        const kind = queueName as PipelineQueue;
        record(kind, await queues.queue(kind).getJob(rest.join(':')));
      }
    }
    const seconds = (end - t0) / 1000;
    const inspected = options.inspect === undefined ? undefined : await options.inspect(harness.services, ids);
    const bytes = options.files.reduce((n, f) => n + f.bytes, 0);
    const messages = options.files.reduce((n, f) => n + f.messages, 0);
    return {
      workers: options.workers,
      seconds,
      bytes,
      messages,
      mbPerS: bytes / 1e6 / seconds,
      messagesPerS: messages / seconds,
      workerPeakRssMiB,
      kinds,
      committed: ids.length,
      cpuS,
      storage,
      windowUs: { startUs: t0Us, endUs: t0Us + (end - t0) * 1000 },
      inspected,
    };
  } finally {
    await Promise.all(workers.map((w) => stopChild(w)));
    await harness.close();
    rmSync(logDir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({
    options: {
      file: { type: 'string', multiple: true },
      workers: { type: 'string', default: '1' },
      profile: { type: 'string' },
      messages: { type: 'string', default: '0' },
      concurrency: { type: 'string' },
      'blob-storage': { type: 'string' },
    },
  });
  const { statSync } = await import('node:fs');
  const files = (values.file ?? []).map((path) => ({ path, bytes: statSync(path).size, messages: Number(values.messages) }));
  const result = await runPipeline({
    files,
    workers: Number(values.workers),
    ...(values.profile !== undefined ? { profileDir: values.profile } : {}),
    settings: {
      ...(values.concurrency !== undefined ? { MCAPFLOW_WORKER_CONCURRENCY: values.concurrency } : {}),
      ...(values['blob-storage'] !== undefined ? { MCAPFLOW_BLOB_STORAGE: values['blob-storage'] } : {}),
    },
    log: (line) => process.stderr.write(`[pipeline] ${line}\n`),
  });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

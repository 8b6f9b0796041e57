/**
 * What adding one table operator to a deployment costs, against processing its recordings
 * from scratch (issue 11: the backfill costs ≤ 10% of processing from scratch and reads no
 * MCAP bytes).
 *
 *   npx tsx bench/backfill.ts [--recordings 20] [--size BYTES] [--workers 1] [--rounds 1] [--no-force] [--profile DIR]
 *
 * Each round, in a fresh S3 home and Redis prefix, with this process hosting s3rver and the
 * dispatcher and `--workers` spawned `mcapflow serve --role worker` processes:
 * 1. *scratch*: the built-in operators only. The ingest queue is paused, the recordings are
 *    uploaded (synthetic robot runs, seeds 1…N, cached like bench/inputs.ts), and the clock runs
 *    from the resume until every recording is committed (planning included).
 * 2. *backfill*: the pipeline is restarted (dispatcher and workers) with
 *    MCAPFLOW_OPERATORS=bench/operators/imu-topic-stats.ts — a new table operator over
 *    `sensor_msgs_msg_Imu` — and a backfill over the raw bucket (src/admin/backfills.ts) runs;
 *    the clock runs from its start until every recording is committed again. The bytes read for
 *    purposes plan, scan and span (the recording itself) are summed over the dispatcher and the
 *    workers, and every manifest is checked: the new table is there and every other table's
 *    objects are the same as before.
 * 3. *forced* (context; skip with --no-force): a backfill with `force`, which reprocesses
 *    every recording from its bytes, timed the same way.
 *
 * "Committed" is the recording status's own time stamp (set by the commit job), so the
 * polling interval does not count. Prints one JSON line. `--profile DIR` runs the workers of
 * the backfill (stage 2) under `node --cpu-prof` and prints their profile cut to the backfill's
 * window (stderr).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ChildProcess } from 'node:child_process';
import { Backfills } from '../src/admin/backfills.ts';
import { submitFile } from '../src/cli/submit.ts';
import type { Manifest } from '../src/domain/manifest.ts';
import { createLogger } from '../src/log.ts';
import { bytesRead } from '../src/observability/metrics.ts';
import { readManifest } from '../src/operators/commit-op.ts';
import type { Services } from '../src/runtime/services.ts';
import { FINAL_STATES } from '../src/status/recording-status.ts';
import { startHarness, type Harness } from '../test/helpers/pipeline-harness.ts';
import { formatSummary, summarizeProfiles } from './cpuprofile-summary.ts';
import { robotRun, type BenchInput } from './inputs.ts';
import { cpuSecondsOf, spawnWorkers, stopChild } from './pipeline.ts';
import { benchPrefix } from './prefix.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
export const NEW_OPERATOR_MODULE = resolve(HERE, 'operators/imu-topic-stats.ts');
const NEW_TABLE = 'imu_topic_stats';
const SOURCE_PURPOSES = ['plan', 'scan', 'span'] as const;
const MiB = 1024 * 1024;

export interface StageResult {
  seconds: number;
  /** CPU seconds of the worker processes, and of this process (dispatcher and s3rver). */
  workerCpuS: number;
  hostCpuS: number;
  /** Bytes of the recordings read (dispatcher + workers), by purpose. */
  sourceBytesRead: Record<(typeof SOURCE_PURPOSES)[number], number>;
  /** Bytes the workers wrote to the store. */
  bytesWritten: number;
  /** Jobs that finished in the stage, per queue: how many, summed run time, first start and last finish (s after the stage began). */
  jobs: Record<string, { jobs: number; busyS: number; firstStartS: number; lastFinishS: number }>;
  /** The stage on the monotonic clock (µs), to cut worker CPU profiles to it. */
  windowUs: { startUs: number; endUs: number };
}

export interface BackfillRound {
  scratch: StageResult;
  backfill: StageResult;
  forced: StageResult | undefined;
  /** After the backfill: every manifest has the new table and keeps every other table's objects. */
  keptByReference: boolean;
  newTableRows: number;
}

export interface BackfillResult {
  recordings: number;
  recordingBytes: number;
  messages: number;
  workers: number;
  rounds: BackfillRound[];
  best: { scratchS: number; backfillS: number; forcedS: number | null };
  /** Best backfill time over best scratch time. */
  ratio: number;
  /** Worker CPU of the best backfill over that of the best scratch run. */
  cpuRatio: number;
  /** Recording bytes read during the backfills (every round, plan + scan + span): the goal is 0. */
  backfillSourceBytesRead: number;
  keptByReference: boolean;
}

/** mcapflow_bytes_read_total by purpose, and mcapflow_bytes_written_total, of the workers' /metrics, exact. */
async function workerCounters(urls: string[]): Promise<{ read: Record<string, number>; written: number }> {
  const read: Record<string, number> = {};
  let written = 0;
  for (const url of urls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const line of text.split('\n')) {
      const r = /^mcapflow_bytes_read_total\{purpose="([^"]+)"\} (\S+)/.exec(line);
      if (r) read[r[1]!] = (read[r[1]!] ?? 0) + Number(r[2]);
      const w = /^mcapflow_bytes_written_total (\S+)/.exec(line);
      if (w) written += Number(w[1]);
    }
  }
  return { read, written };
}

/** This process's (the dispatcher's) bytes read by purpose. */
async function hostBytesRead(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await bytesRead.get()).values) out[String(v.labels.purpose)] = (out[String(v.labels.purpose)] ?? 0) + v.value;
  return out;
}

/**
 * Runs `start` and waits until every recording of `ids` is final, with a status time stamp at
 * or after `start` was called; measures the stage.
 */
async function stage(
  services: Services,
  workers: ChildProcess[],
  urls: string[],
  ids: string[],
  start: () => Promise<void>,
  timeoutMs = 300_000,
): Promise<StageResult> {
  const workerCpuBefore = workers.map((w) => cpuSecondsOf(w.pid)?.total ?? 0);
  const hostBefore = process.cpuUsage();
  const readBefore = await hostBytesRead();
  const countersBefore = await workerCounters(urls);
  const t0 = Date.now();
  const t0Us = Number(process.hrtime.bigint() / 1000n);
  await start();
  let end: number;
  for (;;) {
    const states = await Promise.all(ids.map((id) => services.status.get(id)));
    const done = states.every((s) => s !== undefined && FINAL_STATES.includes(s.state) && Date.parse(s.updatedAt) >= t0);
    if (done) {
      const bad = states.find((s) => s?.state !== 'committed');
      if (bad) throw new Error(`recording ${bad.recordingId} ended ${bad.state}: ${bad.reason}`);
      end = Math.max(...states.map((s) => Date.parse(s!.updatedAt)));
      break;
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`not every recording was committed within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const host = process.cpuUsage(hostBefore);
  const workerCpuS = workers.reduce((n, w, i) => n + (cpuSecondsOf(w.pid)?.total ?? 0) - workerCpuBefore[i]!, 0);
  const readAfter = await hostBytesRead();
  const countersAfter = await workerCounters(urls);
  const sourceBytesRead = Object.fromEntries(
    SOURCE_PURPOSES.map((p) => [p, (readAfter[p] ?? 0) - (readBefore[p] ?? 0) + (countersAfter.read[p] ?? 0) - (countersBefore.read[p] ?? 0)]),
  ) as StageResult['sourceBytesRead'];
  const jobs: StageResult['jobs'] = {};
  for (const queue of ['ingest', 'index', 'extract', 'convert', 'commit'] as const) {
    for (const job of await services.queues.queue(queue).getJobs(['completed'], 0, 100_000)) {
      if (job.processedOn === undefined || job.finishedOn === undefined || job.finishedOn < t0) continue;
      const k = (jobs[queue] ??= { jobs: 0, busyS: 0, firstStartS: Infinity, lastFinishS: 0 });
      k.jobs += 1;
      k.busyS = Math.round((k.busyS + (job.finishedOn - job.processedOn) / 1000) * 1000) / 1000;
      k.firstStartS = Math.min(k.firstStartS, (job.processedOn - t0) / 1000);
      k.lastFinishS = Math.max(k.lastFinishS, (job.finishedOn - t0) / 1000);
    }
  }
  return {
    jobs,
    windowUs: { startUs: t0Us, endUs: t0Us + (end - t0) * 1000 },
    seconds: (end - t0) / 1000,
    workerCpuS: Math.round(workerCpuS * 100) / 100,
    hostCpuS: Math.round((host.user + host.system) / 1e4) / 100,
    sourceBytesRead,
    bytesWritten: countersAfter.written - countersBefore.written,
  };
}

/** A pipeline of this process (dispatcher, s3rver) and `workers` worker processes, with the given settings. */
async function startDeployment(
  home: string,
  prefix: string,
  settings: Record<string, string>,
  workerCount: number,
  logDir: string,
  nodeArgs: string[] = [],
): Promise<{ harness: Harness; workers: ChildProcess[]; urls: string[]; stop: () => Promise<void> }> {
  const harness = await startHarness('backfill', settings, { roles: { dispatcher: true, worker: false }, home, prefix });
  const workers: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(workers.map((w) => stopChild(w)));
    await harness.close();
  };
  try {
    const { urls } = await spawnWorkers(harness, settings, workerCount, { logDir, nodeArgs, into: workers });
    return { harness, workers, urls, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function objectKeys(manifest: Manifest): Record<string, string[]> {
  return Object.fromEntries(Object.entries(manifest.tables).map(([table, t]) => [table, t.objects.map((o) => o.key)]));
}

async function manifests(services: Services, ids: string[]): Promise<Manifest[]> {
  return Promise.all(
    ids.map(async (id) => {
      const m = await readManifest(services.store, services.config.derivedBucket, id);
      if (m === undefined) throw new Error(`${id}: no manifest`);
      return m;
    }),
  );
}

async function runBackfill(services: Services, force: boolean): Promise<void> {
  const backfills = new Backfills(services, createLogger('silent'));
  try {
    const id = await backfills.start({ bucket: services.config.rawBucket, prefix: '', force });
    await backfills.settled(id);
    const status = await backfills.get(id);
    if (status?.state !== 'done') throw new Error(`backfill ${id} ended ${status?.state}: ${status?.error}`);
  } finally {
    await backfills.close();
  }
}

async function round(inputs: BenchInput[], workers: number, force: boolean, log: (line: string) => void, profileDir?: string): Promise<BackfillRound> {
  const home = mkdtempSync(join(tmpdir(), 'mcapflow-bench-backfill-'));
  const logDir = mkdtempSync(join(tmpdir(), 'mcapflow-bench-logs-'));
  const prefix = benchPrefix('backfill');
  const common = { MCAPFLOW_LOG_LEVEL: 'info' };
  try {
    // 1. From scratch, built-ins only.
    let deployment = await startDeployment(home, prefix, common, workers, logDir);
    let ids: string[] = [];
    let scratch: StageResult;
    try {
      const { services } = deployment.harness;
      const ingest = services.queues.queue('ingest');
      await ingest.pause();
      for (const input of inputs) ids.push((await submitFile(services, input.path)).recordingId);
      for (let waited = 0; (await ingest.count()) < inputs.length; waited += 50) {
        if (waited > 60_000) throw new Error('the uploads did not all raise an ingest job');
        await new Promise((r) => setTimeout(r, 50));
      }
      scratch = await stage(services, deployment.workers, deployment.urls, ids, () => ingest.resume());
      log(`  scratch: ${inputs.length} recordings in ${scratch.seconds.toFixed(2)} s, worker ${scratch.workerCpuS} CPU-s`);
    } finally {
      await deployment.stop();
    }
    ids = ids.sort();

    // 2. The new operator deployed everywhere; a backfill over the raw bucket.
    const withOperator = { ...common, MCAPFLOW_OPERATORS: NEW_OPERATOR_MODULE };
    if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true });
    const nodeArgs = profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];
    deployment = await startDeployment(home, prefix, withOperator, workers, logDir, nodeArgs);
    let backfillWindow: StageResult['windowUs'] | undefined;
    try {
      const { services } = deployment.harness;
      const before = await manifests(services, ids);
      const backfill = await stage(services, deployment.workers, deployment.urls, ids, () => runBackfill(services, false));
      backfillWindow = backfill.windowUs;
      const after = await manifests(services, ids);
      let kept = true;
      let newRows = 0;
      for (const [i, manifest] of after.entries()) {
        const { [NEW_TABLE]: added, ...others } = objectKeys(manifest);
        kept &&= added !== undefined && JSON.stringify(others) === JSON.stringify(objectKeys(before[i]!));
        newRows += manifest.tables[NEW_TABLE]?.rows ?? 0;
      }
      const read = Object.values(backfill.sourceBytesRead).reduce((a, b) => a + b, 0);
      log(
        `  backfill of ${NEW_TABLE}: ${backfill.seconds.toFixed(2)} s, worker ${backfill.workerCpuS} CPU-s, recording bytes read ${read}, other tables kept: ${kept}`,
      );

      // 3. Context: a forced backfill reprocesses every recording from its bytes.
      let forced: StageResult | undefined;
      if (force) {
        forced = await stage(services, deployment.workers, deployment.urls, ids, () => runBackfill(services, true));
        log(`  forced backfill: ${forced.seconds.toFixed(2)} s, worker ${forced.workerCpuS} CPU-s`);
      }
      return { scratch, backfill, forced, keptByReference: kept, newTableRows: newRows };
    } finally {
      await deployment.stop();
      if (profileDir !== undefined && backfillWindow !== undefined) {
        const again = `npx tsx bench/cpuprofile-summary.ts --window ${backfillWindow.startUs},${backfillWindow.endUs} ${profileDir}`;
        process.stderr.write(
          `\n--- CPU profile: backfill worker(s), backfill window only (again: ${again}) ---\n${formatSummary(summarizeProfiles([profileDir], 20, backfillWindow), 12)}\n`,
        );
      }
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(logDir, { recursive: true, force: true });
  }
}

export async function measureBackfill(options: {
  recordings: number;
  sizeBytes: number;
  workers: number;
  rounds: number;
  force: boolean;
  log?: (line: string) => void;
  /** Profile the backfill's workers into DIR/round-<n>. */
  profileDir?: string;
}): Promise<BackfillResult> {
  const log = options.log ?? (() => {});
  const inputs: BenchInput[] = [];
  for (let seed = 1; seed <= options.recordings; seed++) inputs.push(await robotRun(options.sizeBytes, seed));
  const recordingBytes = inputs.reduce((n, i) => n + i.bytes, 0);
  log(
    `backfill over ${inputs.length} robot runs of ${(options.sizeBytes / MiB).toFixed(0)} MiB (${(recordingBytes / 1e6).toFixed(0)} MB), ${options.workers} worker(s)`,
  );
  const rounds: BackfillRound[] = [];
  for (let r = 0; r < options.rounds; r++) {
    log(`backfill round ${r + 1}/${options.rounds}`);
    rounds.push(
      await round(inputs, options.workers, options.force, log, options.profileDir === undefined ? undefined : join(options.profileDir, `round-${r + 1}`)),
    );
  }
  const best = (pick: (r: BackfillRound) => StageResult | undefined) =>
    rounds.map(pick).reduce<StageResult | undefined>((a, b) => (b !== undefined && (a === undefined || b.seconds < a.seconds) ? b : a), undefined);
  const scratch = best((r) => r.scratch)!;
  const backfill = best((r) => r.backfill)!;
  const forced = best((r) => r.forced);
  return {
    recordings: inputs.length,
    recordingBytes,
    messages: inputs.reduce((n, i) => n + i.messages, 0),
    workers: options.workers,
    rounds,
    best: { scratchS: scratch.seconds, backfillS: backfill.seconds, forcedS: forced?.seconds ?? null },
    ratio: backfill.seconds / scratch.seconds,
    cpuRatio: backfill.workerCpuS / scratch.workerCpuS,
    backfillSourceBytesRead: rounds.reduce((n, r) => n + Object.values(r.backfill.sourceBytesRead).reduce((a, b) => a + b, 0), 0),
    keptByReference: rounds.every((r) => r.keptByReference),
  };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({
    options: {
      recordings: { type: 'string', default: '20' },
      size: { type: 'string', default: String(6 * MiB) },
      workers: { type: 'string', default: '1' },
      rounds: { type: 'string', default: '1' },
      'no-force': { type: 'boolean', default: false },
      profile: { type: 'string' },
    },
  });
  const result = await measureBackfill({
    recordings: Number(values.recordings),
    sizeBytes: Number(values.size),
    workers: Number(values.workers),
    rounds: Number(values.rounds),
    force: !values['no-force'],
    ...(values.profile !== undefined ? { profileDir: resolve(values.profile) } : {}),
    log: (line) => process.stderr.write(`[backfill] ${line}\n`),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

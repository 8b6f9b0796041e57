/**
 * `npm run chaos`: 20 recordings through 3 worker processes while one of them is killed
 * with SIGKILL every 1–3 s and restarted, until everything settles; then the same inputs
 * through a clean run, and a comparison of every manifest and derived object.
 *
 * Last line (exactly):
 *   chaos: recordings=20 committed=20 lost=0 duplicated=0 identical=true kills=K
 * Exit status 0 only when nothing was lost or duplicated, outputs are identical and K ≥ 5.
 * Loopback only; bounded by CHAOS_TIMEOUT_S (default 900 s).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { queryCatalog } from '../src/catalog/query-session.ts';
import { submitFile, waitForFinal } from '../src/cli/submit.ts';
import { FINAL_STATES } from '../src/status/recording-status.ts';
import { generateRobotRun } from '../src/synth/robot-run.ts';
import { compareRuns, snapshotRun, type RunSnapshot } from '../test/helpers/compare-runs.ts';
import { startHarness, workerProcessEnv, type Harness } from '../test/helpers/pipeline-harness.ts';

const RECORDINGS = Number(process.env.CHAOS_RECORDINGS ?? 20);
const WORKERS = 3;
const TIMEOUT_MS = Number(process.env.CHAOS_TIMEOUT_S ?? 900) * 1000;
const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../bin/mcapflow.js');

/** Short locks so a killed worker's jobs come back within seconds, not minutes. */
const SETTINGS = {
  MCAPFLOW_LOCK_DURATION_MS: '4000',
  MCAPFLOW_STALLED_INTERVAL_MS: '2000',
  MCAPFLOW_MAX_STALLED_COUNT: '100',
  MCAPFLOW_JOB_ATTEMPTS: '8',
  MCAPFLOW_BACKOFF_MS: '200',
  MCAPFLOW_SPAN_MAX_BYTES: String(2 * 1024 * 1024),
  MCAPFLOW_WORKER_CONCURRENCY: '1',
};

const log = (text: string) => process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${text}\n`);

async function generateInputs(dir: string): Promise<string[]> {
  const paths: string[] = [];
  for (let i = 1; i <= RECORDINGS; i++) {
    const path = join(dir, `run-${String(i).padStart(2, '0')}.mcap`);
    await generateRobotRun({ path, sizeBytes: (3 + (i % 6)) * 1024 * 1024, seed: 1000 + i, chunkSizeBytes: 512 * 1024 });
    paths.push(path);
  }
  return paths;
}

async function submitAll(harness: Harness, paths: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const path of paths) ids.push((await submitFile(harness.services, path)).recordingId);
  return ids;
}

async function cleanRun(paths: string[]): Promise<RunSnapshot> {
  const harness = await startHarness('chaos-clean', SETTINGS);
  try {
    const ids = await submitAll(harness, paths);
    const statuses = await waitForFinal(harness.services, ids, { timeoutMs: TIMEOUT_MS });
    const committed = [...statuses.values()].filter((s) => s?.state === 'committed').length;
    log(`clean run: ${committed}/${ids.length} committed`);
    return await snapshotRun(harness.services.store, harness.config.derivedBucket);
  } finally {
    await harness.close();
  }
}

interface ChaosOutcome {
  snapshot: RunSnapshot;
  committed: number;
  kills: number;
  duplicateRows: number;
}

async function chaosRun(paths: string[], dir: string): Promise<ChaosOutcome> {
  // This process hosts the embedded S3 server (its upload events) and the dispatcher; all
  // index/extract/convert/commit work happens in the worker processes that get killed.
  const harness = await startHarness('chaos', SETTINGS, { roles: { dispatcher: true, worker: false } });
  const env = workerProcessEnv(harness, SETTINGS);
  let started = 0;
  const spawnWorker = (): ChildProcess => {
    const child = spawn(process.execPath, [BIN, 'serve', '--role', 'worker'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.pipe(createWriteStream(join(dir, `worker-${++started}.log`)));
    return child;
  };
  const workers = Array.from({ length: WORKERS }, spawnWorker);
  let kills = 0;
  let ids: string[] = [];
  let submitted = false;
  const settled = async () => {
    if (!submitted) return false;
    for (const id of ids) {
      const status = await harness.services.status.get(id);
      if (status === undefined || !FINAL_STATES.includes(status.state)) return false;
    }
    return true;
  };
  // The killer starts with the workers, so uploads and planning happen under fire too.
  const deadline = Date.now() + TIMEOUT_MS;
  const killer = (async () => {
    while (!(await settled()) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000 + Math.random() * 2000));
      if (await settled()) break;
      const victim = Math.floor(Math.random() * WORKERS);
      workers[victim]!.kill('SIGKILL');
      workers[victim] = spawnWorker();
      kills += 1;
      const done = submitted
        ? (await Promise.all(ids.map((id) => harness.services.status.get(id)))).filter((s) => s && FINAL_STATES.includes(s.state)).length
        : 0;
      log(`kill ${kills}: worker ${victim} (SIGKILL), restarted; ${done}/${paths.length} settled`);
    }
  })();
  try {
    ids = await submitAll(harness, paths);
    submitted = true;
    await killer;
    const statuses = await waitForFinal(harness.services, ids, { timeoutMs: 1000 });
    const committed = [...statuses.values()].filter((s) => s?.state === 'committed').length;
    for (const [id, s] of statuses) if (s?.state !== 'committed') log(`not committed: ${id} ${s?.state} ${s?.reason ?? ''}`);
    const location = { store: harness.services.store, derivedBucket: harness.config.derivedBucket, home: harness.home };
    const duplicates = await queryCatalog(location, 'SELECT count(*) - count(DISTINCT (recording_id, chunk_offset, offset_in_chunk)) FROM messages');
    return {
      snapshot: await snapshotRun(harness.services.store, harness.config.derivedBucket),
      committed,
      kills,
      duplicateRows: Number(duplicates.rows[0]![0]),
    };
  } finally {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((done) => {
            if (w.exitCode !== null || w.signalCode !== null) return done();
            w.once('exit', () => done());
            w.kill('SIGTERM');
          }),
      ),
    );
    await harness.close();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mcapflow-chaos-'));
  try {
    log(`generating ${RECORDINGS} recordings in ${dir}`);
    const paths = await generateInputs(dir);
    const startedAt = Date.now();
    const chaos = await chaosRun(paths, dir);
    log(`chaos run settled in ${((Date.now() - startedAt) / 1000).toFixed(1)} s with ${chaos.kills} kills`);
    const clean = await cleanRun(paths);
    const difference = compareRuns(clean, chaos.snapshot);
    if (!difference.identical)
      log(
        `differences: ${JSON.stringify({ missing: difference.missing.slice(0, 5), extra: difference.extra.slice(0, 5), different: difference.different.slice(0, 5) })}`,
      );
    const lost = RECORDINGS - chaos.committed;
    const duplicated = difference.extra.length + chaos.duplicateRows;
    const ok = lost === 0 && duplicated === 0 && difference.identical && chaos.kills >= 5;
    process.stdout.write(
      `chaos: recordings=${RECORDINGS} committed=${chaos.committed} lost=${lost} duplicated=${duplicated} identical=${difference.identical} kills=${chaos.kills}\n`,
    );
    process.exitCode = ok ? 0 : 1;
  } finally {
    if (process.env.CHAOS_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
  }
}

await main();

/**
 * `npm run scale`: a generated 2 GB recording end to end, once with 1 worker process and once
 * with 3, reporting every worker's peak RSS (VmHWM) — the bound is 768 MiB each (issue 11) —
 * and the throughput. Inputs are cached under the OS temp dir; loopback only; stops by itself.
 * Exits non-zero when a run does not commit or a worker goes over the bound.
 *
 *   SCALE_SIZE=2GB SCALE_WORKERS=1,3 npm run scale
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import bytes from 'bytes';
import { submitFile, waitForFinal } from '../src/cli/submit.ts';
import { generateRobotRun } from '../src/synth/robot-run.ts';
import { startHarness, workerProcessEnv } from '../test/helpers/pipeline-harness.ts';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../bin/mcapflow.js');
const SIZE = bytes.parse(process.env.SCALE_SIZE ?? '2GB')!;
const WORKER_COUNTS = (process.env.SCALE_WORKERS ?? '1,3').split(',').map(Number);
const LIMIT = 768 * 1024 * 1024;
const log = (text: string) => process.stderr.write(`[scale ${new Date().toISOString().slice(11, 19)}] ${text}\n`);

/** Peak resident set size of a live process, from the kernel's high-water mark. */
function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

async function input(): Promise<string> {
  const path = join(tmpdir(), `mcapflow-scale-${SIZE}.mcap`);
  if (existsSync(path) && statSync(path).size > SIZE * 0.9) return path;
  log(`generating ${bytes.format(SIZE)} → ${path}`);
  await generateRobotRun({ path, sizeBytes: SIZE, seed: 2026 });
  return path;
}

async function run(path: string, workers: number): Promise<{ seconds: number; peaks: number[]; committed: boolean }> {
  const harness = await startHarness(`scale${workers}`, {}, { roles: { dispatcher: true, worker: false } });
  const env = workerProcessEnv(harness);
  const children: ChildProcess[] = Array.from({ length: workers }, () => spawn(process.execPath, [BIN, 'serve', '--role', 'worker'], { env, stdio: 'ignore' }));
  try {
    const submitted = await submitFile(harness.services, path);
    const started = Date.now();
    const peaks = new Array<number>(workers).fill(0);
    const sample = setInterval(() => children.forEach((c, i) => c.pid && (peaks[i] = Math.max(peaks[i]!, peakRss(c.pid)))), 500);
    const statuses = await waitForFinal(harness.services, [submitted.recordingId], { timeoutMs: 30 * 60_000 });
    clearInterval(sample);
    children.forEach((c, i) => c.pid && (peaks[i] = Math.max(peaks[i]!, peakRss(c.pid))));
    return { seconds: (Date.now() - started) / 1000, peaks, committed: statuses.get(submitted.recordingId)?.state === 'committed' };
  } finally {
    await Promise.all(children.map((c) => new Promise<void>((done) => (c.exitCode !== null ? done() : (c.once('exit', () => done()), c.kill('SIGTERM'))))));
    await harness.close();
  }
}

const path = await input();
const size = statSync(path).size;
let ok = true;
for (const workers of WORKER_COUNTS) {
  log(`processing ${bytes.format(size)} with ${workers} worker process(es)…`);
  const result = await run(path, workers);
  const worst = Math.max(...result.peaks);
  ok &&= result.committed && worst <= LIMIT;
  process.stdout.write(
    `scale: size=${bytes.format(size)} workers=${workers} committed=${result.committed} seconds=${result.seconds.toFixed(1)} ` +
      `mb_per_s=${(size / 1e6 / result.seconds).toFixed(1)} peak_rss_mib=[${result.peaks.map((p) => Math.round(p / 2 ** 20)).join(', ')}] under_768MiB=${worst <= LIMIT}\n`,
  );
}
process.exitCode = ok ? 0 : 1;

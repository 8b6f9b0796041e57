/**
 * `npm run bench`: mcapflow's benchmark. Every headline figure is a ratio of two things
 * measured side by side in this run, or a rate with its goal; absolute rates are this
 * machine's. Prints one JSON object (stdout, first line) and a readable table (stdout, after
 * it); progress goes to stderr.
 *
 *   npm run bench [-- --size BYTES --planning-size BYTES --rounds N --skip PHASE,… --profile DIR --json-out FILE]
 *
 * --profile DIR runs the floor, the operators, every pipeline worker process and the backfill's
 * workers under `node --cpu-prof` and prints a summary of each (worker profiles cut to the
 * measured window); profiling slows everything down, so use it to see where time goes, not
 * for the figures.
 *
 * Phases (see docs/benchmarks.md for what each compares and why):
 *   decode    bench/decode.ts in its own process: columnar CDR decoder vs MessageReader.
 *   queue     bench/queue-overhead.ts: mcapflow's flow machinery vs raw BullMQ, no-op jobs.
 *   planning  bench/planning.ts: bytes a real ingest job reads to plan a 2 GiB recording.
 *   pipeline  bench/floor.ts (floor, operators, reference; a fresh process each) vs
 *             bench/pipeline.ts with 1 and with 2 worker processes, on the same synthetic
 *             recording, rounds interleaved: pipeline_vs_floor, the floor's and one worker's
 *             MB/s, and worker CPU-seconds per GB with two workers vs one.
 *   backfill  bench/backfill.ts: 20 small recordings from scratch vs a backfill of one new
 *             table operator over them (and a forced reprocess, as context); recording bytes
 *             read during the backfill.
 *   blobs     bench/blobs.ts: MCAPFLOW_BLOB_STORAGE in-place vs packs on the pipeline's input:
 *             derived bytes stored, worker CPU, reading one image back.
 *   serving   bench/serving.ts: a catalog of 50 committed runs; a pruned one-minute window of one
 *             recording (bytes copied / table bytes, rows checked against the unpruned query),
 *             POST /v1/query GROUP BY p50, extraction bytes, similarity latency (persisted index, warm).
 *   catalog   bench/catalog.ts: 10,000 manifests: the first listing of a process, a warm listing,
 *             the catalog rows, and the warm query service's SELECT count(*) FROM recordings.
 *   similarity bench/similarity.ts: the similarity index on 500k generated windows: build rate,
 *             search p50, recall@10 against brute force, growing by one recording.
 *
 * Inputs are synthetic robot runs (src/synth/robot-run.ts) cached under $TMPDIR by size and
 * seed (bench/inputs.ts); the first run generates them (the 2 GiB one takes about a minute).
 * Every run uses its own Redis key prefix (mfbench-…) and temp directories, deleted at the end.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { measureBackfill } from './backfill.ts';
import { measureBlobs } from './blobs.ts';
import { LONG_RUN_BYTES, measureServing } from './serving.ts';
import { measureSimilarityIndex } from './similarity.ts';
import { measureCatalogOpen } from './catalog.ts';
import { formatSummary, summarizeProfiles } from './cpuprofile-summary.ts';
import { robotRun, type BenchInput } from './inputs.ts';
import { runPipeline, type PipelineRunResult } from './pipeline.ts';
import { measurePlanning, type PlanningResult } from './planning.ts';
import { measureQueueOverhead, type QueueOverheadResult } from './queue-overhead.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const MiB = 1024 * 1024;
const PHASES = ['decode', 'queue', 'planning', 'pipeline', 'backfill', 'blobs', 'serving', 'similarity', 'catalog'] as const;
type Phase = (typeof PHASES)[number];

const { values: args } = parseArgs({
  options: {
    size: { type: 'string', default: String(256 * MiB) },
    'planning-size': { type: 'string', default: String(2048 * MiB) },
    seed: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '2' },
    'decode-rounds': { type: 'string', default: '3' },
    'queue-flows': { type: 'string', default: '400' },
    'queue-concurrency': { type: 'string', default: '8' },
    'backfill-recordings': { type: 'string', default: '20' },
    'backfill-size': { type: 'string', default: String(6 * MiB) },
    'serving-recordings': { type: 'string', default: '50' },
    'serving-size': { type: 'string', default: String(36 * MiB) },
    'blob-images': { type: 'string', default: '50' },
    'similarity-windows': { type: 'string', default: '500000' },
    'catalog-recordings': { type: 'string', default: '10000' },
    profile: { type: 'string' },
    skip: { type: 'string', default: '' },
    'json-out': { type: 'string' },
  },
});
const skip = new Set(args.skip.split(',').filter(Boolean));
for (const s of skip) if (!(PHASES as readonly string[]).includes(s)) throw new Error(`--skip: unknown phase ${s} (phases: ${PHASES.join(', ')})`);
const runs = (phase: Phase) => !skip.has(phase);

const startedAt = performance.now();
const elapsed = () => `${((performance.now() - startedAt) / 1000).toFixed(0)}s`;
const log = (line: string) => process.stderr.write(`[bench ${elapsed()}] ${line}\n`);

/** Runs a TypeScript script in a fresh node process; resolves with the first stdout line that is a JSON object. */
function runScript<T>(script: string, scriptArgs: string[], nodeArgs: string[] = []): Promise<T> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', join(HERE, script), ...scriptArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) return fail(new Error(`${script} exited with ${code}: ${err.slice(-2000)}`));
      const line = out
        .trim()
        .split('\n')
        .find((l) => l.startsWith('{'));
      if (line === undefined) return fail(new Error(`${script} printed no JSON: ${out.slice(-2000)}`));
      ok(JSON.parse(line) as T);
    });
  });
}

interface DecodeSummary {
  decode_speedup: Record<string, number>;
  baseline_msgs_per_s: Record<string, number>;
  columnar_msgs_per_s: Record<string, number>;
  ipc_identical: Record<string, boolean>;
}

interface FloorResult {
  variant: 'floor' | 'operators' | 'reference';
  seconds: number;
  bytes: number;
  messages: number;
}

const round2 = (x: number) => Math.round(x * 100) / 100;
const precision3 = (x: number) => Number(x.toPrecision(3));
const mb = (bytes: number, seconds: number) => bytes / 1e6 / seconds;
const best = (xs: number[]) => Math.max(...xs);
const GB = 1e9;
/** Worker CPU-seconds (all worker processes, user + system) per GB of recording. */
const cpuPerGB = (r: PipelineRunResult) => r.cpuS.workers.reduce((a, b) => a + b, 0) / (r.bytes / GB);
const spread = (xs: number[]) => (xs.length === 0 ? null : { min: round2(Math.min(...xs)), max: round2(Math.max(...xs)), runs: xs.map(round2) });

async function main(): Promise<void> {
  const machine = {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadavgStart: loadavg().map(round2),
  };
  log(`this machine: ${machine.cores} cores, load average ${machine.loadavgStart.join(' ')}`);
  const result: Record<string, unknown> = {};
  const table: [string, string, string, string][] = [];

  let input: BenchInput | undefined;
  if (runs('pipeline') || runs('blobs')) {
    input = await robotRun(Number(args.size), Number(args.seed));
    log(
      `input: ${input.path} (${(input.bytes / MiB).toFixed(0)} MiB, ${input.messages} messages${input.generatedS > 0 ? `, generated in ${input.generatedS.toFixed(0)} s` : ', cached'})`,
    );
  }

  // --- decode ---
  if (runs('decode')) {
    log('decode: columnar CDR decoder vs MessageReader (bench/decode.ts)');
    const decode = await runScript<DecodeSummary>('decode.ts', ['--rounds', args['decode-rounds']]);
    if (!Object.values(decode.ipc_identical).every(Boolean)) throw new Error('decode: the columnar tables differ from the MessageReader tables');
    const speedup = Math.min(...Object.values(decode.decode_speedup));
    result.decode_speedup = round2(speedup);
    result.decode = decode;
    table.push(['decode_speedup (min of Imu, Odometry)', `${round2(speedup)}x`, '≥ 3', speedup >= 3 ? 'met' : 'MISSED']);
    for (const name of Object.keys(decode.decode_speedup)) {
      table.push([
        `  ${name}: columnar vs MessageReader msg/s`,
        `${decode.columnar_msgs_per_s[name]} vs ${decode.baseline_msgs_per_s[name]}`,
        '',
        `${decode.decode_speedup[name]}x`,
      ]);
    }
  }

  // --- queue overhead ---
  if (runs('queue')) {
    log('queue: mcapflow flow machinery vs raw BullMQ, no-op jobs');
    const queue: QueueOverheadResult = await measureQueueOverhead({
      flows: Number(args['queue-flows']),
      spans: 8,
      concurrency: Number(args['queue-concurrency']),
      rounds: 3,
      processes: 2,
      log,
    });
    result.queue_overhead = round2(queue.ratio);
    result.queue = queue;
    table.push(['queue_overhead (mcapflow / raw jobs/s)', `${round2(queue.ratio)}`, '≥ 0.9', queue.ratio >= 0.9 ? 'met' : 'MISSED']);
    table.push(['  jobs/s raw BullMQ vs mcapflow (median)', `${queue.rawMedian} vs ${queue.mcapflowMedian}`, '', `${queue.jobs} jobs, c=${queue.concurrency}`]);
    table.push(['  client CPU µs per job raw vs mcapflow', `${queue.rawCpuUsPerJob} vs ${queue.mcapflowCpuUsPerJob}`, '', '']);
  }

  // --- planning ---
  if (runs('planning')) {
    const big = await robotRun(Number(args['planning-size']), Number(args.seed));
    log(
      `planning: ${big.path} (${(big.bytes / 2 ** 30).toFixed(2)} GiB${big.generatedS > 0 ? `, generated in ${big.generatedS.toFixed(0)} s` : ', cached'}); uploading it to s3rver`,
    );
    const planning: PlanningResult = await measurePlanning(big.path, { log });
    result.planning_read_fraction = precision3(planning.readFraction);
    result.planning = planning;
    table.push([
      'planning_read_fraction (bytes read / size)',
      `${planning.readFraction.toFixed(5)}`,
      '≤ 0.001',
      planning.readFraction <= 0.001 ? 'met' : 'MISSED',
    ]);
    table.push([
      '  bytes read to plan, requests',
      `${planning.bytesRead} in ${planning.requests}`,
      '',
      `${(planning.fileBytes / 2 ** 30).toFixed(2)} GiB file`,
    ]);
  }

  // --- pipeline vs floor; CPU per GB with two workers vs one ---
  if (runs('pipeline') && input !== undefined) {
    const rounds = Number(args.rounds);
    const floor: number[] = [];
    const operators: number[] = [];
    const reference: number[] = [];
    const one: PipelineRunResult[] = [];
    const two: PipelineRunResult[] = [];
    const files = [{ path: input.path, bytes: input.bytes, messages: input.messages }];
    const profileArgs = (what: string) => (args.profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${resolve(args.profile, what)}`]);
    /** Worker profiles of each pipeline run, with the run's measured window to cut them to. */
    const profiled: { what: string; dir: string; windowUs: { startUs: number; endUs: number } }[] = [];
    let runIndex = 0;
    const pipelineRun = async (workers: number): Promise<PipelineRunResult> => {
      const dir = args.profile === undefined ? undefined : resolve(args.profile, `worker-${workers}-run${++runIndex}`);
      const r = await runPipeline({ files, workers, ...(dir !== undefined ? { profileDir: dir } : {}) });
      if (dir !== undefined) profiled.push({ what: `${workers} worker(s), run ${runIndex}, measured window only`, dir, windowUs: r.windowUs });
      return r;
    };
    const cores = (r: PipelineRunResult) =>
      `workers ${r.cpuS.workers.map((c) => (c / r.seconds).toFixed(2)).join('+')} cores, s3rver host ${(r.cpuS.s3rverHost / r.seconds).toFixed(2)}`;
    const floorVariant = (variant: FloorResult['variant'], into: number[], label: string) => async () => {
      const r = await runScript<FloorResult>('floor.ts', ['--file', input.path, '--variant', variant], variant === 'reference' ? [] : profileArgs(variant));
      if (r.messages !== input.messages) throw new Error(`floor ${variant}: ${r.messages} messages, the input has ${input.messages}`);
      into.push(mb(r.bytes, r.seconds));
      log(`  ${label}: ${r.seconds.toFixed(2)} s, ${mb(r.bytes, r.seconds).toFixed(1)} MB/s`);
    };
    const pipelineStep = (workers: number, into: PipelineRunResult[]) => async () => {
      const r = await pipelineRun(workers);
      into.push(r);
      log(
        `  pipeline, ${workers} worker(s): ${r.seconds.toFixed(2)} s, ${r.mbPerS.toFixed(1)} MB/s, ${cpuPerGB(r).toFixed(2)} worker CPU-s/GB, peak RSS ${r.workerPeakRssMiB.join('/')} MiB; ${cores(r)}`,
      );
    };
    const steps: Record<string, () => Promise<void>> = {
      floor: floorVariant('floor', floor, 'floor'),
      operators: floorVariant('operators', operators, 'operators in one process'),
      reference: floorVariant('reference', reference, 'reference (@mcap/core reads every message)'),
      one: pipelineStep(1, one),
      two: pipelineStep(2, two),
    };
    for (let round = 0; round < rounds; round++) {
      // Interleaved, and reversed every other round, so slow drift in the machine's load hits every variant alike.
      const forward = ['floor', 'one', 'two', 'operators', 'reference'];
      const order = round % 2 === 0 ? forward : [...forward].reverse();
      log(`pipeline round ${round + 1}/${rounds}: ${order.join(', ')}`);
      for (const step of order) await steps[step]!();
    }
    // Best of the rounds on each side: on a shared machine noise only ever slows a run down
    // (the fastest run for rates, the one with least CPU for CPU per GB).
    const floorBest = best(floor);
    const operatorsBest = best(operators);
    const referenceBest = best(reference);
    const oneBest = one.reduce((a, b) => (b.mbPerS > a.mbPerS ? b : a));
    const twoBest = two.reduce((a, b) => (b.mbPerS > a.mbPerS ? b : a));
    const oneCpu = Math.min(...one.map(cpuPerGB));
    const twoCpu = Math.min(...two.map(cpuPerGB));
    const vsFloor = oneBest.mbPerS / floorBest;
    const cpuRatio = twoCpu / oneCpu;
    result.pipeline_vs_floor = round2(vsFloor);
    result.floor_mb_per_s = round2(floorBest);
    result.pipeline_mb_per_s = round2(oneBest.mbPerS);
    result.cpu_per_gb_2_vs_1 = round2(cpuRatio);
    const sum = (xs: number[]) => round2(xs.reduce((a, b) => a + b, 0));
    result.pipeline = {
      input: { bytes: input.bytes, messages: input.messages, seed: Number(args.seed) },
      rounds,
      mb_per_s: {
        floor: spread(floor),
        operators_in_one_process: spread(operators),
        reference_read: spread(reference),
        pipeline_1_worker: spread(one.map((r) => r.mbPerS)),
        pipeline_2_workers: spread(two.map((r) => r.mbPerS)),
      },
      operators_vs_floor: round2(operatorsBest / floorBest),
      pipeline_vs_operators: round2(oneBest.mbPerS / operatorsBest),
      floor_vs_reference: round2(floorBest / referenceBest),
      /** Worker CPU-seconds per GB of recording, every run (the figure uses the least of each). */
      worker_cpu_s_per_gb: { pipeline_1_worker: spread(one.map(cpuPerGB)), pipeline_2_workers: spread(two.map(cpuPerGB)) },
      /** Wall clock with two workers over one: context only (s3rver shares the 2 cores). */
      wall_clock_2_vs_1: round2(twoBest.mbPerS / oneBest.mbPerS),
      this_machine: {
        messages_per_s_1_worker: Math.round(oneBest.messagesPerS),
        messages_per_s_2_workers: Math.round(twoBest.messagesPerS),
        worker_peak_rss_mib: Math.max(...one.concat(two).flatMap((r) => r.workerPeakRssMiB)),
      },
      /** Cores kept busy during the measured window (CPU seconds / window), fastest runs. */
      cores_used: {
        pipeline_1_worker: {
          workers: oneBest.cpuS.workers.map((c) => round2(c / oneBest.seconds)),
          s3rver_host: round2(oneBest.cpuS.s3rverHost / oneBest.seconds),
        },
        pipeline_2_workers: {
          workers: twoBest.cpuS.workers.map((c) => round2(c / twoBest.seconds)),
          s3rver_host: round2(twoBest.cpuS.s3rverHost / twoBest.seconds),
        },
      },
      /** CPU seconds the worker processes used (of which in the kernel), and this process (s3rver host), fastest runs. */
      cpu_s: {
        pipeline_1_worker: { workers: sum(oneBest.cpuS.workers), workers_system: sum(oneBest.cpuS.workersSystem), s3rver_host: oneBest.cpuS.s3rverHost },
        pipeline_2_workers: { workers: sum(twoBest.cpuS.workers), workers_system: sum(twoBest.cpuS.workersSystem), s3rver_host: twoBest.cpuS.s3rverHost },
      },
      /** What the worker(s) moved through S3 (their /metrics), 1-worker fastest run. */
      storage_1_worker: oneBest.storage,
      jobs_1_worker: oneBest.kinds,
      jobs_2_workers: twoBest.kinds,
    };
    table.push(['pipeline_vs_floor (1 worker / floor MB/s)', `${round2(vsFloor)}`, '≥ 0.8', vsFloor >= 0.8 ? 'met' : 'MISSED']);
    table.push(['floor MB/s (this machine)', `${floorBest.toFixed(1)}`, '≥ 150', floorBest >= 150 ? 'met' : 'MISSED']);
    table.push(['pipeline MB/s, 1 worker, end to end', `${oneBest.mbPerS.toFixed(1)}`, '≥ 120', oneBest.mbPerS >= 120 ? 'met' : 'MISSED']);
    table.push(['  operators in 1 process MB/s (breakdown)', `${operatorsBest.toFixed(1)}`, '', `${round2(operatorsBest / floorBest)}x floor`]);
    table.push(['  reference: @mcap/core reads every message MB/s', `${referenceBest.toFixed(1)}`, '', `context, ${(input.bytes / MiB).toFixed(0)} MiB`]);
    table.push(['cpu_per_gb_2_vs_1 (worker CPU-s/GB, 2 / 1)', `${round2(cpuRatio)}`, '≤ 1.1', cpuRatio <= 1.1 ? 'met' : 'MISSED']);
    table.push(['  worker CPU-s per GB, 1 vs 2 workers', `${oneCpu.toFixed(2)} vs ${twoCpu.toFixed(2)}`, '', 'least of the rounds']);
    table.push([
      '  wall clock MB/s, 1 vs 2 workers (context)',
      `${oneBest.mbPerS.toFixed(1)} vs ${twoBest.mbPerS.toFixed(1)}`,
      '',
      `${round2(twoBest.mbPerS / oneBest.mbPerS)}x`,
    ]);
    table.push([
      '  cores busy, 1 worker: worker + s3rver host',
      `${round2(oneBest.cpuS.workers[0]! / oneBest.seconds)} + ${round2(oneBest.cpuS.s3rverHost / oneBest.seconds)}`,
      '',
      '',
    ]);
    table.push([
      '  cores busy, 2 workers: workers + s3rver host',
      `${twoBest.cpuS.workers.map((c) => round2(c / twoBest.seconds)).join(' + ')} + ${round2(twoBest.cpuS.s3rverHost / twoBest.seconds)}`,
      '',
      '',
    ]);

    for (const p of profiled) {
      const again = `npx tsx bench/cpuprofile-summary.ts --window ${p.windowUs.startUs},${p.windowUs.endUs} ${p.dir}`;
      process.stderr.write(`\n--- CPU profile: pipeline, ${p.what} (again: ${again}) ---\n${formatSummary(summarizeProfiles([p.dir], 20, p.windowUs), 12)}\n`);
    }
    if (args.profile !== undefined) {
      for (const what of ['floor', 'operators']) {
        process.stderr.write(
          `\n--- CPU profile: ${what}, whole process (${resolve(args.profile, what)}) ---\n${formatSummary(summarizeProfiles([resolve(args.profile, what)], 20), 12)}\n`,
        );
      }
    }
  }

  // --- backfill: one new table operator over committed recordings vs processing them from scratch ---
  if (runs('backfill')) {
    const backfill = await measureBackfill({
      recordings: Number(args['backfill-recordings']),
      sizeBytes: Number(args['backfill-size']),
      workers: 1,
      rounds: Number(args.rounds),
      force: true,
      log,
      ...(args.profile !== undefined ? { profileDir: resolve(args.profile, 'backfill') } : {}),
    });
    result.backfill_vs_scratch = round2(backfill.ratio);
    result.backfill_source_bytes_read = backfill.backfillSourceBytesRead;
    result.backfill = backfill;
    const forcedS = backfill.best.forcedS;
    table.push(['backfill_vs_scratch (new table operator / scratch)', `${backfill.ratio.toFixed(3)}`, '≤ 0.1', backfill.ratio <= 0.1 ? 'met' : 'MISSED']);
    table.push([
      'backfill_source_bytes_read (plan+scan+span)',
      `${backfill.backfillSourceBytesRead}`,
      '0',
      backfill.backfillSourceBytesRead === 0 && backfill.keptByReference ? 'met' : 'MISSED',
    ]);
    table.push([
      `  s: scratch / backfill / forced, ${backfill.recordings} recordings`,
      `${backfill.best.scratchS.toFixed(2)} / ${backfill.best.backfillS.toFixed(2)} / ${forcedS === null ? '-' : forcedS.toFixed(2)}`,
      '',
      `${(backfill.recordingBytes / 1e6).toFixed(0)} MB`,
    ]);
    table.push(['  worker CPU, backfill / scratch', `${backfill.cpuRatio.toFixed(3)}`, '', `other tables kept: ${backfill.keptByReference}`]);
    if (forcedS !== null) table.push(['  backfill / forced reprocess (context)', `${(backfill.best.backfillS / forcedS).toFixed(3)}`, '', '']);
  }

  // --- blobs: in place vs packs ---
  if (runs('blobs') && input !== undefined) {
    log('blobs: MCAPFLOW_BLOB_STORAGE=in-place vs packs, 1 worker (bench/blobs.ts)');
    const blobs = await measureBlobs({
      file: { path: input.path, bytes: input.bytes, messages: input.messages },
      rounds: Number(args.rounds),
      images: Number(args['blob-images']),
      log,
    });
    result.blobs = blobs;
    const [inPlace, packs] = [blobs['in-place'], blobs.packs];
    table.push([
      'blobs: derived bytes stored, in-place vs packs',
      `${(inPlace.storedTotal / 1e6).toFixed(1)} vs ${(packs.storedTotal / 1e6).toFixed(1)} MB`,
      '',
      '',
    ]);
    table.push(['  worker CPU-s to process, in-place vs packs', `${inPlace.best.workerCpuS.toFixed(2)} vs ${packs.best.workerCpuS.toFixed(2)}`, '', '']);
    table.push(['  s3rver host CPU-s, in-place vs packs', `${inPlace.best.s3rverHostCpuS.toFixed(2)} vs ${packs.best.s3rverHostCpuS.toFixed(2)}`, '', '']);
    table.push(['  MB/s end to end, in-place vs packs', `${inPlace.best.mbPerS} vs ${packs.best.mbPerS}`, '', '']);
    table.push(['  one image read back, median ms', `${inPlace.readBack.medianMs} vs ${packs.readBack.medianMs}`, '', `${inPlace.readBack.images} images`]);
    table.push([
      '  bytes fetched per image',
      `${inPlace.readBack.fetchedBytesPerImage} vs ${packs.readBack.fetchedBytesPerImage}`,
      '',
      `image ${inPlace.readBack.imageBytes} B`,
    ]);
  }

  // --- serving: pruning, query latency, extraction and similarity on a committed catalog ---
  if (runs('serving')) {
    log(`serving: ${args['serving-recordings']} committed robot runs (bench/serving.ts)`);
    const serving = await measureServing({
      recordings: Number(args['serving-recordings']),
      sizeBytes: Number(args['serving-size']),
      longRunBytes: LONG_RUN_BYTES,
      queries: 20,
      log,
    });
    result.serving = serving;
    const { prunedWindow: w, httpGroupBy: g, extraction: x, similarity: sim } = serving;
    table.push([
      'serving_window_read_fraction (1 min, 1 recording)',
      `${w.readFraction.toFixed(4)}`,
      '≤ 0.02',
      w.readFraction <= 0.02 && w.sameRows ? 'met' : 'MISSED',
    ]);
    table.push(['  objects copied, rows equal to unpruned', `${w.objects} of ${w.totalObjects}, ${w.sameRows}`, '', `${serving.recordings} recordings`]);
    table.push([
      'serving_http_group_by_p50_ms',
      `${g.p50Ms.toFixed(1)} (p90 ${g.p90Ms.toFixed(1)})`,
      '≤ 40',
      g.p50Ms <= 40 && g.rows >= 500_000 ? 'met' : 'MISSED',
    ]);
    table.push(['  rows grouped', `${g.rows}`, '≥ 500k', '']);
    table.push([
      'extract read fraction (IMU, window / duration)',
      `${x.readFraction.toFixed(3)} (${x.windowS} s / ${x.recordingDurationS.toFixed(0)} s = ${x.windowShare.toFixed(3)})`,
      '',
      'context',
    ]);
    const m = serving.minuteExtraction;
    table.push([
      'extract_minute_read_fraction (IMU, 1 min of a long run)',
      `${m.readFraction.toFixed(4)} (60 s / ${m.recordingDurationS.toFixed(0)} s = ${m.windowShare.toFixed(3)})`,
      '≤ 0.05',
      m.readFraction <= 0.05 ? 'met' : 'MISSED',
    ]);
    table.push(['similarity p50 ms (persisted index, warm)', `${sim.p50Ms.toFixed(1)} over ${sim.windows} windows`, '', 'context']);
  }

  // --- similarity: the index at fleet scale, on generated windows ---
  if (runs('similarity')) {
    const windows = Number(args['similarity-windows']);
    const sim = measureSimilarityIndex({ windows, dims: 40, queries: 200, log });
    result.similarity = sim;
    table.push([
      'similarity_search_p50_ms',
      `${sim.searchP50Ms.toFixed(2)} (p99 ${sim.searchP99Ms.toFixed(2)})`,
      '≤ 2',
      sim.searchP50Ms <= 2 && sim.windows >= 500_000 ? 'met' : 'MISSED',
    ]);
    table.push(['similarity_recall_at_10', sim.recallAt10.toFixed(3), '≥ 0.95', sim.recallAt10 >= 0.95 ? 'met' : 'MISSED']);
    table.push(['similarity_build_windows_per_s', sim.buildWindowsPerS.toFixed(0), '≥ 20000', sim.buildWindowsPerS >= 20_000 ? 'met' : 'MISSED']);
    table.push([
      '  windows, grow by one recording',
      `${sim.windows}, ${sim.growOneRecordingMs.toFixed(0)} ms`,
      '',
      `graph ${(sim.graphBytes / 2 ** 20).toFixed(0)} MiB`,
    ]);
  }

  // --- catalog: opening it at fleet size ---
  if (runs('catalog')) {
    const catalog = await measureCatalogOpen({ recordings: Number(args['catalog-recordings']), log });
    result.catalog = catalog;
    table.push([
      'catalog_warm_query_ms (SELECT count(*) FROM recordings)',
      `${catalog.httpCountP50Ms.toFixed(0)} over ${catalog.recordings} recordings`,
      '< 1000',
      catalog.httpCountP50Ms < 1000 ? 'met' : 'MISSED',
    ]);
    table.push(['  the statement after a commit, ms', `${catalog.afterCommitMs.toFixed(0)}`, '', 'context']);
    table.push([
      '  first listing / warm listing / catalog rows, ms',
      `${catalog.coldListMs.toFixed(0)} / ${catalog.warmListMs.toFixed(0)} / ${catalog.tablesMs.toFixed(0)}`,
      '',
      'context',
    ]);
    table.push([
      '  cold start from the catalog snapshot / cold listing seeded by it, ms',
      `${catalog.coldFromSnapshotMs.toFixed(0)} / ${catalog.coldListSeededMs.toFixed(0)}`,
      '',
      `snapshot ${(catalog.snapshotBytes / 1e6).toFixed(1)} MB written in ${catalog.snapshotWriteMs.toFixed(0)} ms`,
    ]);
  }

  const output = {
    ...result,
    goals: {
      decode_speedup: 3,
      pipeline_vs_floor: 0.8,
      floor_mb_per_s: 150,
      pipeline_mb_per_s: 120,
      cpu_per_gb_2_vs_1: 1.1,
      backfill_vs_scratch: 0.1,
      backfill_source_bytes_read: 0,
      planning_read_fraction: 0.001,
      queue_overhead: 0.9,
    },
    machine: { ...machine, loadavgEnd: loadavg().map(round2) },
    date: new Date().toISOString(),
    runtime_s: Math.round((performance.now() - startedAt) / 1000),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  };
  process.stdout.write(`${JSON.stringify(output)}\n\n`);
  if (args['json-out'] !== undefined) writeFileSync(args['json-out'], `${JSON.stringify(output, null, 2)}\n`);
  const widths = [50, 34, 8, 16];
  const row = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join(' ')
      .trimEnd();
  process.stdout.write(`${row(['figure', 'value', 'goal', 'verdict'])}\n${row(widths.map((w) => '-'.repeat(w)))}\n`);
  for (const cells of table) process.stdout.write(`${row(cells)}\n`);
  process.stdout.write(
    `\nabsolute rates are this machine's (${machine.cores} cores, ${machine.cpu}); load average ${machine.loadavgStart.join(' ')} at start, ${output.machine.loadavgEnd.join(' ')} at end; ${output.runtime_s} s\n`,
  );
}

await main();

/**
 * The similarity index at fleet scale (issue 12): build rate, search latency and recall@k of
 * the persisted HNSW index, on generated feature windows (not generated recordings).
 *
 *   npx tsx bench/similarity.ts [--windows 500000] [--dims 40] [--queries 200]
 *
 * Windows come in groups of 1,450 (one 36 MiB synthetic run's IMU windows), each group a
 * "recording", with vectors drawn around 2,000 seeded centres (moments that look alike) in
 * `--dims` dimensions (imu_windows has 40: mean, std, min, max of 10 IMU fields), in units that
 * differ by up to 1000×, as real features do. Measured through the product's own code
 * (newSimilarityIndex, searchIndex, WindowGraph):
 * - *build*: windows per second to normalise and insert every window;
 * - *search*: p50 and p99 of `--queries` searches for k = 10, each for a random window;
 * - *recall@10*: the share of the exact 10 nearest (brute force over every normalised vector)
 *   the index answers;
 * - *grow*: adding one more recording's windows to the built index, and writing and reading the
 *   graph file (what the store holds).
 * Prints one JSON line.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { addRecordingToIndex, newSimilarityIndex } from '../src/catalog/similarity-index-store.ts';
import { searchIndex } from '../src/catalog/similarity.ts';
import { WindowGraph } from '../src/catalog/window-graph.ts';
import type { FeatureWindow } from '../src/catalog/window-table.ts';
import { normalise } from '../src/domain/similarity-index.ts';
import { Prng } from '../src/synth/prng.ts';
import { median, percentile } from './stats.ts';

const WINDOWS_PER_RECORDING = 1450;
const SECOND_NS = 1_000_000_000n;
const K = 10;
/** Spread of a window around its centre, relative to the spread of the centres: neighbourhoods overlap. */
const NOISE = 1;

export interface SimilarityIndexResult {
  windows: number;
  dims: number;
  buildS: number;
  buildWindowsPerS: number;
  searchP50Ms: number;
  searchP99Ms: number;
  recallAt10: number;
  queries: number;
  growOneRecordingMs: number;
  graphBytes: number;
  writeMs: number;
  readMs: number;
}

function generate(windows: number, dims: number, seed: number): [string, string, FeatureWindow[]][] {
  const prng = new Prng(seed);
  const next = () => prng.next();
  const scale = Array.from({ length: dims }, (_, i) => 10 ** (i % 4));
  const centres = Array.from({ length: 2000 }, () => Array.from({ length: dims }, (_, i) => (next() * 2 - 1) * scale[i]!));
  const recordings: [string, string, FeatureWindow[]][] = [];
  for (let at = 0; at < windows; at += WINDOWS_PER_RECORDING) {
    const id = (recordings.length + 1).toString(16).padStart(32, '0');
    const group: FeatureWindow[] = [];
    for (let w = 0; w < Math.min(WINDOWS_PER_RECORDING, windows - at); w++) {
      const centre = centres[Math.floor(next() * centres.length)]!;
      const start = BigInt(w) * SECOND_NS;
      group.push({
        recordingId: id,
        topic: '/imu',
        windowStart: start,
        windowEnd: start + SECOND_NS,
        features: centre.map((c, i) => c + (next() - 0.5) * NOISE * scale[i]!),
      });
    }
    recordings.push([id, '0'.repeat(64), group]);
  }
  return recordings;
}

/** The `k` labels nearest `vectors[label]` by Euclidean distance, itself left out: brute force, kept as a sorted top-k. */
function exactNearest(vectors: readonly Float64Array[], label: number, k: number): number[] {
  const query = vectors[label]!;
  const best: { i: number; sum: number }[] = [];
  for (let i = 0; i < vectors.length; i++) {
    if (i === label) continue;
    const v = vectors[i]!;
    let sum = 0;
    for (let d = 0; d < v.length; d++) sum += (v[d]! - query[d]!) ** 2;
    if (best.length === k && sum >= best[k - 1]!.sum) continue;
    let at = best.length === k ? k - 1 : best.length;
    while (at > 0 && best[at - 1]!.sum > sum) {
      best[at] = best[at - 1]!;
      at--;
    }
    best[at] = { i, sum };
    if (best.length > k) best.length = k;
  }
  return best.map(({ i }) => i);
}

export function measureSimilarityIndex(options: { windows: number; dims: number; queries: number; log: (line: string) => void }): SimilarityIndexResult {
  const { log } = options;
  const recordings = generate(options.windows, options.dims, 7);
  const extra = generate(WINDOWS_PER_RECORDING, options.dims, 8)[0]!;
  extra[0] = 'f'.repeat(32);
  for (const w of extra[2]) w.recordingId = extra[0];
  log(`similarity index: ${options.windows} windows of ${options.dims} features in ${recordings.length} recordings`);

  let started = performance.now();
  const index = newSimilarityIndex('imu_windows', recordings);
  const buildS = (performance.now() - started) / 1000;
  log(`  build: ${buildS.toFixed(1)} s, ${(options.windows / buildS).toFixed(0)} windows/s`);

  // Exact neighbours by brute force over the same normalised vectors.
  const all = recordings.flatMap(([, , windows]) => windows);
  const vectors = all.map((w) => Float64Array.from(normalise(w.features, index.descriptor.normaliser)));
  const queries = new Prng(11);
  const next = () => queries.next();
  const times: number[] = [];
  let found = 0;
  for (let q = 0; q < options.queries; q++) {
    const label = Math.floor(next() * all.length);
    const window = all[label]!;
    started = performance.now();
    const answer = searchIndex(index, { recordingId: window.recordingId, at: window.windowStart, k: K }, 'imu_windows');
    times.push(performance.now() - started);
    const exact = new Set(exactNearest(vectors, label, K).map((i) => `${all[i]!.recordingId}@${all[i]!.windowStart}`));
    found += answer.neighbours.filter((n) => exact.has(`${n.recording_id}@${n.window_start}`)).length;
  }
  const recallAt10 = found / (options.queries * K);
  log(
    `  search: p50 ${median(times).toFixed(3)} ms, p99 ${percentile(times, 0.99).toFixed(3)} ms, recall@10 ${recallAt10.toFixed(3)} over ${options.queries} queries`,
  );

  started = performance.now();
  addRecordingToIndex(index, ...extra);
  const growOneRecordingMs = performance.now() - started;

  const dir = mkdtempSync(join(tmpdir(), 'mcapflow-bench-similarity-'));
  try {
    const file = join(dir, 'graph.hnsw');
    started = performance.now();
    index.graph.write(file);
    const writeMs = performance.now() - started;
    const graphBytes = statSync(file).size;
    started = performance.now();
    WindowGraph.read(file, options.dims, index.graph.size);
    const readMs = performance.now() - started;
    log(
      `  grow by one recording (${WINDOWS_PER_RECORDING} windows): ${growOneRecordingMs.toFixed(0)} ms; graph ${(graphBytes / 2 ** 20).toFixed(0)} MiB, write ${writeMs.toFixed(0)} ms, read ${readMs.toFixed(0)} ms`,
    );
    return {
      windows: options.windows,
      dims: options.dims,
      buildS,
      buildWindowsPerS: options.windows / buildS,
      searchP50Ms: median(times),
      searchP99Ms: percentile(times, 0.99),
      recallAt10,
      queries: options.queries,
      growOneRecordingMs,
      graphBytes,
      writeMs,
      readMs,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { windows: { type: 'string', default: '500000' }, dims: { type: 'string', default: '40' }, queries: { type: 'string', default: '200' } },
  });
  const result = measureSimilarityIndex({
    windows: Number(values.windows),
    dims: Number(values.dims),
    queries: Number(values.queries),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

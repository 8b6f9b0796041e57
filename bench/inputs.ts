/**
 * Benchmark inputs: synthetic robot runs (src/synth/robot-run.ts), cached under
 * `$TMPDIR/mcapflow-bench-inputs/` by size and seed so repeated runs do not regenerate them.
 * Generation is deterministic (same size, seed and options give a byte-identical file), so a
 * cached file is the file that would have been generated. A file is written under a temporary
 * name and renamed when complete, so an interrupted run never leaves a partial input behind.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateRobotRun, type RobotRunSummary } from '../src/synth/robot-run.ts';

export interface BenchInput {
  path: string;
  bytes: number;
  messages: number;
  /** Seconds spent generating it in this run (0 when it came from the cache). */
  generatedS: number;
}

export const INPUT_DIR = process.env.MCAPFLOW_BENCH_INPUTS ?? join(tmpdir(), 'mcapflow-bench-inputs');

/** The robot run of about `sizeBytes` with `seed`, generated once and then reused. */
export async function robotRun(sizeBytes: number, seed: number): Promise<BenchInput> {
  mkdirSync(INPUT_DIR, { recursive: true });
  const base = join(INPUT_DIR, `robot-run-${sizeBytes}-seed${seed}`);
  const path = `${base}.mcap`;
  const meta = `${base}.json`;
  if (existsSync(path) && existsSync(meta)) {
    const summary = JSON.parse(readFileSync(meta, 'utf8')) as { bytes: number; messages: number };
    return { path, bytes: summary.bytes, messages: summary.messages, generatedS: 0 };
  }
  const partial = `${base}.${process.pid}.partial`;
  const started = performance.now();
  let summary: RobotRunSummary;
  try {
    summary = await generateRobotRun({ path: partial, sizeBytes, seed });
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  }
  renameSync(partial, path);
  writeFileSync(meta, `${JSON.stringify({ bytes: summary.bytes, messages: summary.messages, topics: summary.topics })}\n`);
  return { path, bytes: summary.bytes, messages: summary.messages, generatedS: (performance.now() - started) / 1000 };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { size: { type: 'string', default: String(256 * 1024 * 1024) }, seed: { type: 'string', default: '1' } } });
  process.stdout.write(`${JSON.stringify(await robotRun(Number(values.size), Number(values.seed)))}\n`);
}

/**
 * Every job reports the bytes it fetched and the bytes it needed: planning reads the head
 * and one tail range only; a span job fetches its chunks in one GET, the message indexes
 * between them being the only excess.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateRobotRun } from '../../src/synth/robot-run.ts';
import type { IndexResult } from '../../src/queue/jobs.ts';
import { startHarness, type Harness } from '../helpers/pipeline-harness.ts';

let harness: Harness;
let dir: string;
let size: number;
let recordingId: string;

beforeAll(async () => {
  harness = await startHarness('reads', { MCAPFLOW_SPAN_MAX_BYTES: String(4 * 1024 * 1024) });
  dir = mkdtempSync(join(tmpdir(), 'mcapflow-reads-'));
  const run = await generateRobotRun({ path: join(dir, 'run.mcap'), sizeBytes: 24 * 1024 * 1024, seed: 9, chunkSizeBytes: 1024 * 1024 });
  size = run.bytes;
  recordingId = (await harness.process(run.path)).recording_id;
}, 120_000);

afterAll(async () => {
  await harness?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('read accounting', () => {
  it('plans from the head and one tail read: a tiny fraction of the file', async () => {
    const ingest = (await harness.services.queues.queue('ingest').getJobs(['completed'])).find((j) => j.returnvalue?.recordingId === recordingId)!;
    const read = ingest.returnvalue.read as { fetched: number; needed: number };
    expect(read.needed).toBeLessThanOrEqual(read.fetched);
    expect(read.fetched).toBeLessThanOrEqual(64 * 1024 + 4096);
    expect(read.fetched / size).toBeLessThan(0.003);
  });

  it('reports per span what was fetched and what was needed; index and extract share one GET when they meet', async () => {
    const results: IndexResult[] = [];
    for (const queue of ['index', 'extract'] as const) {
      for (const job of await harness.services.queues.queue(queue).getJobs(['completed']))
        if (job.data.recordingId === recordingId) results.push(job.returnvalue as IndexResult);
    }
    const spans = results.length / 2;
    expect(spans).toBeGreaterThan(3);
    let fetched = 0;
    let needed = 0;
    for (const result of results) {
      // A job either made the span's one GET (chunks plus the message indexes between them) or took its partner's.
      if (result.read!.fetched > 0) expect(result.read!.fetched / result.read!.needed).toBeLessThan(1.01);
      fetched += result.read!.fetched;
      needed += result.read!.needed;
    }
    // Both jobs of every span needed the span; at most two GETs per span were made, and on a
    // single worker process they mostly share one.
    expect(fetched).toBeLessThanOrEqual(needed * 1.01);
    expect(fetched).toBeLessThan(size * 1.5);
    expect(fetched).toBeGreaterThan(size * 0.9);
  });
});

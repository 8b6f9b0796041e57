/**
 * S3 misbehaving under the pipeline — 500s and 503s, writes that succeed but report failure,
 * stalls past the request timeout, reset connections — changes nothing in the result: the
 * derived objects and manifests are byte-identical to a clean run of the same inputs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateRobotRun } from '../../src/synth/robot-run.ts';
import { compareRuns, snapshotRun, type RunSnapshot } from '../helpers/compare-runs.ts';
import { startFaultProxy, type Fault, type FaultProxy } from '../helpers/fault-proxy.ts';
import { startHarness } from '../helpers/pipeline-harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'mcapflow-s3faults-'));
const paths: string[] = [];
const overrides = {
  MCAPFLOW_SPAN_MAX_BYTES: String(512 * 1024),
  MCAPFLOW_S3_REQUEST_TIMEOUT_MS: '1500',
  MCAPFLOW_JOB_ATTEMPTS: '8',
  MCAPFLOW_BACKOFF_MS: '50',
};

beforeAll(async () => {
  for (const seed of [41, 42]) {
    const path = join(dir, `faults-${seed}.mcap`);
    await generateRobotRun({ path, sizeBytes: 1536 * 1024, seed, chunkSizeBytes: 64 * 1024 });
    paths.push(path);
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function runAll(label: string, proxyRule?: (proxy: FaultProxy) => void): Promise<{ snapshot: RunSnapshot; faults?: Record<Fault, number> }> {
  let proxy: FaultProxy | undefined;
  const harness = await startHarness(
    label,
    overrides,
    proxyRule ? { s3Endpoint: async (embedded) => ((proxy = await startFaultProxy(embedded, { stallMs: 5000 })), proxyRule(proxy), proxy.endpoint) } : {},
  );
  try {
    for (const path of paths) expect((await harness.process(path, 120_000)).status).toBe('committed');
    return { snapshot: await snapshotRun(harness.services.store, harness.config.derivedBucket), ...(proxy ? { faults: { ...proxy.counts } } : {}) };
  } finally {
    await harness.close();
    await proxy?.close();
  }
}

describe('S3 faults', () => {
  it('produce byte-identical outputs to a clean run', async () => {
    const clean = await runAll('s3clean');
    let n = 0;
    const faulty = await runAll('s3faulty', (proxy) => {
      // Deterministic schedule over the pipeline's requests; the user's own upload of the raw file is left alone.
      const schedule: Fault[] = [
        'error500',
        'pass',
        'pass',
        'error503',
        'pass',
        'pass',
        'pass-then-500',
        'pass',
        'pass',
        'reset',
        'pass',
        'pass',
        'pass',
        'pass',
        'pass',
        'pass',
        'pass',
        'pass',
        'pass',
        'stall',
      ];
      proxy.rule = (req) => (req.method === 'PUT' && (req.url ?? '').startsWith('/raw/') ? 'pass' : schedule[n++ % schedule.length]!);
    });
    const faults = faulty.faults!;
    expect(faults.error500 + faults.error503 + faults['pass-then-500'] + faults.reset + faults.stall).toBeGreaterThan(10);
    expect(faults.stall).toBeGreaterThan(0);
    const difference = compareRuns(clean.snapshot, faulty.snapshot);
    expect(difference).toEqual({ identical: true, missing: [], extra: [], different: [] });
    expect(clean.snapshot.manifests.size).toBe(2);
  }, 240_000);
});

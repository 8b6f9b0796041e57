/**
 * Content-addressed, idempotent writes: processing a recording again writes nothing new, and
 * re-running every job from scratch rewrites the same bytes to the same keys and a
 * byte-identical manifest.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestKey } from '../../src/domain/layout.ts';
import { generateRobotRun } from '../../src/synth/robot-run.ts';
import { listBucket, startHarness, type Harness } from '../helpers/pipeline-harness.ts';

let harness: Harness;
let dir: string;
let recording: string;

beforeAll(async () => {
  // Small spans force several index/extract jobs and several blob packs (blobs copied into packs, not left in place).
  harness = await startHarness('idem', { MCAPFLOW_SPAN_MAX_BYTES: String(1024 * 1024), MCAPFLOW_BLOB_STORAGE: 'packs' });
  dir = mkdtempSync(join(tmpdir(), 'mcapflow-idem-'));
  recording = join(dir, 'run.mcap');
  await generateRobotRun({ path: recording, sizeBytes: 4 * 1024 * 1024, seed: 7, chunkSizeBytes: 512 * 1024 });
});

afterAll(async () => {
  await harness?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('idempotent processing', () => {
  it('commits once, then processing the same file again writes nothing', async () => {
    const first = await harness.process(recording);
    expect(first.status).toBe('committed');
    expect(first.messages).toBeGreaterThan(1000);
    const before = await listBucket(harness.services, harness.config.derivedBucket);
    expect([...before.keys()].filter((k) => k.startsWith('objects/tables/')).length).toBeGreaterThanOrEqual(6);

    const again = await harness.process(recording);
    expect(again).toEqual(first);
    expect(await listBucket(harness.services, harness.config.derivedBucket)).toEqual(before);
  });

  it('re-running every job without the manifest rewrites identical objects and an identical manifest', async () => {
    const { store } = harness.services;
    const bucket = harness.config.derivedBucket;
    const before = await listBucket(harness.services, bucket);
    const summary = await harness.process(recording);
    const key = manifestKey(summary.recording_id);
    const manifestBefore = await store.get(bucket, key, 'derived');
    await store.delete(bucket, key);

    const rerun = await harness.process(recording);
    expect(rerun.status).toBe('committed');
    const manifestAfter = await store.get(bucket, key, 'derived');
    expect(Buffer.from(manifestAfter!).equals(Buffer.from(manifestBefore!))).toBe(true);
    // Same keys, same sizes, same ETags (MD5 of the bytes): nothing new, nothing different.
    expect(await listBucket(harness.services, bucket)).toEqual(before);
  });

  it('plans the recording into several spans whose outputs the manifest lists with hashes', async () => {
    const summary = await harness.process(recording);
    const manifest = JSON.parse(
      Buffer.from((await harness.services.store.get(harness.config.derivedBucket, manifestKey(summary.recording_id), 'derived'))!).toString(),
    );
    expect(manifest.tables.messages.rows).toBe(summary.messages);
    for (const { objects } of Object.values<{ objects: { sha256: string; bytes: number }[] }>(manifest.tables)) {
      for (const o of objects) expect(o.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(manifest.blobs.length).toBeGreaterThan(1);
    expect(manifest.operators).toMatchObject({
      messages: expect.stringMatching(/^messages@\d+#[0-9a-f]{16}$/),
      'schema-tables': expect.stringMatching(/^schema-tables@/),
    });
    expect(manifest.tables.messages.operator).toBe(manifest.operators.messages.split('#')[0]);
  });
});

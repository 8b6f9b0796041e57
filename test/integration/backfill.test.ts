/**
 * Backfills over the embedded store: 200 recordings listed, enqueued and committed with
 * correct counts; a second backfill skips them all; `force` re-processes; a backfill
 * interrupted by an admin restart resumes where its listing stopped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Backfills, type BackfillStatus } from '../../src/admin/backfills.ts';
import { createLogger } from '../../src/log.ts';
import { tinyRecording } from '../helpers/dedup-burst.ts';
import { startHarness } from '../helpers/pipeline-harness.ts';
import { startAdmin, type AdminHarness } from '../helpers/admin-harness.ts';

let home: string;
let admin: AdminHarness;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'mcapflow-backfill-'));
  // Put the objects in place with nobody listening to upload events: only backfills announce them.
  const prep = await startHarness('bfprep', {}, { home, roles: { dispatcher: false, worker: false } });
  for (let i = 0; i < 200; i++) await prep.services.store.put(prep.config.rawBucket, `bf/robot-${i}.mcap`, await tinyRecording(i));
  for (let i = 0; i < 30; i++) await prep.services.store.put(prep.config.rawBucket, `bf2/robot-${i}.mcap`, await tinyRecording(1000 + i));
  await prep.services.store.put(prep.config.rawBucket, 'bf/notes.txt', 'not a recording');
  await prep.close();
  admin = await startAdmin('bf', { MCAPFLOW_WORKER_CONCURRENCY: '8', MCAPFLOW_DISPATCHER_CONCURRENCY: '8', MCAPFLOW_BACKFILL_MAX_WAITING: '3' }, { home });
}, 120_000);

afterAll(async () => {
  await admin?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

async function finished(id: string, timeoutMs = 120_000): Promise<BackfillStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await admin.call('GET', `/v1/backfills/${id}`);
    if ((body.state !== 'running' && body.committed + body.quarantined + body.failed >= body.enqueued) || Date.now() > deadline) return body;
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('backfills', () => {
  it('processes 200 recordings with correct counts, then skips them all on a second run', async () => {
    const started = await admin.call('POST', '/v1/backfills', { body: { bucket: 'raw', prefix: 'bf/' } });
    expect(started.status).toBe(202);
    expect(started.body.id).toMatch(/^bf-[0-9a-f]{16}$/);
    const first = await finished(started.body.id);
    expect(first).toMatchObject({ state: 'done', listed: 201, enqueued: 200, skipped: 1, committed: 200, quarantined: 0, failed: 0 });

    const again = await finished((await admin.call('POST', '/v1/backfills', { body: { bucket: 'raw', prefix: 'bf/' } })).body.id);
    expect(again).toMatchObject({ state: 'done', listed: 201, enqueued: 0, skipped: 201, committed: 0 });
    const listed = (await admin.call('GET', '/v1/backfills')).body.items.map((b: { id: string }) => b.id);
    expect(listed.slice(0, 2)).toEqual([again.id, first.id]);
  }, 180_000);

  it('re-processes committed recordings with force', async () => {
    const forced = await finished((await admin.call('POST', '/v1/backfills', { body: { bucket: 'raw', prefix: 'bf/robot-19', force: true } })).body.id);
    expect(forced).toMatchObject({ state: 'done', listed: 11, enqueued: 11, skipped: 0, committed: 11, failed: 0 });
  }, 60_000);

  it('filters by modification time and validates its input', async () => {
    const future = await finished(
      (await admin.call('POST', '/v1/backfills', { body: { bucket: 'raw', prefix: 'bf/', since: '2100-01-01T00:00:00Z' } })).body.id,
    );
    expect(future).toMatchObject({ state: 'done', listed: 201, enqueued: 0, skipped: 201 });
    expect((await admin.call('POST', '/v1/backfills', { body: { bucket: 'raw', prefix: '../x' } })).body.error.code).toBe('BAD_KEY');
    expect((await admin.call('POST', '/v1/backfills', { body: { bucket: 'no-such-bucket', prefix: '' } })).body.error.code).toBe('BAD_ARGUMENT');
    expect((await admin.call('POST', '/v1/backfills', { body: { bucket: 'raw' } })).status).toBe(400);
    expect((await admin.call('GET', '/v1/backfills/bf-0000000000000000')).status).toBe(404);
  });

  it('resumes where its listing stopped after an admin restart, and can be cancelled', async () => {
    const ingest = admin.harness.services.queues.queue('ingest');
    await ingest.pause();
    const id = (await admin.call('POST', '/v1/backfills', { body: { bucket: 'raw', prefix: 'bf2/' } })).body.id as string;
    // Backpressure holds it at the queue limit while the queue is paused.
    const deadline = Date.now() + 20_000;
    while ((await admin.call('GET', `/v1/backfills/${id}`)).body.enqueued < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await admin.backfills.close();
    const halted = (await admin.call('GET', `/v1/backfills/${id}`)).body;
    expect(halted).toMatchObject({ state: 'running', enqueued: 3 });
    expect(halted.listed).toBeLessThan(30);

    const restarted = new Backfills(admin.harness.services, createLogger('silent'));
    await restarted.resumeAll();
    await ingest.resume();
    await restarted.settled(id);
    const done = await finished(id);
    expect(done).toMatchObject({ state: 'done', listed: 30, enqueued: 30, skipped: 0, committed: 30 });

    await ingest.pause();
    const cancelId = (await admin.call('POST', '/v1/backfills', { body: { bucket: 'raw', prefix: 'bf/', force: true } })).body.id as string;
    await new Promise((r) => setTimeout(r, 300));
    // The backfill was started by the first (now closed) manager's routes; cancel through the API.
    const cancelled = await admin.call('DELETE', `/v1/backfills/${cancelId}`);
    expect(cancelled.body.state).toBe('cancelled');
    expect(cancelled.body.enqueued).toBeLessThan(201);
    await ingest.resume();
    await restarted.close();
  }, 120_000);
});

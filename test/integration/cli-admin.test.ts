/**
 * The operator's CLI against a running `mcapflow serve` on the embedded default: upload
 * (including resuming a killed upload), inspect, recordings, status, backfill, dlq.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateRobotRun } from '../../src/synth/robot-run.ts';
import { FIXTURES_DIR } from '../helpers/fixtures.ts';
import { startServe, type ServeProcess } from '../helpers/serve-process.ts';

let serve: ServeProcess;

beforeAll(async () => {
  serve = await startServe('cliadmin');
});

afterAll(async () => {
  await serve?.stop();
});

async function untilCommitted(count: number): Promise<{ recordingId: string; state: string; source: string }[]> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const out = await serve.cli(['recordings', '--json', '--limit', '200']);
    const items = JSON.parse(out.stdout).items as { recordingId: string; state: string; source: string }[];
    if (items.filter((r) => r.state === 'committed').length >= count || Date.now() > deadline) return items;
    await new Promise((r) => setTimeout(r, 300));
  }
}

describe('mcapflow serve on the embedded default', () => {
  it('generates the admin and webhook tokens once, printed at start and saved privately', () => {
    expect(serve.stderr()).toMatch(/generated the admin token \S+/);
    expect(serve.stderr()).toMatch(/generated the webhook token \S+/);
    const file = join(serve.home, 'tokens.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const tokens = JSON.parse(readFileSync(file, 'utf8'));
    expect(tokens.admin).not.toBe(tokens.webhook);
    expect(serve.stderr()).not.toContain(`"${tokens.admin}"`);
  });
});

describe('CLI commands', () => {
  it('upload DIR sends every recording into the running serve, whose events process them', async () => {
    const out = await serve.cli(['upload', FIXTURES_DIR, '--prefix', 'fx/', '--json']);
    expect(out.code).toBe(0);
    const lines = out.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(6);
    expect(lines[0]).toMatchObject({ uri: 's3://raw/fx/cdr_test/cdr_test_0.mcap', outcome: 'uploaded', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const items = await untilCommitted(6);
    expect(items.filter((r) => r.source.startsWith('s3://raw/fx/') && r.state === 'committed')).toHaveLength(6);

    const again = await serve.cli(['upload', join(FIXTURES_DIR, 'talker', 'talker.mcap'), '--prefix', 'fx/talker/', '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ outcome: 'unchanged' });
  });

  it('inspect describes an object from its summary only', async () => {
    const out = await serve.cli(['inspect', 's3://raw/fx/talker/talker.mcap', '--json']);
    expect(out.code).toBe(0);
    const info = JSON.parse(out.stdout);
    expect(info).toMatchObject({ summary: 'ok', profile: 'ros2', messages: 20, chunks: 1, compression: { zstd: { chunks: 1 } } });
    expect(info.channels.map((c: { topic: string }) => c.topic)).toEqual(['/rosout', '/parameter_events', '/topic']);
    const local = await serve.cli(['inspect', join(FIXTURES_DIR, 'cdr_test', 'cdr_test_0.mcap')]);
    expect(local.stdout).toMatch(/\/array_topic\s+4 msgs/);
    expect((await serve.cli(['inspect', join(serve.home, 'nope.mcap')])).code).toBe(2);
  });

  it('status, recordings and dlq list report through the admin API', async () => {
    const status = JSON.parse((await serve.cli(['status', '--json'])).stdout);
    expect(status.queues.find((q: { name: string }) => q.name === 'commit').counts.completed).toBeGreaterThanOrEqual(6);
    const committed = JSON.parse((await serve.cli(['recordings', '--status', 'committed', '--json'])).stdout).items;
    const one = JSON.parse((await serve.cli(['status', committed[0].recordingId, '--json'])).stdout);
    expect(one).toMatchObject({ recording_id: committed[0].recordingId, status: 'committed' });
    expect(JSON.parse((await serve.cli(['dlq', 'list', '--json'])).stdout)).toEqual({ count: 0, items: [] });
    expect((await serve.cli(['dlq', 'retry', '--all', '--json'])).stdout).toBe('{"results":[]}\n');
    expect((await serve.cli(['dlq', 'purge', '--all'])).stdout).toBe('discarded 0 entries\n');
    const bad = await serve.cli(['dlq', 'retry']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/give an entry id or --all/);
  });

  it('backfill --wait skips what is already committed', async () => {
    const out = await serve.cli(['backfill', '--prefix', 'fx/', '--wait', '--json']);
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({ state: 'done', listed: 6, enqueued: 0, skipped: 6 });
  });

  it('upload resumes a killed upload from its last completed part', async () => {
    const path = join(serve.home, 'big.mcap');
    await generateRobotRun({ path, sizeBytes: 40 * 1024 * 1024, seed: 77 });
    const journals = join(serve.home, 'uploads');
    const child = serve.spawnCli(['upload', path, '--prefix', 'resume/']);
    // Kill it once the journal records a completed part (and before the upload completes).
    const deadline = Date.now() + 30_000;
    let killed = false;
    while (Date.now() < deadline && child.exitCode === null) {
      const files = existsSync(journals) ? readdirSync(journals).filter((f) => f.endsWith('.json')) : [];
      const parts = files.length ? (JSON.parse(readFileSync(join(journals, files[0]!), 'utf8')).parts as unknown[]).length : 0;
      if (parts >= 1) {
        child.kill('SIGKILL');
        killed = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(killed).toBe(true);
    await new Promise((r) => child.once('close', r));
    const resumed = await serve.cli(['upload', path, '--prefix', 'resume/', '--json']);
    expect(resumed.code).toBe(0);
    const result = JSON.parse(resumed.stdout);
    expect(result).toMatchObject({ outcome: 'resumed', uri: 's3://raw/resume/big.mcap' });
    expect(result.partsUploaded).toBeLessThan(3);
    const info = JSON.parse((await serve.cli(['inspect', 's3://raw/resume/big.mcap', '--json'])).stdout);
    expect(info.summary).toBe('ok');
    expect(info.size).toBe(statSync(path).size);
  }, 90_000);
});

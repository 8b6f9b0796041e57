/**
 * The `mcapflow` command as users and scripts run it: a separate process on the embedded
 * default (its own s3rver under a temp MCAPFLOW_HOME, the machine's Redis under a test prefix).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/fixtures.ts';
import { deleteRedisPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/pipeline-harness.ts';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/mcapflow.js');
const home = mkdtempSync(join(tmpdir(), 'mcapflow-cli-'));
const prefix = uniquePrefix('cli');

function run(args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: {
        ...process.env,
        MCAPFLOW_HOME: home,
        MCAPFLOW_PREFIX: prefix,
        REDIS_URL: TEST_REDIS_URL,
        MCAPFLOW_SPAWN_REDIS: 'false',
        MCAPFLOW_LOG_LEVEL: 'warn',
        ...extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

afterAll(async () => {
  await deleteRedisPrefix(prefix);
  rmSync(home, { recursive: true, force: true });
});

describe('mcapflow CLI', () => {
  it('process --json prints the summary contract and exits 0 for committed and quarantined files', async () => {
    const notMcap = join(home, 'notes.mcap');
    writeFileSync(notMcap, 'hello');
    const talker = fixture('talker').path;
    const result = await run(['process', talker, notMcap, '--json']);
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out.recordings).toHaveLength(2);
    const [committed, quarantined] = out.recordings;
    expect(committed).toMatchObject({ source: talker, status: 'committed', recovered: false, reason: null, messages: 20 });
    expect(committed.recording_id).toMatch(/^[0-9a-f]{32}$/);
    expect(committed.topics).toContainEqual({
      topic: '/topic',
      schema: 'std_msgs/msg/String',
      message_encoding: 'cdr',
      messages: 10,
      table: 'std_msgs_msg_String',
      decode_errors: 0,
      status: 'ok',
      reason: null,
    });
    expect(quarantined).toMatchObject({ source: notMcap, status: 'quarantined', recovered: false, messages: 0, topics: [] });
    expect(quarantined.reason).toMatch(/not an MCAP file/);
  });

  it('query --json returns columns and rows, 64-bit integers as numbers or strings', async () => {
    const result = await run(['query', "SELECT topic, count(*) AS n, max(log_time) AS last FROM messages WHERE topic = '/topic' GROUP BY topic", '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ columns: ['topic', 'n', 'last'], rows: [['/topic', 10, '1585866239643508139']] });
  });

  it('query reports SQL errors with a code and a non-zero exit', async () => {
    const result = await run(['query', 'SELECT * FROM no_such_table', '--json']);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).error.code).toBe('QUERY_FAILED');
    expect(result.stderr).toMatch(/no_such_table/);
  });

  it('cat fetches one message by range and prints it decoded', async () => {
    const id = JSON.parse((await run(['query', "SELECT recording_id FROM topics WHERE topic = '/topic'", '--json'])).stdout).rows[0][0] as string;
    // The talker's third /topic message is logged at 1585866236112411371 + … ; ask just after it.
    const times = JSON.parse(
      (await run(['query', `SELECT log_time FROM messages WHERE recording_id = '${id}' AND topic = '/topic' ORDER BY log_time`, '--json'])).stdout,
    ).rows.map((r: string[]) => r[0]);
    const out = await run(['cat', id, '/topic', '--at', String(BigInt(times[2]) + 1n)]);
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({ recording_id: id, topic: '/topic', log_time: times[2], message: { data: 'Hello, world! 2' } });
    const iso = new Date(Number(BigInt(times[0]) / 1_000_000n) + 1).toISOString();
    expect(JSON.parse((await run(['cat', id, '/topic', '--at', iso])).stdout).message.data).toBe('Hello, world! 0');
    const before = await run(['cat', id, '/topic', '--at', '1']);
    expect(before.code).toBe(1);
    expect(before.stderr).toMatch(/no message on \/topic at or before 1 .*\[NOT_FOUND\]/);
    expect((await run(['cat', id, '/topic', '--at', 'yesterday'])).code).toBe(2);
  });

  it('refuses a missing file before uploading anything (exit 2)', async () => {
    const result = await run(['process', join(home, 'missing.mcap'), '--json']);
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout).error).toEqual({ code: 'BAD_ARGUMENT', message: `${join(home, 'missing.mcap')}: no such file` });
  });

  it('names the variable of an invalid configuration (exit 2)', async () => {
    const result = await run(['query', 'SELECT 1'], { MCAPFLOW_SPAN_MAX_BYTES: 'lots' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/MCAPFLOW_SPAN_MAX_BYTES="lots"/);
  });

  it.each([
    ['demo'],
    ['process'],
    ['query'],
    ['serve'],
    ['config'],
    ['upload'],
    ['inspect'],
    ['cat'],
    ['similar'],
    ['backfill'],
    ['status'],
    ['recordings'],
    ['dlq'],
  ])('%s --help explains the command', async (command) => {
    const result = await run([command, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`Usage: mcapflow ${command}`));
    expect(result.stdout.length).toBeGreaterThan(150);
  });

  it('serve --role worker answers /healthz, /readyz and /metrics, runs until SIGTERM, then stops cleanly', async () => {
    const child = spawn(process.execPath, [BIN, 'serve', '--role', 'worker'], {
      env: {
        ...process.env,
        MCAPFLOW_HOME: home,
        MCAPFLOW_PREFIX: prefix,
        REDIS_URL: TEST_REDIS_URL,
        MCAPFLOW_SPAWN_REDIS: 'false',
        MCAPFLOW_LOG_LEVEL: 'info',
        MCAPFLOW_HTTP_PORT: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    const serving = new Promise<void>((resolveServing) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('mcapflow serving')) resolveServing();
      });
    });
    const exited = new Promise<number | null>((resolveExit) => child.on('close', resolveExit));
    await serving;
    const url = /"http":"([^"]+)"/.exec(stderr)![1]!;
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { checks: { name: string; ok: boolean }[] }).checks.map((c: { name: string; ok: boolean }) => [c.name, c.ok])).toEqual([
      ['redis', true],
      ['s3', true],
    ]);
    expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/process_resident_memory_bytes/);
    const stoppingAt = Date.now();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - stoppingAt).toBeLessThan(10_000);
    expect(stderr).toMatch(/"signal":"SIGTERM"/);
    expect(stderr).toMatch(/"msg":"stopped"/);
  });

  it('demo generates, processes and answers questions about a small run', async () => {
    const result = await run(['demo', '--size', '3MB']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Committed in .* s/);
    expect(result.stdout).toMatch(/\/imu\s+\d+\s+200\s/);
    expect(result.stdout).toMatch(/9\.8\d/);
    expect(result.stdout).toMatch(/manifest\s+s3:\/\/derived\/manifests\/[0-9a-f]{32}\.json/);
    expect(result.stdout).toMatch(/Similarity search .* hardest turn at t\+\d+s:\n.*\n.*\n\s+t\+\d+s\s+[0-9a-f]{32}\s+\d/);
    const id = /manifests\/([0-9a-f]{32})\.json/.exec(result.stdout)![1]!;
    const similar = await run(['similar', id, '--at', '2026-01-15T09:00:01Z', '--k', '2', '--json']);
    expect(similar.code).toBe(0);
    const answer = JSON.parse(similar.stdout);
    expect(answer.query).toMatchObject({ recording_id: id, topic: '/imu', window_start: '1768467601000000000' });
    expect(answer.neighbours).toHaveLength(2);
  }, 120_000);
});

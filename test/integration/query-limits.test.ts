/**
 * The limits of POST /v1/query against statements made to hurt the admin process: results
 * too large for memory, constant folding and nested JSON that run for minutes before
 * execution starts, clients that go away, more queries than the cap, and a shutdown in the
 * middle of one. The admin process must keep answering (/healthz) throughout, and each query
 * must get a clear error naming the limit within that limit plus slack.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findLocalServer } from '../../src/runtime/local-server.ts';
import { registry } from '../../src/observability/metrics.ts';
import { startAdmin, TOKENS, type AdminHarness } from '../helpers/admin-harness.ts';
import { deleteRedisPrefix } from '../helpers/pipeline-harness.ts';
import { startServe } from '../helpers/serve-process.ts';

const TIMEOUT_MS = 2000;
const SLACK_MS = 3000;
/** For the tests whose answer must come from a memory bound before the clock runs out. */
const PATIENT_TIMEOUT_MS = 30_000;
const MAX_RESULT_BYTES = 1024 * 1024;
/** Constant-folded in prepare, where DuckDB's interrupt is not looked at: ~25 s of CPU here. */
const FOLDING = `SELECT levenshtein(repeat('a', 110000), repeat('b', 110000))`;
/** The query that killed the admin process: 20M structs in one value. */
const HUGE_VALUE = `SELECT list_transform(range(x), i -> {'a': i, 'b': i}) FROM (SELECT 20000000 AS x)`;

let admin: AdminHarness;

beforeAll(async () => {
  admin = await startAdmin('query-limits', {
    MCAPFLOW_QUERY_TIMEOUT_MS: String(TIMEOUT_MS),
    MCAPFLOW_QUERY_MAX_RESULT_BYTES: String(MAX_RESULT_BYTES),
    MCAPFLOW_QUERY_MEMORY_MB: '512',
    MCAPFLOW_QUERY_THREADS: '1',
    MCAPFLOW_QUERY_TEMP_MAX_MB: '256',
    MCAPFLOW_QUERY_CONCURRENCY: '1',
  });
}, 60_000);

afterAll(async () => {
  await admin?.close();
});

function post(sql: string, signal?: AbortSignal, target: AdminHarness = admin): Promise<Response> {
  return fetch(`${target.url}/v1/query`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKENS.admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sql }),
    ...(signal ? { signal } : {}),
  });
}

/** Runs `sql` while polling /healthz; returns the answer, its time and the slowest /healthz. */
async function whileHealthPolled(
  sql: string,
  target: AdminHarness = admin,
): Promise<{ status: number; body: any; ms: number; slowestHealthMs: number; healthChecks: number }> {
  let done = false;
  let slowest = 0;
  let checks = 0;
  const poll = (async () => {
    while (!done) {
      const started = Date.now();
      const health = await fetch(`${target.url}/healthz`, { signal: AbortSignal.timeout(10_000) });
      expect(health.status).toBe(200);
      slowest = Math.max(slowest, Date.now() - started);
      checks += 1;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const started = Date.now();
  try {
    const response = await post(sql, undefined, target);
    const ms = Date.now() - started;
    return { status: response.status, body: await response.json(), ms, slowestHealthMs: slowest, healthChecks: checks };
  } finally {
    done = true;
    await poll;
  }
}

/** The admin process still answers a plain query after one that hit a limit. */
async function expectStillAnswering(target: AdminHarness): Promise<void> {
  expect((await target.call('POST', '/v1/query', { body: { sql: 'SELECT 42 AS answer' } })).body).toEqual({
    columns: ['answer'],
    rows: [[42]],
    truncated: false,
  });
}

async function counter(name: string, labels: string): Promise<number> {
  if (registry.getSingleMetric(name) === undefined) return Number.NaN;
  const text = await registry.getSingleMetricAsString(name);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

describe('bounded queries', () => {
  it('answers a query whose result would be too large with an error naming the byte limit, /healthz answering meanwhile', async () => {
    const answer = await whileHealthPolled(`SELECT list_transform(range(x), i -> {'a': i, 'b': i}) FROM (SELECT 2000000 AS x)`);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('QUERY_TOO_LARGE');
    expect(answer.body.error.message).toMatch(/MCAPFLOW_QUERY_MAX_RESULT_BYTES/);
    expect(answer.body.error.message).toMatch(/1 MiB|1048576/);
    expect(answer.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    expect(answer.slowestHealthMs).toBeLessThan(500);
  }, 30_000);

  it('survives the query that exhausted the heap, with a clear error naming the memory or result limit', async () => {
    // A patient time limit, so that the answer on a busy machine is the memory bound, not the clock.
    const patient = await startAdmin('query-limits-huge', {
      MCAPFLOW_QUERY_TIMEOUT_MS: String(PATIENT_TIMEOUT_MS),
      MCAPFLOW_QUERY_MAX_RESULT_BYTES: String(MAX_RESULT_BYTES),
      MCAPFLOW_QUERY_MEMORY_MB: '512',
      MCAPFLOW_QUERY_THREADS: '1',
    });
    try {
      const answer = await whileHealthPolled(HUGE_VALUE, patient);
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe('QUERY_TOO_LARGE');
      expect(answer.body.error.message).toMatch(/MCAPFLOW_QUERY_MEMORY_MB|MCAPFLOW_QUERY_MAX_RESULT_BYTES/);
      expect(answer.ms).toBeLessThan(PATIENT_TIMEOUT_MS);
      expect(answer.slowestHealthMs).toBeLessThan(500);
      await expectStillAnswering(patient);
    } finally {
      await patient.close();
    }
  }, 90_000);

  it('answers a single value too large to convert in the sandbox with QUERY_TOO_LARGE, the admin process unharmed', async () => {
    // One 300 MB string: under DuckDB's memory limit, over what the sandbox's heap can turn into JSON.
    const patient = await startAdmin('query-limits-heap', {
      MCAPFLOW_QUERY_TIMEOUT_MS: '30000',
      MCAPFLOW_QUERY_MEMORY_MB: '512',
      MCAPFLOW_QUERY_MAX_RESULT_BYTES: String(MAX_RESULT_BYTES),
    });
    try {
      const answer = await patient.call('POST', '/v1/query', { body: { sql: `SELECT repeat('x', 300000000) AS big` } });
      expect(answer.body.error).toMatchObject({ code: 'QUERY_TOO_LARGE', message: expect.stringMatching(/sandbox's \d+ MiB of memory/) });
      await expectStillAnswering(patient);
    } finally {
      await patient.close();
    }
  }, 60_000);

  it('spills to disk under MCAPFLOW_HOME only up to MCAPFLOW_QUERY_TEMP_MAX_MB', async () => {
    const small = await startAdmin('query-limits-spill', { MCAPFLOW_QUERY_MEMORY_MB: '100', MCAPFLOW_QUERY_TEMP_MAX_MB: '8', MCAPFLOW_QUERY_THREADS: '1' });
    try {
      // About 400 MB of hash table: over the memory limit, so DuckDB spills, and over the spill cap.
      const sql = `SELECT count(*) FROM (SELECT h, count(*) FROM (SELECT md5(x::VARCHAR) h FROM range(10000000) t(x)) GROUP BY h)`;
      const answer = await small.call('POST', '/v1/query', { body: { sql } });
      expect(answer.body.error).toMatchObject({
        code: 'QUERY_TOO_LARGE',
        message: expect.stringMatching(/8 MiB of temporary disk \(MCAPFLOW_QUERY_TEMP_MAX_MB\)/),
      });
    } finally {
      await small.close();
    }
  }, 60_000);

  it('stops constant folding at the time limit', async () => {
    const answer = await whileHealthPolled(FOLDING);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('QUERY_TIMEOUT');
    expect(answer.body.error.message).toMatch(new RegExp(`${TIMEOUT_MS} ms.*MCAPFLOW_QUERY_TIMEOUT_MS`));
    expect(answer.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
    expect(answer.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    expect(answer.slowestHealthMs).toBeLessThan(500);
  }, 60_000);

  it('stops a deeply nested json_transform at the time limit', async () => {
    const depth = 2000;
    const json = `${'{"a":'.repeat(depth)}"x"${'}'.repeat(depth)}`;
    const type = `${'{"a":'.repeat(depth)}"VARCHAR"${'}'.repeat(depth)}`;
    const answer = await whileHealthPolled(`SELECT json_transform('${json}', '${type}')`);
    expect(answer.body.error?.code).toBe('QUERY_TIMEOUT');
    expect(answer.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
  }, 60_000);

  it('cancels the query of a client that disconnects', async () => {
    const cancelledBefore = await counter('mcapflow_queries_total', 'outcome="cancelled"');
    const client = new AbortController();
    const request = post(FOLDING, client.signal).catch((error: unknown) => error);
    await new Promise((r) => setTimeout(r, 300));
    const cpuBefore = process.cpuUsage();
    client.abort();
    expect(await request).toBeInstanceOf(Error);
    await new Promise((r) => setTimeout(r, 1000));
    // The admin process does no work for a query nobody waits for.
    const cpu = process.cpuUsage(cpuBefore);
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(500);
    expect(await counter('mcapflow_queries_total', 'outcome="cancelled"')).toBe(cancelledBefore + 1);
    // Its sandbox slot (the cap is 1) is free again well before its time limit would have freed it.
    const started = Date.now();
    expect((await admin.call('POST', '/v1/query', { body: { sql: 'SELECT 7 AS n' } })).body).toEqual({ columns: ['n'], rows: [[7]], truncated: false });
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS);
  }, 30_000);

  it('refuses a query over the concurrency cap with 429', async () => {
    const first = post(FOLDING);
    await new Promise((r) => setTimeout(r, 300));
    const second = await admin.call('POST', '/v1/query', { body: { sql: 'SELECT 1' } });
    expect(second.status).toBe(429);
    expect(second.body.error.code).toBe('QUERY_BUSY');
    expect(second.body.error.message).toMatch(/MCAPFLOW_QUERY_CONCURRENCY/);
    expect(((await (await first).json()) as { error: { code: string } }).error.code).toBe('QUERY_TIMEOUT');
  }, 30_000);

  it('runs DuckDB with the configured memory, threads and temp files under MCAPFLOW_HOME', async () => {
    const answer = await admin.call('POST', '/v1/query', {
      body: {
        sql: `SELECT current_setting('memory_limit'), current_setting('threads'), current_setting('temp_directory'), current_setting('max_temp_directory_size')`,
      },
    });
    expect(answer.status).toBe(200);
    const [memory, threads, temp, tempMax] = answer.body.rows[0] as [string, number, string, string];
    expect(memory).toBe('512.0 MiB');
    expect(threads).toBe(1);
    expect(temp.startsWith(join(admin.harness.home, 'tmp'))).toBe(true);
    expect(tempMax).toBe('256.0 MiB');
  });
});

describe('shutdown', () => {
  it('exits promptly on SIGTERM while a query runs', async () => {
    const token = 'admin-token-for-shutdown-test-0123456789';
    const serve = await startServe('query-sigterm', { MCAPFLOW_ADMIN_TOKEN: token, MCAPFLOW_QUERY_TIMEOUT_MS: '120000' });
    try {
      const pid = findLocalServer(serve.home)?.pid ?? JSON.parse(readFileSync(join(serve.home, 'server.json'), 'utf8')).pid;
      const request = fetch(`${serve.url}/v1/query`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ sql: FOLDING }),
      }).catch((error: unknown) => error);
      await new Promise((r) => setTimeout(r, 1500));
      const started = Date.now();
      process.kill(pid, 'SIGTERM');
      while (alive(pid) && Date.now() - started < 15_000) await new Promise((r) => setTimeout(r, 100));
      expect(alive(pid), serve.stderr()).toBe(false);
      expect(Date.now() - started).toBeLessThan(10_000);
      await request;
    } finally {
      await serve.stop();
    }
  }, 60_000);

  it('leaves no sandbox running when the admin process is killed', async () => {
    const token = 'admin-token-for-shutdown-test-0123456789';
    const serve = await startServe('query-sigkill', { MCAPFLOW_ADMIN_TOKEN: token, MCAPFLOW_QUERY_TIMEOUT_MS: '120000' });
    const pid = JSON.parse(readFileSync(join(serve.home, 'server.json'), 'utf8')).pid as number;
    try {
      const request = fetch(`${serve.url}/v1/query`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ sql: FOLDING }),
      }).catch((error: unknown) => error);
      await new Promise((r) => setTimeout(r, 1500));
      const sandboxes = sandboxesOf(pid);
      expect(sandboxes).toHaveLength(1);
      process.kill(pid, 'SIGKILL');
      await request;
      const started = Date.now();
      while (sandboxes.some(alive) && Date.now() - started < 5000) await new Promise((r) => setTimeout(r, 100));
      expect(sandboxes.filter(alive)).toEqual([]);
    } finally {
      for (const p of [pid, ...sandboxesOf(pid)]) if (alive(p)) process.kill(p, 'SIGKILL');
      // serve.stop() waits for an exit it would not see again after a SIGKILL.
      await deleteRedisPrefix(serve.prefix);
      rmSync(serve.home, { recursive: true, force: true });
    }
  }, 60_000);
});

/** Child processes of `pid` that are query sandboxes. */
function sandboxesOf(pid: number): number[] {
  if (!alive(pid)) return [];
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  return children.filter((child) => {
    try {
      return readFileSync(`/proc/${child}/cmdline`, 'utf8').includes('sandbox-process');
    } catch {
      return false;
    }
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

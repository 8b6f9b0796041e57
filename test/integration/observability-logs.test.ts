/**
 * Logs as an operator reads them: JSON lines, each line of job work naming its recording,
 * job id and kind, the level set by MCAPFLOW_LOG_LEVEL, and no secret anywhere (tokens,
 * AWS keys, authorization headers, passwords in URLs).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { runInJobContext } from '../../src/observability/job-context.ts';
import { generateRobotRun } from '../../src/synth/robot-run.ts';
import { deleteRedisPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/pipeline-harness.ts';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/mcapflow.js');
const dir = mkdtempSync(join(tmpdir(), 'mcapflow-logs-'));
const prefix = uniquePrefix('logs');

const SECRETS = {
  MCAPFLOW_ADMIN_TOKEN: 'admin-token-5f1c9e0b7a',
  MCAPFLOW_WEBHOOK_TOKEN: 'webhook-token-c3d8a1e4f2',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};

afterAll(async () => {
  await deleteRedisPrefix(prefix);
  rmSync(dir, { recursive: true, force: true });
});

function capture(level: string, env: NodeJS.ProcessEnv = SECRETS) {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { log: createLogger(level, { role: 'test' }, { destination, env }), lines, raw };
}

describe('structured logs', () => {
  it('redact secrets by field name, by value and inside URLs', () => {
    const { log, lines, raw } = capture('info');
    log.info({ headers: { authorization: 'Bearer abc.def.ghi', accept: 'application/json' } }, 'webhook request');
    log.info({ redis: 'redis://default:hunter2hunter2@redis.internal:6379/0' }, 'mcapflow serving');
    log.info({ config: { adminToken: 'x', webhookToken: 'y', prefix: 'mcapflow' } }, 'configured');
    log.warn(`rejected a request with token ${SECRETS.MCAPFLOW_ADMIN_TOKEN}`);
    log.error({ err: new Error(`S3 refused key ${SECRETS.AWS_SECRET_ACCESS_KEY}`) }, 'S3 failed');
    log.info({ nested: { deeper: { note: `webhook says ${SECRETS.MCAPFLOW_WEBHOOK_TOKEN}` } } }, 'nested');

    const text = raw.join('\n');
    for (const secret of [...Object.values(SECRETS), 'abc.def.ghi', 'hunter2hunter2']) expect(text).not.toContain(secret);
    expect(lines[0]).toMatchObject({ msg: 'webhook request', headers: { authorization: '[redacted]', accept: 'application/json' }, role: 'test' });
    expect(lines[1]!.redis).toBe('redis://default:[redacted]@redis.internal:6379/0');
    expect(lines[2]!.config).toEqual({ adminToken: '[redacted]', webhookToken: '[redacted]', prefix: 'mcapflow' });
    expect(lines[3]!.msg).toBe('rejected a request with token [redacted]');
    expect((lines[4]!.err as { message: string }).message).toBe('S3 refused key [redacted]');
    expect((lines[4]!.err as { stack: string }).stack).toMatch(/S3 refused key \[redacted\]\n\s+at /);
    expect(lines[5]!.nested).toEqual({ deeper: { note: 'webhook says [redacted]' } });
    for (const line of lines) expect(line).toMatchObject({ pid: process.pid, time: expect.any(String), level: expect.any(Number) });
  });

  it('name the job on every line written while it runs, and only then', async () => {
    const { log, lines } = capture('debug');
    const fields = { recording_id: 'r1', job_id: 'r1-index-0', kind: 'index', queue: 'index', attempt: 1 };
    await runInJobContext(fields, async () => {
      log.info('reading span');
      await new Promise((r) => setTimeout(r, 5));
      log.debug({ bytes: 10 }, 'decoded');
      log.info('after an await');
    });
    log.info('outside any job');
    expect(lines.slice(0, 3).map((l) => [l.msg, l.recording_id, l.job_id, l.kind])).toEqual([
      ['reading span', 'r1', 'r1-index-0', 'index'],
      ['decoded', 'r1', 'r1-index-0', 'index'],
      ['after an await', 'r1', 'r1-index-0', 'index'],
    ]);
    // A line's own fields do not leak into the next line of the same job.
    expect(lines[2]).not.toHaveProperty('bytes');
    expect(lines[3]).not.toHaveProperty('job_id');
  });

  it('honour the level', () => {
    const { log, lines } = capture('warn');
    log.info('quiet');
    log.debug('quieter');
    log.warn('loud');
    expect(lines.map((l) => l.msg)).toEqual(['loud']);
  });

  it('mcapflow process at MCAPFLOW_LOG_LEVEL=debug: every job line names recording, job and kind; no secret printed', async () => {
    const run = await generateRobotRun({ path: join(dir, 'logged.mcap'), sizeBytes: 512 * 1024, seed: 5, chunkSizeBytes: 64 * 1024 });
    const junk = join(dir, 'junk.mcap');
    writeFileSync(junk, 'not a recording at all');
    const env = {
      ...process.env,
      ...SECRETS,
      MCAPFLOW_HOME: join(dir, 'home'),
      MCAPFLOW_PREFIX: prefix,
      REDIS_URL: TEST_REDIS_URL,
      MCAPFLOW_SPAWN_REDIS: 'false',
      MCAPFLOW_LOG_LEVEL: 'debug',
      MCAPFLOW_SPAN_MAX_BYTES: String(192 * 1024),
    };
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolveRun, reject) => {
      const child = spawn(process.execPath, [BIN, 'process', run.path, junk, '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolveRun({ code, stdout, stderr }));
    });
    expect(result.code, result.stderr).toBe(0);
    const [committed, quarantined] = JSON.parse(result.stdout).recordings as { recording_id: string; status: string }[];
    expect(committed!.status).toBe('committed');
    expect(quarantined!.status).toBe('quarantined');

    for (const secret of Object.values(SECRETS)) expect(result.stderr).not.toContain(secret);
    const lines = result.stderr
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const jobLines = lines.filter((l) => typeof l.msg === 'string' && /^job /.test(l.msg));
    expect(jobLines.length).toBeGreaterThan(0);
    for (const line of jobLines) {
      expect(line, JSON.stringify(line)).toMatchObject({ job_id: expect.any(String), kind: expect.any(String), queue: expect.any(String) });
      // An ingest job learns its recording id from its first S3 request; every later line has it.
      if (!(line.kind === 'ingest' && line.msg === 'job started')) expect(line.recording_id, JSON.stringify(line)).toMatch(/^[0-9a-f]{32}$/);
    }
    const completed = jobLines.filter((l) => l.msg === 'job completed');
    expect(new Set(completed.map((l) => l.kind))).toEqual(new Set(['ingest', 'index', 'extract', 'convert', 'operator', 'commit']));
    for (const line of completed.filter((l) => l.kind !== 'ingest')) expect(line.recording_id).toBe(committed!.recording_id);
    const ingestOfJunk = completed.find((l) => l.kind === 'ingest' && l.recording_id === quarantined!.recording_id);
    expect(ingestOfJunk).toMatchObject({ outcome: 'quarantined', reason: expect.stringMatching(/MCAP/i) });
    const indexLines = completed.filter((l) => l.kind === 'index');
    for (const line of indexLines)
      expect(line).toMatchObject({
        duration_ms: expect.any(Number),
        messages: expect.any(Number),
        job_id: expect.stringMatching(new RegExp(`^${committed!.recording_id}-index-\\d+$`)),
      });
    expect(indexLines.reduce((n, l) => n + (l.messages as number), 0)).toBe(run.messages);
  });
});

/**
 * Files made to hurt, each through `mcapflow process` as a user runs it, in a separate process
 * whose wall time and peak memory are bounded: every one ends with a clear verdict inside
 * 60 s and 2 GiB, and none takes the process down.
 */
import { spawn } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { doublingSchema, sequenceChainSchema } from '../helpers/deep-schemas.ts';
import { manyChannels, recordingWith, zeroChunkBomb } from '../helpers/hostile-files.ts';
import { buildTestRecording } from '../helpers/mcap-builders.ts';
import { deleteRedisPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/pipeline-harness.ts';
import { editChunkIndexes } from '../helpers/summary-surgery.ts';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/mcapflow.js');
const home = mkdtempSync(join(tmpdir(), 'mcapflow-hostile-'));
const prefix = uniquePrefix('hostile');
const TIME_LIMIT_MS = 60_000;
const MEMORY_LIMIT_BYTES = 2 * 1024 ** 3;
const MiB = 1024 * 1024;

/** Peak resident memory of a process so far (Linux VmHWM), in bytes. */
function peakRss(pid: number): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

interface BoundedRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  peakRss: number;
}

/** `mcapflow ARGS…`, killed if it outlives the time limit; peak RSS sampled while it runs. */
function runBounded(args: string[]): Promise<BoundedRun> {
  return new Promise((resolvePromise, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [BIN, ...args], {
      env: {
        ...process.env,
        MCAPFLOW_HOME: home,
        MCAPFLOW_PREFIX: prefix,
        REDIS_URL: TEST_REDIS_URL,
        MCAPFLOW_SPAWN_REDIS: 'false',
        MCAPFLOW_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, peakRss(child.pid!))), 100);
    const killer = setTimeout(() => child.kill('SIGKILL'), TIME_LIMIT_MS);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', () => (peak = Math.max(peak, peakRss(child.pid!))));
    child.on('close', (code) => {
      clearInterval(sampler);
      clearTimeout(killer);
      resolvePromise({ code, stdout, stderr, ms: Date.now() - started, peakRss: peak });
    });
  });
}

function write(name: string, bytes: Uint8Array): string {
  const path = join(home, name);
  writeFileSync(path, bytes);
  return path;
}

async function bounded(args: string[]): Promise<BoundedRun> {
  const run = await runBounded(args);
  expect(run.ms, `took ${run.ms} ms`).toBeLessThan(TIME_LIMIT_MS);
  expect(run.peakRss, `peak RSS ${Math.round(run.peakRss / MiB)} MiB`).toBeLessThan(MEMORY_LIMIT_BYTES);
  expect(run.code, run.stderr).toBe(0);
  return run;
}

async function verdictOf(path: string) {
  return JSON.parse((await bounded(['process', path, '--json'])).stdout).recordings[0];
}

async function query(sql: string): Promise<{ columns: string[]; rows: unknown[][]; ms: number }> {
  const run = await bounded(['query', sql, '--json']);
  return { ...JSON.parse(run.stdout), ms: run.ms };
}

const STRING = { name: 'std_msgs/msg/String', text: 'string data\n' };

afterAll(async () => {
  await deleteRedisPrefix(prefix);
  rmSync(home, { recursive: true, force: true });
});

describe('hostile inputs through `mcapflow process` (60 s, 2 GiB)', () => {
  it('a 33 KB chunk that declares almost 1 GiB of zeros is refused without inflating it', async () => {
    const recording = await verdictOf(write('bomb-1g.mcap', zeroChunkBomb(1024 * MiB - 1024)));
    expect(recording).toMatchObject({ status: 'quarantined', messages: 0 });
    expect(recording.reason).toMatch(/declares 1073740800 uncompressed bytes, over the 268435456-byte limit \(MCAPFLOW_MAX_CHUNK_BYTES\)/);
  });

  it('a chunk that inflates to 256 MiB of zeros (30 million empty records) is walked in bounded memory', async () => {
    // Zero bytes frame records of an unknown opcode 0 with no content: 9 bytes each, all valid.
    const recording = await verdictOf(write('bomb-256m.mcap', zeroChunkBomb(9 * Math.floor((256 * MiB) / 9))));
    expect(recording).toMatchObject({ status: 'committed', recovered: false, messages: 0, topics: [] });
  });

  it('a chunk index that points past the end of the object is planned another way', async () => {
    const file = await buildTestRecording({ messagesPerTopic: 30, compression: 'zstd' });
    const broken = editChunkIndexes(file.bytes, (_entry, i) => (i === 0 ? { offset: BigInt(file.bytes.length) * 2n } : undefined));
    const recording = await verdictOf(write('index-past-end.mcap', broken));
    expect(recording).toMatchObject({ status: 'committed', recovered: false, messages: 60 });
  });

  it('a schema of 31 nested unbounded sequences, or one that doubles per level, is refused at planning in bounded time', async () => {
    const bytes = await recordingWith([
      { topic: '/chatter', schema: STRING, messages: [{ data: 'a' }, { data: 'b' }] },
      { topic: '/chain', schema: { ...sequenceChainSchema(31), name: 'deep_msgs/msg/Chain31' }, messages: [{ c: [] }] },
      { topic: '/doubling', schema: { ...doublingSchema(30), name: 'deep_msgs/msg/Doubling' }, messages: [] },
    ]);
    const recording = await verdictOf(write('deep-schemas.mcap', bytes));
    expect(recording).toMatchObject({ status: 'committed', messages: 3 });
    const byTopic = Object.fromEntries(recording.topics.map((t: { topic: string; status: string; reason: string | null }) => [t.topic, t]));
    expect(byTopic['/chatter']).toMatchObject({ status: 'ok', messages: 2 });
    expect(byTopic['/chain']).toMatchObject({ status: 'undecodable', reason: expect.stringMatching(/too complex to decode/) });
    expect(byTopic['/doubling']).toMatchObject({ status: 'undecodable', reason: expect.stringMatching(/too complex to decode/) });
  });

  it('schema names equal to the catalog tables but for case do not break SQL for anyone', async () => {
    const topics = ['Recordings', 'Topics', 'Messages'].map((name) => ({
      topic: `/${name.toLowerCase()}`,
      schema: { name, text: 'int32 x\n' },
      messages: [{ x: 1 }],
    }));
    const recording = await verdictOf(write('case-names.mcap', await recordingWith(topics)));
    expect(recording).toMatchObject({ status: 'committed', messages: 3 });
    expect(recording.topics.map((t: { table: string }) => t.table).sort()).toEqual(['Messages_schema', 'Recordings_schema', 'Topics_schema']);
    const answer = await query(
      `SELECT (SELECT count(*) FROM recordings WHERE recording_id = '${recording.recording_id}'), (SELECT count(*) FROM Recordings_schema)`,
    );
    expect(answer.rows).toEqual([[1, 1]]);
  });

  it('a recording with 20,000 channels commits, and queries stay fast afterwards', async () => {
    const recording = await verdictOf(write('many-channels.mcap', await manyChannels(20_000)));
    expect(recording).toMatchObject({ status: 'committed', messages: 20_000 });
    expect(recording.topics).toHaveLength(20_000);
    const answer = await query('SELECT 1');
    expect(answer.rows).toEqual([[1]]);
    // A whole CLI process, start-up included; the catalog used to take 31–40 s per query here.
    expect(answer.ms).toBeLessThan(15_000);
  });
});

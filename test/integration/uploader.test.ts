/**
 * The edge uploader (`upload --watch`, `serve --role uploader`) against a real s3rver over
 * loopback, with the fault proxy in between: it takes recordings only once complete, gets
 * each into the bucket exactly once through dropped connections and a kill -9, touches
 * local files only after the object's checksum is confirmed, honours a bandwidth limit, and
 * reports on /metrics.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, copyFileSync, existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registry } from '../../src/observability/metrics.ts';
import type { ObjectStore } from '../../src/storage/object-store.ts';
import { Uploader } from '../../src/uploader/uploader.ts';
import { fixture } from '../helpers/fixtures.ts';
import {
  cliEnv,
  forwarded,
  inProcessUploader,
  partNumberOf,
  sha256,
  spawnCli,
  startUploaderHarness,
  waitFor,
  type UploaderHarness,
} from '../helpers/uploader-harness.ts';

let harness: UploaderHarness;

beforeAll(async () => {
  harness = await startUploaderHarness('uploader');
});
afterAll(async () => harness?.close());

async function objectSha(key: string): Promise<string | undefined> {
  const body = await harness.direct.get('raw', key, 'derived');
  return body === undefined ? undefined : sha256(body);
}

async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const found = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const value = found?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return Number(value?.value ?? 0);
}

describe('edge uploader', () => {
  it('takes a finished file, a growing file once stable, and a .active file only once renamed (upload --watch)', async () => {
    const dir = harness.dir('watch1');
    const talker = fixture('talker').path;
    copyFileSync(talker, join(dir, 'done.mcap'));
    writeFileSync(join(dir, 'split_0.mcap.active'), readFileSync(fixture('cdr_test').path));
    writeFileSync(join(dir, 'notes.txt'), 'not a recording');
    const cli = spawnCli(
      ['upload', '--watch', dir, '--stable-ms', '1500', '--poll-ms', '100', '--json', '--prefix', 'w1/'],
      cliEnv(harness, harness.dir('home1')),
    );
    try {
      const lines = () =>
        cli
          .stdout()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { key: string; sha256: string; outcome: string });
      await waitFor('the finished file', () => lines().length > 0, 15_000);
      writeFileSync(join(dir, 'growing.mcap'), randomBytes(1000));
      // The growing file gets more bytes every 300 ms for 2.4 s: never stable meanwhile.
      for (let i = 0; i < 8; i++) {
        await new Promise((r) => setTimeout(r, 300));
        appendFileSync(join(dir, 'growing.mcap'), randomBytes(1000));
      }
      expect(lines().map((l) => l.key)).toEqual(['w1/done.mcap']);
      expect(lines()[0]!.sha256).toBe(sha256(readFileSync(talker)));
      expect(await harness.direct.head('raw', 'w1/growing.mcap')).toBeUndefined();
      // The .active file sat there longer than the stable time and was still not taken.
      expect(await harness.direct.head('raw', 'w1/split_0.mcap.active')).toBeUndefined();
      expect(await harness.direct.head('raw', 'w1/split_0.mcap')).toBeUndefined();
      const renamedAt = Date.now();
      renameSync(join(dir, 'split_0.mcap.active'), join(dir, 'split_0.mcap'));
      await waitFor('the renamed file', () => lines().some((l) => l.key === 'w1/split_0.mcap'), 10_000);
      // A rename is the recorder saying "done": no stable wait.
      expect(Date.now() - renamedAt).toBeLessThan(1500);
      await waitFor('the grown file', () => lines().some((l) => l.key === 'w1/growing.mcap'), 10_000);
      expect(await objectSha('w1/growing.mcap')).toBe(sha256(readFileSync(join(dir, 'growing.mcap'))));
      expect(await objectSha('w1/split_0.mcap')).toBe(sha256(readFileSync(fixture('cdr_test').path)));
      expect(await harness.direct.head('raw', 'w1/notes.txt')).toBeUndefined();
      expect(lines()).toHaveLength(3);
    } finally {
      cli.child.kill('SIGTERM');
    }
    expect(await cli.exited).toBe(0);
  }, 30_000);

  it('through connections dropped at random, every file arrives exactly once and intact', async () => {
    const dir = harness.dir('faults');
    const files = new Map<string, Buffer>();
    for (let i = 0; i < 6; i++) files.set(`f${i}.mcap`, randomBytes(256 * 1024 * (i + 1)));
    files.set('big.mcap', randomBytes(20 * 1024 * 1024)); // two parts
    for (const [name, data] of files) writeFileSync(join(dir, name), data);
    // A fixed pseudo-random schedule: about one request in three is reset before it reaches S3.
    let seed = 7;
    harness.setRule(() => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % 3 === 0 ? 'reset' : 'pass'));
    const start = harness.requests.length;
    const run = inProcessUploader(harness, { dir, home: harness.dir('home2'), prefix: 'faults/' });
    try {
      await waitFor('every file', () => run.uploader.queue.entries().filter((e) => e.state === 'cleaned').length === files.size, 40_000);
    } finally {
      await run.stop();
      harness.setRule(() => 'pass');
    }
    const requests = harness.requests.slice(start);
    const resets = requests.filter((r) => r.fault === 'reset').length;
    process.stdout.write(`dropped connections: ${resets} of ${requests.length} requests\n`);
    expect(resets).toBeGreaterThan(5);
    for (const [name, data] of files) {
      const key = `faults/${name}`;
      expect(await objectSha(key), key).toBe(sha256(data));
      expect((await harness.direct.head('raw', key))?.sha256).toBe(sha256(data));
      // One multipart upload created and completed per file, nothing sent whole besides.
      expect(forwarded(requests, 'create', key), key).toHaveLength(1);
      expect(forwarded(requests, 'complete', key), key).toHaveLength(1);
      expect(forwarded(requests, 'put', key), key).toHaveLength(0);
    }
    expect(await metric('mcapflow_uploader_retries_total')).toBeGreaterThan(0);
  }, 50_000);

  it('killed with -9 mid-file, resumes from the journal without resending a journaled part', async () => {
    const dir = harness.dir('kill');
    const home = harness.dir('home3');
    const data = randomBytes(40 * 1024 * 1024); // three parts of 16 MiB
    writeFileSync(join(dir, 'long.mcap'), data);
    const args = ['upload', '--watch', dir, '--stable-ms', '0', '--poll-ms', '100', '--json'];
    const first = spawnCli([...args, '--bandwidth', '24MB/s'], cliEnv(harness, home));
    const journals = join(home, 'uploads');
    const journaled = await waitFor('a journaled part', () => {
      const file = existsSync(journals) ? readdirSync(journals).find((f) => f.endsWith('.json')) : undefined;
      const parts = file ? (JSON.parse(readFileSync(join(journals, file), 'utf8')) as { parts: { partNumber: number }[] }).parts : [];
      return parts.length >= 1 && parts.map((p) => p.partNumber);
    });
    first.child.kill('SIGKILL');
    await first.exited;
    expect(first.stdout()).toBe('');
    expect(journaled.length).toBeLessThan(3);
    const start = harness.requests.length;
    const second = spawnCli(args, cliEnv(harness, home));
    try {
      await waitFor('the resumed upload', () => second.stdout().includes('"outcome"'), 20_000);
    } finally {
      second.child.kill('SIGTERM');
    }
    await second.exited;
    const result = JSON.parse(second.stdout().trim()) as { outcome: string; partsUploaded: number; sha256: string };
    expect(result.outcome).toBe('resumed');
    expect(result.sha256).toBe(sha256(data));
    const sent = forwarded(harness.requests.slice(start), 'part', 'long.mcap').map(partNumberOf);
    for (const part of journaled) expect(sent).not.toContain(part);
    expect(forwarded(harness.requests.slice(start), 'create', 'long.mcap')).toHaveLength(0);
    expect(await objectSha('long.mcap')).toBe(sha256(data));
  }, 40_000);

  it('stops within a few seconds of SIGTERM mid-part, and the next run finishes the file', async () => {
    const dir = harness.dir('term');
    const home = harness.dir('home9');
    const data = randomBytes(3 * 1024 * 1024);
    writeFileSync(join(dir, 'term.mcap'), data);
    const args = ['upload', '--watch', dir, '--stable-ms', '0', '--poll-ms', '100', '--json', '--prefix', 'term/'];
    const first = spawnCli([...args, '--bandwidth', '256KB/s'], cliEnv(harness, home));
    await waitFor('the part in flight', () => forwarded(harness.requests, 'create', 'term/term.mcap').length === 1, 15_000);
    await new Promise((r) => setTimeout(r, 500));
    const signalled = Date.now();
    first.child.kill('SIGTERM');
    expect(await first.exited, first.stderr()).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(4000);
    expect(await harness.direct.head('raw', 'term/term.mcap')).toBeUndefined();
    const second = spawnCli(args, cliEnv(harness, home));
    try {
      await waitFor('the finished upload', () => second.stdout().includes('"outcome"'), 15_000);
    } finally {
      second.child.kill('SIGTERM');
    }
    await second.exited;
    expect(await objectSha('term/term.mcap')).toBe(sha256(data));
  }, 40_000);

  it('deletes or moves a local file only after the checksum is confirmed, and keeps it when it does not match', async () => {
    const dir = harness.dir('after');
    const moved = harness.dir('after-moved');
    writeFileSync(join(dir, 'a.mcap'), randomBytes(300_000));
    const a = readFileSync(join(dir, 'a.mcap'));
    const del = inProcessUploader(harness, { dir, home: harness.dir('home4'), prefix: 'after/', after: 'delete' });
    await waitFor('the delete', () => !existsSync(join(dir, 'a.mcap')), 10_000).finally(() => del.stop());
    expect(await objectSha('after/a.mcap')).toBe(sha256(a));
    expect(del.uploader.queue.entries()).toEqual([]); // cleaned and gone: forgotten

    writeFileSync(join(dir, 'sub-b.mcap'), randomBytes(200_000));
    const b = readFileSync(join(dir, 'sub-b.mcap'));
    const move = inProcessUploader(harness, { dir, home: harness.dir('home5'), prefix: 'after/', after: 'move', moveDir: moved });
    await waitFor('the move', () => existsSync(join(moved, 'sub-b.mcap')), 10_000).finally(() => move.stop());
    expect(existsSync(join(dir, 'sub-b.mcap'))).toBe(false);
    expect(sha256(readFileSync(join(moved, 'sub-b.mcap')))).toBe(sha256(b));
    expect(await objectSha('after/sub-b.mcap')).toBe(sha256(b));

    // A bucket whose object does not carry the local file's sha256: nothing local is touched.
    writeFileSync(join(dir, 'c.mcap'), randomBytes(100_000));
    const failuresBefore = await metric('mcapflow_uploader_failures_total', { stage: 'confirm' });
    const store = harness.direct;
    const lying = new Proxy(store, {
      get(target, property) {
        if (property === 'head')
          return async (bucket: string, key: string) => {
            const info = await target.head(bucket, key);
            return info && { ...info, sha256: '0'.repeat(64) };
          };
        const value = Reflect.get(target, property) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    }) as ObjectStore;
    const uploader = new Uploader(lying, {
      dir,
      home: harness.dir('home6'),
      bucket: 'raw',
      prefix: 'after/',
      suffixes: ['.mcap'],
      stableMs: 0,
      pollMs: 50,
      after: 'delete',
      backoffMinMs: 50,
      backoffMaxMs: 100,
    });
    const controller = new AbortController();
    const running = uploader.run(controller.signal);
    await waitFor(
      'two failed confirmations',
      async () => (await metric('mcapflow_uploader_failures_total', { stage: 'confirm' })) >= failuresBefore + 2,
      10_000,
    );
    controller.abort();
    await running;
    expect(existsSync(join(dir, 'c.mcap'))).toBe(true);
    const entry = uploader.queue.get('c.mcap')!;
    expect(entry.state).toBe('uploading');
    expect(entry.lastError).toMatch(/does not match c\.mcap.*keeping the local file/);
  }, 30_000);

  it('a bandwidth limit of N B/s makes an upload take about size/N', async () => {
    const dir = harness.dir('bw');
    const size = 1024 * 1024;
    writeFileSync(join(dir, 'slow.mcap'), randomBytes(size));
    const limit = 512 * 1024;
    let doneAt = 0;
    let firstByteAt = 0;
    let lastByteAt = 0;
    const started = performance.now();
    const run = inProcessUploader(
      harness,
      { dir, home: harness.dir('home7'), prefix: 'bw/', bandwidth: limit },
      {
        onFileDone: () => (doneAt = performance.now()),
        onBytesSent: () => ((firstByteAt ||= performance.now()), (lastByteAt = performance.now())),
      },
    );
    await waitFor('the upload', () => doneAt > 0, 10_000).finally(() => run.stop());
    const total = (doneAt - started) / 1000;
    // The body is paced in slices of 1/20 s; the first one leaves after its own wait.
    const pacing = (lastByteAt - firstByteAt) / 1000;
    const expected = size / limit;
    process.stdout.write(
      `bandwidth limit ${limit} B/s, ${size} bytes: ${total.toFixed(2)} s in all, body paced over ${pacing.toFixed(2)} s (expected ${expected.toFixed(2)} s)\n`,
    );
    expect(pacing).toBeGreaterThan((expected - 0.05) * 0.95);
    expect(pacing).toBeLessThan(expected * 1.1);
    expect(total).toBeLessThan(expected * 1.5);
  }, 20_000);

  it('serve --role uploader runs without Redis and reports on /metrics', async () => {
    const dir = harness.dir('serve');
    writeFileSync(join(dir, 'svc.mcap'), readFileSync(fixture('talker').path));
    const env = cliEnv(harness, harness.dir('home8'), {
      MCAPFLOW_UPLOAD_WATCH_DIR: dir,
      MCAPFLOW_UPLOAD_STABLE_MS: '200',
      MCAPFLOW_UPLOAD_POLL_MS: '100',
      MCAPFLOW_HTTP_PORT: '0',
      MCAPFLOW_UPLOAD_PREFIX: 'svc/',
    });
    const serve = spawnCli(['serve', '--role', 'uploader'], env);
    try {
      const url = await waitFor('serving', () => /"http":"([^"]+)"[^\n]*"msg":"mcapflow serving"/.exec(serve.stderr())?.[1], 20_000);
      await waitFor('the upload', () => serve.stderr().includes('"msg":"recording uploaded"'), 15_000);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(/^mcapflow_uploader_files_total\{outcome="uploaded"\} 1$/m);
      expect(metrics).toMatch(new RegExp(`^mcapflow_uploader_bytes_total ${readFileSync(fixture('talker').path).length}$`, 'm'));
      expect(metrics).toMatch(/^mcapflow_uploader_backlog_files 0$/m);
      expect(metrics).toMatch(/^mcapflow_uploader_retries_total 0$/m);
      expect(metrics).toMatch(/^mcapflow_uploader_failures_total\{stage="upload"\} 0$/m);
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await objectSha('svc/svc.mcap')).toBe(sha256(readFileSync(fixture('talker').path)));
    } finally {
      serve.child.kill('SIGTERM');
    }
    expect(await serve.exited).toBe(0);
  }, 30_000);
});

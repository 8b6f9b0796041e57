/**
 * For the edge uploader's tests: an embedded S3 server (s3rver, its own credentials) behind
 * the fault proxy, a log of the requests the proxy forwarded or dropped, a store that talks
 * to the server directly (to check what arrived), and the uploader run in-process or as the
 * real CLI.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { embeddedS3Credentials, type S3Credentials } from '../../src/embedded/s3-credentials.ts';
import { startEmbeddedS3, type EmbeddedS3 } from '../../src/embedded/s3-server.ts';
import { S3Store } from '../../src/storage/s3-store.ts';
import { Uploader, type UploaderHooks, type UploaderOptions } from '../../src/uploader/uploader.ts';
import { startFaultProxy, type Fault, type FaultProxy } from './fault-proxy.ts';
import { BIN } from './serve-process.ts';

export interface ProxiedRequest {
  method: string;
  url: string;
  fault: Fault;
}

export interface UploaderHarness {
  root: string;
  s3: EmbeddedS3;
  proxy: FaultProxy;
  credentials: S3Credentials;
  /** Every request that reached the proxy, with what the proxy did to it. */
  requests: ProxiedRequest[];
  /** Decides faults; the log above is kept whatever it returns. */
  setRule(rule: (req: ProxiedRequest) => Fault): void;
  /** A store on the server itself, past the proxy. */
  direct: S3Store;
  /** A fresh directory under the harness root. */
  dir(name: string): string;
  close(): Promise<void>;
}

export async function startUploaderHarness(label: string): Promise<UploaderHarness> {
  const root = mkdtempSync(join(tmpdir(), `mcapflow-${label}-`));
  const credentials = embeddedS3Credentials(join(root, 'server'), { create: true });
  const s3 = await startEmbeddedS3({ directory: join(root, 'server', 's3'), port: 0, buckets: ['raw', 'derived'], credentials });
  const proxy = await startFaultProxy(s3.endpoint, { stallMs: 2000 });
  const requests: ProxiedRequest[] = [];
  let decide: (req: ProxiedRequest) => Fault = () => 'pass';
  proxy.rule = (req) => {
    const logged: ProxiedRequest = { method: req.method ?? '', url: req.url ?? '', fault: 'pass' };
    logged.fault = decide(logged);
    requests.push(logged);
    return logged.fault;
  };
  const direct = new S3Store({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
  return {
    root,
    s3,
    proxy,
    credentials,
    requests,
    direct,
    setRule: (rule) => (decide = rule),
    dir(name) {
      const path = join(root, name);
      mkdirSync(path, { recursive: true });
      return path;
    },
    async close() {
      direct.close();
      await proxy.close();
      await s3.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Multipart steps the server actually received (forwarded by the proxy), per object key. */
export function forwarded(requests: ProxiedRequest[], step: 'create' | 'complete' | 'part' | 'put', key: string): ProxiedRequest[] {
  return requests.filter((r) => {
    if (r.fault !== 'pass') return false;
    const [path, query = ''] = r.url.split('?');
    if (decodeURIComponent(path!) !== `/raw/${key}`) return false;
    if (step === 'create') return r.method === 'POST' && /(^|&)uploads(=|&|$)/.test(query);
    if (step === 'complete') return r.method === 'POST' && /uploadId=/.test(query);
    if (step === 'part') return r.method === 'PUT' && /partNumber=/.test(query);
    return r.method === 'PUT' && !/partNumber=/.test(query);
  });
}

export function partNumberOf(request: ProxiedRequest): number {
  return Number(/partNumber=([0-9]+)/.exec(request.url)![1]);
}

/** The uploader in this process, against the proxy. */
export function inProcessUploader(
  harness: UploaderHarness,
  options: Partial<UploaderOptions> & { dir: string; home: string },
  hooks: UploaderHooks = {},
): { uploader: Uploader; store: S3Store; stop(): Promise<void> } {
  const store = new S3Store({
    endpoint: harness.proxy.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: harness.credentials,
    maxAttempts: 1,
    requestTimeoutMs: 5000,
  });
  const uploader = new Uploader(
    store,
    { bucket: 'raw', prefix: '', suffixes: ['.mcap'], stableMs: 0, pollMs: 50, after: 'keep', backoffMinMs: 50, backoffMaxMs: 400, ...options },
    hooks,
  );
  const controller = new AbortController();
  const running = uploader.run(controller.signal);
  return {
    uploader,
    store,
    async stop() {
      controller.abort();
      await running;
      store.close();
    },
  };
}

/** The environment of a CLI process talking to the harness's server (through the proxy unless `direct`). */
export function cliEnv(harness: UploaderHarness, home: string, extra: Record<string, string> = {}, direct = false): NodeJS.ProcessEnv {
  return {
    ...process.env,
    MCAPFLOW_HOME: home,
    S3_ENDPOINT: direct ? harness.s3.endpoint : harness.proxy.endpoint,
    AWS_ACCESS_KEY_ID: harness.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: harness.credentials.secretAccessKey,
    MCAPFLOW_LOG_LEVEL: 'info',
    MCAPFLOW_SPAWN_REDIS: 'false',
    // No Redis answers here: the uploader must not need one.
    REDIS_URL: 'redis://127.0.0.1:1',
    ...extra,
  };
}

export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or signal). */
  exited: Promise<number | string | null>;
}

export function spawnCli(args: string[], env: NodeJS.ProcessEnv): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | string | null>((resolve) => child.once('close', (code, signal) => resolve(code ?? signal)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

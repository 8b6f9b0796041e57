/**
 * `mcapflow serve` as a separate process on the embedded default (its own s3rver under a
 * temp MCAPFLOW_HOME, the machine's Redis under a test prefix), and the CLI run against it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deleteRedisPrefix, TEST_REDIS_URL, uniquePrefix } from './pipeline-harness.ts';

export const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/mcapflow.js');

export interface ServeProcess {
  home: string;
  prefix: string;
  url: string;
  stderr(): string;
  env: NodeJS.ProcessEnv;
  /** Runs a CLI command against this serve; resolves with its exit code and output. */
  cli(args: string[], extraEnv?: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** Starts a CLI command and returns the child (to kill it mid-way). */
  spawnCli(args: string[]): ChildProcess;
  stop(): Promise<void>;
}

export async function startServe(label: string, extraEnv: Record<string, string> = {}): Promise<ServeProcess> {
  const home = mkdtempSync(join(tmpdir(), `mcapflow-${label}-`));
  const prefix = uniquePrefix(label);
  const env = {
    ...process.env,
    MCAPFLOW_HOME: home,
    MCAPFLOW_PREFIX: prefix,
    REDIS_URL: TEST_REDIS_URL,
    MCAPFLOW_SPAWN_REDIS: 'false',
    MCAPFLOW_LOG_LEVEL: 'info',
    MCAPFLOW_HTTP_PORT: '0',
    ...extraEnv,
  };
  const child = spawn(process.execPath, [BIN, 'serve'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 30_000);
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const match = /"http":"([^"]+)"[^\n]*"msg":"mcapflow serving"/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]!);
      }
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
  const cliEnv = { ...env, MCAPFLOW_LOG_LEVEL: 'warn' };
  const spawnCli = (args: string[], more: Record<string, string> = {}) =>
    spawn(process.execPath, [BIN, ...args], { env: { ...cliEnv, ...more }, stdio: ['ignore', 'pipe', 'pipe'] });
  return {
    home,
    prefix,
    url,
    env: cliEnv,
    stderr: () => stderr,
    spawnCli: (args) => spawnCli(args),
    cli(args, more = {}) {
      return new Promise((resolveRun, reject) => {
        const cli = spawnCli(args, more);
        let out = '';
        let err = '';
        cli.stdout.on('data', (d: Buffer) => (out += d.toString()));
        cli.stderr.on('data', (d: Buffer) => (err += d.toString()));
        cli.on('error', reject);
        cli.on('close', (code) => resolveRun({ code, stdout: out, stderr: err }));
      });
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await deleteRedisPrefix(prefix);
      rmSync(home, { recursive: true, force: true });
    },
  };
}

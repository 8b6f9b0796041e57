/**
 * Starts a private redis-server when none answers at REDIS_URL: AOF persistence under
 * MCAPFLOW_HOME and the noeviction policy BullMQ needs.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { McapflowError } from '../errors.ts';
import { redisAnswers } from '../queue/redis.ts';

export interface SpawnedRedis {
  url: string;
  stop(): Promise<void>;
}

function redisServerOnPath(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || host === '[::1]';
}

export async function spawnRedis(url: string, dataDir: string): Promise<SpawnedRedis> {
  const parsed = new URL(url);
  if (!isLoopback(parsed.hostname)) {
    throw new McapflowError('REDIS_UNAVAILABLE', `no Redis answers at ${url}, and it is not a loopback address mcapflow could start one on`);
  }
  if (!redisServerOnPath()) {
    throw new McapflowError('REDIS_UNAVAILABLE', `no Redis answers at ${url} and redis-server is not on PATH; start Redis or set REDIS_URL`);
  }
  mkdirSync(dataDir, { recursive: true });
  const port = parsed.port === '' ? '6379' : parsed.port;
  const child: ChildProcess = spawn(
    'redis-server',
    [
      '--port',
      port,
      '--bind',
      '127.0.0.1',
      '--dir',
      dataDir,
      '--appendonly',
      'yes',
      '--save',
      '',
      '--maxmemory-policy',
      'noeviction',
      '--logfile',
      join(dataDir, 'redis.log'),
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!(await redisAnswers(url, 500))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new McapflowError('REDIS_UNAVAILABLE', `started redis-server on port ${port} but it did not answer; see ${join(dataDir, 'redis.log')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

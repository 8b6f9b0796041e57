/**
 * The running `serve` of an MCAPFLOW_HOME, found by other commands in other terminals: it
 * hosts the embedded S3 server (whose upload events drive the pipeline) and the admin API.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LocalServer {
  pid: number;
  /** Embedded S3 endpoint, when that serve hosts one. */
  s3Endpoint?: string | undefined;
  /** Its HTTP server (admin API when it runs the admin role). */
  httpUrl: string;
}

const FILE = 'server.json';

export function registerLocalServer(home: string, server: LocalServer): void {
  writeFileSync(join(home, FILE), `${JSON.stringify(server, null, 2)}\n`);
}

export function unregisterLocalServer(home: string): void {
  const path = join(home, FILE);
  if (existsSync(path) && findLocalServer(home)?.pid === process.pid) rmSync(path, { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The registered serve of this home, if its process is still running. */
export function findLocalServer(home: string): LocalServer | undefined {
  const path = join(home, FILE);
  if (!existsSync(path)) return undefined;
  try {
    const server = JSON.parse(readFileSync(path, 'utf8')) as LocalServer;
    return alive(server.pid) && server.pid !== process.pid ? server : undefined;
  } catch {
    return undefined;
  }
}

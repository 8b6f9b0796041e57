/**
 * A query sandbox: a child process of the admin role that runs one untrusted statement at a
 * time in its own DuckDB instance. It exists so that a statement DuckDB cannot interrupt
 * (constant folding, planning of deeply nested expressions, one long scalar call) or one
 * that exhausts memory costs a killed child, never the admin process: the parent kills it at
 * the deadline or when the client goes away, and starts a fresh one.
 */
import { rmSync } from 'node:fs';
import { describeError, isMcapflowError } from '../errors.ts';
import { QueryEngine } from './query-engine.ts';
import type { SandboxReady, SandboxReply, SandboxRequest } from './sandbox-protocol.ts';

function send(message: SandboxReply | SandboxReady): void {
  process.send?.(message);
}

async function answer(request: SandboxRequest): Promise<SandboxReply> {
  let engine: QueryEngine | undefined;
  try {
    engine = await QueryEngine.open(request.catalog, request.settings);
    return { id: request.id, ok: true, json: await engine.runSandboxed(request.sql, request.sandbox) };
  } catch (error) {
    return { id: request.id, ok: false, code: isMcapflowError(error) ? error.code : 'QUERY_FAILED', message: describeError(error) };
  } finally {
    engine?.close();
    rmSync(request.settings.tempDirectory, { recursive: true, force: true });
  }
}

process.on('message', (request: SandboxRequest) => {
  void answer(request).then(send);
});
// The admin process is gone: nobody will read an answer. Not process.exit(): it would wait
// for DuckDB to finish the statement it is running.
process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
send({ ready: true });

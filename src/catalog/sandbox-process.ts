/**
 * A query sandbox: a child process of the admin role that runs one untrusted statement at a
 * time in its own DuckDB instance, kept open between statements. It exists so that a statement DuckDB cannot interrupt
 * (constant folding, planning of deeply nested expressions, one long scalar call) or one
 * that exhausts memory costs a killed child, never the admin process: the parent kills it at
 * the deadline or when the client goes away, and starts a fresh one.
 */
import { describeError, isMcapflowError } from '../errors.ts';
import { QueryEngine } from './query-engine.ts';
import type { SandboxReady, SandboxReply, SandboxRequest } from './sandbox-protocol.ts';

function send(message: SandboxReply | SandboxReady): void {
  process.send?.(message);
}

/**
 * The engine of the last statement stays open: the next one with the same catalog version only
 * swaps its views (the objects its predicates need), skipping DuckDB's start and the
 * `recordings`/`topics` load. A new version (a commit landed) opens a new one.
 */
let warm: { version: string; engine: QueryEngine } | undefined;

async function engineFor(request: SandboxRequest): Promise<{ engine: QueryEngine; reused: boolean }> {
  if (warm !== undefined && warm.version === request.catalog.version) {
    try {
      await warm.engine.replaceViews(request.catalog.views);
      return { engine: warm.engine, reused: true };
    } catch (error) {
      warm.engine.close();
      warm = undefined;
      throw error;
    }
  }
  warm?.engine.close();
  warm = undefined;
  const engine = await QueryEngine.open(request.catalog, request.settings);
  warm = { version: request.catalog.version, engine };
  return { engine, reused: false };
}

async function answer(request: SandboxRequest): Promise<SandboxReply> {
  if (request.rowsOmitted === true && warm?.version !== request.catalog.version)
    return {
      id: request.id,
      ok: false,
      code: 'INTERNAL',
      message: 'the catalog rows were left out, but this sandbox has no engine of that version',
      needsRows: true,
    };
  try {
    const { engine, reused } = await engineFor(request);
    return { id: request.id, ok: true, json: await engine.runSandboxed(request.sql, request.sandbox), reused };
  } catch (error) {
    return { id: request.id, ok: false, code: isMcapflowError(error) ? error.code : 'QUERY_FAILED', message: describeError(error) };
  }
}

process.on('message', (request: SandboxRequest) => {
  void answer(request).then(send);
});
// The admin process is gone: nobody will read an answer. Not process.exit(): it would wait
// for DuckDB to finish the statement it is running.
process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
send({ ready: true });

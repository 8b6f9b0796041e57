/**
 * A fixed number of query sandboxes (sandbox-process.ts), each a child process that runs one
 * statement at a time. Measured on DuckDB 1.5 (docs/reliability.md): its interrupt is only
 * looked at between pipeline steps, so constant folding during prepare, the binding of a
 * deeply nested json_transform or one long levenshtein call run to the end whatever the
 * deadline. Killing the process is the one stop that always works, so that is the deadline.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { McapflowError } from '../errors.ts';
import { queryEnginesTotal } from '../observability/metrics.ts';
import type { SandboxReady, SandboxReply, SandboxRequest } from './sandbox-protocol.ts';

const CHILD_MODULE = fileURLToPath(new URL(`./sandbox-process${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));
/** Sources run through tsx (bin/mcapflow.js); a child needs the loader too. */
const LOADER = import.meta.url.endsWith('.ts') ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href] : [];
const STDERR_TAIL_BYTES = 4096;

/** Why a statement did not get an answer from its sandbox. */
export type SandboxStop = 'timeout' | 'cancelled' | 'closed';

export class SandboxStopped extends McapflowError {
  constructor(
    readonly stop: SandboxStop,
    message: string,
  ) {
    super(stop === 'timeout' ? 'QUERY_TIMEOUT' : stop === 'closed' ? 'QUERY_BUSY' : 'QUERY_FAILED', message, { retryable: stop !== 'timeout' });
  }
}

/** One child process and the statement it is running. */
class SandboxProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  #stderr = '';
  #exited = false;
  #killed = false;
  #onExit: ((description: string) => void) | undefined;
  #onReply: ((reply: SandboxReply) => void) | undefined;

  /** Where this process's DuckDB spills, for as long as it lives (its engine stays open between statements). */
  readonly tempDirectory: string;

  constructor(heapMb: number, tempDirectory: string) {
    this.tempDirectory = tempDirectory;
    this.child = fork(CHILD_MODULE, [], {
      execArgv: [...LOADER, `--max-old-space-size=${heapMb}`],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      // Nothing secret reaches SQL: the sandbox gets no tokens or credentials.
      env: Object.fromEntries(['PATH', 'TMPDIR', 'TZ'].filter((name) => process.env[name] !== undefined).map((name) => [name, process.env[name]])),
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.#stderr = (this.#stderr + d.toString()).slice(-STDERR_TAIL_BYTES)));
    this.ready = new Promise((resolve, reject) => {
      this.child.on('message', (message: SandboxReply | SandboxReady) => {
        if ('ready' in message) resolve();
        else this.#onReply?.(message);
      });
      this.child.once('exit', (code, signal) => {
        this.#exited = true;
        const description = `the query sandbox process exited (${signal ?? `code ${code}`})${this.#stderr.trim() ? `: ${this.#stderr.trim().split('\n').slice(0, 3).join(' ')}` : ''}`;
        reject(new McapflowError('QUERY_FAILED', description));
        this.#onExit?.(description);
      });
    });
    this.ready.catch(() => {});
    this.idle();
  }

  get alive(): boolean {
    return !this.#exited && !this.#killed;
  }

  get heapExhausted(): boolean {
    return /heap out of memory|Reached heap limit/i.test(this.#stderr);
  }

  /** The catalog version of the engine this process keeps open after its last answer, as far as the parent knows. */
  #engineVersion: string | undefined;

  /**
   * The reply to `request`; rejects when the process exits first. The catalog's rows are sent
   * only when the process's open engine is of another version (thousands of recordings' rows
   * cost more to send than most statements to run), and again if it says it has none.
   */
  async run(request: SandboxRequest): Promise<SandboxReply> {
    const { version } = request.catalog;
    let reply =
      this.#engineVersion === version
        ? await this.#send({ ...request, catalog: { ...request.catalog, recordings: [], topics: [] }, rowsOmitted: true })
        : undefined;
    if (reply === undefined || (!reply.ok && reply.needsRows === true)) reply = await this.#send(request);
    this.#engineVersion = reply.ok ? version : undefined;
    return reply;
  }

  #send(request: SandboxRequest): Promise<SandboxReply> {
    this.busy();
    return new Promise<SandboxReply>((resolve, reject) => {
      if (this.#exited) return reject(new McapflowError('QUERY_FAILED', 'the query sandbox process is gone'));
      this.#onReply = (reply) => reply.id === request.id && resolve(reply);
      this.#onExit = (description) => reject(new McapflowError('QUERY_FAILED', description));
      this.child.send(request);
    }).finally(() => {
      this.#onReply = undefined;
      this.#onExit = undefined;
      this.idle();
    });
  }

  /** An idle sandbox never keeps the admin process alive. */
  idle(): void {
    this.child.unref();
    (this.child.channel as { unref?: () => void } | undefined)?.unref?.();
  }

  busy(): void {
    this.child.ref();
    (this.child.channel as { ref?: () => void } | undefined)?.ref?.();
  }

  /** Stops it at once; resolves when it is gone. */
  kill(): Promise<void> {
    this.#killed = true;
    if (this.#exited) return Promise.resolve();
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGKILL');
    return gone;
  }
}

export interface SandboxPoolOptions {
  /** Sandboxes, so statements at once; the rest are refused. */
  size: number;
  /** JavaScript heap of each sandbox (MiB): bounds the rows it converts to JSON. */
  heapMb: number;
}

/** A sandbox slot, held for the whole of one statement. */
export class SandboxSlot {
  readonly #pool: SandboxPool;
  readonly index: number;
  #process: SandboxProcess | undefined;
  busy = false;

  constructor(pool: SandboxPool, index: number) {
    this.#pool = pool;
    this.index = index;
  }

  /** Starts this slot's process ahead of use (after a kill, so the next statement finds one ready). */
  warm(): SandboxProcess {
    if (this.#process === undefined || !this.#process.alive) this.#process = new SandboxProcess(this.#pool.options.heapMb, this.#pool.nextTempDirectory(this));
    return this.#process;
  }

  /** The spill directory of the process that will run this slot's next statement. */
  get tempDirectory(): string {
    return this.warm().tempDirectory;
  }

  /**
   * The JSON answer of `request`, or a SandboxStopped when its deadline passes (`timeoutMs`
   * from now, covering the sandbox's start, catalog load, parse, planning, execution and
   * conversion), when `signal` aborts or when the pool closes: then the process is killed.
   */
  async run(request: SandboxRequest, timeoutMs: number, signal: AbortSignal | undefined): Promise<string> {
    if (this.#pool.closed) throw new SandboxStopped('closed', 'the admin process is shutting down; retry the query on another one');
    const sandbox = this.warm();
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const stopped = new Promise<never>((_, reject) => {
      const stop = (why: SandboxStop, message: string) => {
        reject(new SandboxStopped(why, message));
        void this.#kill(sandbox);
      };
      timer = setTimeout(() => stop('timeout', `the query ran longer than its ${timeoutMs} ms limit (MCAPFLOW_QUERY_TIMEOUT_MS) and was stopped`), timeoutMs);
      onAbort = () => stop('cancelled', 'the client went away; the query was stopped');
      if (signal?.aborted) onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#pool.onClose(this, () => stop('closed', 'the admin process is shutting down; the query was stopped, retry it on another one'));
    });
    stopped.catch(() => {});
    try {
      const reply = await Promise.race([sandbox.ready.then(() => sandbox.run(request)), stopped]);
      if (reply.ok) {
        queryEnginesTotal.inc({ engine: reply.reused ? 'warm' : 'opened' });
        return reply.json;
      }
      throw new McapflowError(reply.code, reply.message);
    } catch (error) {
      if (error instanceof SandboxStopped || sandbox.alive) throw error;
      // It died on its own (out of memory, a crash in DuckDB): the next statement gets a new one.
      if (!this.#pool.closed) this.warm();
      if (!sandbox.heapExhausted) throw error;
      throw new McapflowError(
        'QUERY_TOO_LARGE',
        `converting the answer needed more than the sandbox's ${this.#pool.options.heapMb} MiB of memory; select fewer rows or columns (LIMIT), or aggregate`,
      );
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      this.#pool.onClose(this, undefined);
      // A sandbox that died could not clean up after itself.
      if (!sandbox.alive) rmSync(sandbox.tempDirectory, { recursive: true, force: true });
    }
  }

  async #kill(sandbox: SandboxProcess): Promise<void> {
    // Forgotten at once: the next statement must not be handed a process on its way out.
    if (this.#process === sandbox) this.#process = undefined;
    await sandbox.kill();
    rmSync(sandbox.tempDirectory, { recursive: true, force: true });
    if (!this.#pool.closed && this.#process === undefined) this.warm();
  }

  release(): void {
    this.busy = false;
  }

  /** Kills this slot's process, if any, and removes its spill directory. */
  async stop(): Promise<void> {
    const sandbox = this.#process;
    if (sandbox === undefined) return;
    await sandbox.kill();
    rmSync(sandbox.tempDirectory, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Spill directories of admin processes that died without cleaning up (`<pid>-<slot>`). */
function removeStaleTempDirectories(tempRoot: string): void {
  let entries: string[];
  try {
    entries = readdirSync(tempRoot);
  } catch {
    return;
  }
  for (const entry of entries) {
    const pid = Number(/^(\d+)-/.exec(entry)?.[1]);
    if (Number.isInteger(pid) && pid !== process.pid && !isAlive(pid)) rmSync(join(tempRoot, entry), { recursive: true, force: true });
  }
}

/** At most `size` sandboxed statements at once, each in its own child process. */
export class SandboxPool {
  readonly options: SandboxPoolOptions;
  readonly #slots: SandboxSlot[];
  readonly #onClose = new Map<SandboxSlot, () => void>();
  readonly #tempRoot: string;
  #closed = false;
  readonly #killOnExit = () => {
    for (const slot of this.#slots) void slot.stop();
  };

  constructor(options: SandboxPoolOptions, tempRoot: string) {
    this.options = options;
    this.#tempRoot = tempRoot;
    this.#slots = Array.from({ length: options.size }, (_, i) => new SandboxSlot(this, i));
    removeStaleTempDirectories(tempRoot);
    // If the admin process exits without closing the pool, its sandboxes go with it.
    process.once('exit', this.#killOnExit);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A free slot, or undefined when `size` statements are running. */
  tryAcquire(): SandboxSlot | undefined {
    if (this.#closed) return undefined;
    const slot = this.#slots.find((s) => !s.busy);
    if (slot) slot.busy = true;
    return slot;
  }

  #processes = 0;

  /** Where a new sandbox process of `slot` spills (`<pid>-<slot>-<n>`); removed when it stops. */
  nextTempDirectory(slot: SandboxSlot): string {
    return join(this.#tempRoot, `${process.pid}-${slot.index}-${(this.#processes += 1)}`);
  }

  onClose(slot: SandboxSlot, stop: (() => void) | undefined): void {
    if (stop === undefined) this.#onClose.delete(slot);
    else this.#onClose.set(slot, stop);
  }

  /** Stops every running statement and every sandbox process. */
  async close(): Promise<void> {
    this.#closed = true;
    process.off('exit', this.#killOnExit);
    for (const stop of this.#onClose.values()) stop();
    await Promise.all(this.#slots.map((s) => s.stop()));
  }
}

/**
 * The edge uploader: watches a directory on the robot and gets every finished recording into
 * the bucket exactly once, over a link that comes and goes. Each pass scans the directory,
 * takes the first complete recording that is not confirmed yet, and moves it one durable
 * state further (upload-queue.ts). Any failure — offline, S3 errors, a checksum that does not
 * match — backs that file off exponentially with jitter up to a cap, forever: there is no one
 * on the robot to restart it.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { validateObjectKey } from '../domain/object-keys.ts';
import { describeError, McapflowError } from '../errors.ts';
import { uploaderBacklogBytes, uploaderBacklogFiles, uploaderBytes, uploaderFailures, uploaderFiles, uploaderRetries } from '../observability/metrics.ts';
import { uploadFile, type FileUploadResult } from '../storage/file-upload.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { afterUpload, type AfterUpload } from './after-upload.ts';
import { pacedBodies, TokenBucket } from './bandwidth.ts';
import { CompletionTracker, scanDirectory, type FileSighting } from './completion.ts';
import { UploadQueue, type QueueEntry } from './upload-queue.ts';

export interface UploaderOptions {
  dir: string;
  bucket: string;
  prefix: string;
  suffixes: string[];
  /** A file unchanged this long is complete (a rename from a temporary name is at once). */
  stableMs: number;
  pollMs: number;
  after: AfterUpload;
  moveDir?: string | undefined;
  /** Bytes per second; undefined: unlimited. */
  bandwidth?: number | undefined;
  /** $MCAPFLOW_HOME: the queue lives in uploader/, part journals in uploads/. */
  home: string;
  backoffMinMs: number;
  backoffMaxMs: number;
}

export interface UploadedFile extends FileUploadResult {
  source: string;
  uri: string;
  after: AfterUpload;
}

export interface UploaderStatus {
  done: number;
  backlog: number;
  backlogBytes: number;
  failures: number;
  current?: { name: string; sent: number; size: number } | undefined;
  /** Set while every file waits for a retry: the link is probably down. */
  lastError?: string | undefined;
}

export interface UploaderHooks {
  onFileDone?(file: UploadedFile): void;
  onFailure?(name: string, error: unknown, retryInMs: number): void;
  /** Every byte of part bodies as it is sent (for rates). */
  onBytesSent?(n: number): void;
}

/** Exponential backoff with "equal jitter": between half and all of min·2^(n-1), capped. */
export function backoffDelay(failures: number, minMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.max(0, failures - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export class Uploader {
  readonly queue: UploadQueue;
  readonly #store: ObjectStore;
  readonly #options: UploaderOptions;
  readonly #hooks: UploaderHooks;
  readonly #tracker: CompletionTracker;
  readonly #bucket: TokenBucket | undefined;
  /** In-memory only: a restart retries at once, which is what a reboot after an outage wants. */
  readonly #retries = new Map<string, { failures: number; at: number }>();
  readonly #status: UploaderStatus = { done: 0, backlog: 0, backlogBytes: 0, failures: 0 };
  #signal: AbortSignal | undefined;

  constructor(store: ObjectStore, options: UploaderOptions, hooks: UploaderHooks = {}) {
    this.#store = store;
    this.#options = options;
    this.#hooks = hooks;
    this.queue = UploadQueue.open(join(options.home, 'uploader'), options.dir);
    this.#tracker = new CompletionTracker({ stableMs: options.stableMs, suffixes: options.suffixes });
    this.#bucket = options.bandwidth === undefined ? undefined : new TokenBucket(options.bandwidth);
  }

  status(): UploaderStatus {
    return { ...this.#status, current: this.#status.current && { ...this.#status.current } };
  }

  /** Runs until `signal` aborts (between steps; an interrupted part is resumed next time). */
  async run(signal: AbortSignal): Promise<void> {
    this.#signal = signal;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const { next, wakeInMs } = this.#scan();
        if (next === undefined) await sleep(Math.min(this.#options.pollMs, wakeInMs), undefined, { signal }).catch(() => {});
        else await this.#advance(next.file, next.entry);
        failures = 0;
      } catch (error) {
        // The directory or the queue's disk misbehaving (unmounted, full) must not end the service.
        failures += 1;
        const delay = backoffDelay(failures, this.#options.backoffMinMs, this.#options.backoffMaxMs);
        this.#hooks.onFailure?.(this.#options.dir, error, delay);
        await sleep(delay, undefined, { signal }).catch(() => {});
      }
    }
  }

  /** One scan: refreshes the queue and the backlog, and picks the next file due. */
  #scan(): { next?: { file: FileSighting; entry: QueueEntry }; wakeInMs: number } {
    const exclude = this.#options.after === 'move' ? this.#options.moveDir : undefined;
    const files = scanDirectory(this.#options.dir, exclude);
    const judged = new Set(this.#tracker.observe(files));
    // A file queued before a restart, unchanged since, was judged complete then: no new stable wait.
    const complete = files.filter((f) => {
      if (judged.has(f)) return true;
      const entry = this.queue.get(f.name);
      return entry !== undefined && entry.state !== 'cleaned' && entry.size === f.size && entry.mtimeMs === f.mtimeMs;
    });
    const now = performance.now();
    let wakeInMs = Number.POSITIVE_INFINITY;
    let next: { file: FileSighting; entry: QueueEntry } | undefined;
    let backlog = 0;
    let backlogBytes = 0;
    for (const file of complete) {
      let entry = this.queue.get(file.name);
      const sameVersion = entry !== undefined && entry.size === file.size && entry.mtimeMs === file.mtimeMs;
      if (entry?.state === 'cleaned' && sameVersion) continue;
      if (!sameVersion) {
        // New, or rewritten since it was queued: this version starts from the beginning.
        let key: string;
        try {
          key = validateObjectKey(`${this.#options.prefix}${file.name}`);
        } catch (error) {
          if (!this.#retries.has(file.name)) this.#hooks.onFailure?.(file.name, error, Number.POSITIVE_INFINITY);
          this.#retries.set(file.name, { failures: 1, at: Number.POSITIVE_INFINITY });
          continue; // A name S3 cannot take is reported once and left alone.
        }
        entry = this.queue.put({ name: file.name, key, size: file.size, mtimeMs: file.mtimeMs, state: 'pending', failures: entry?.failures ?? 0 });
      }
      backlog += 1;
      backlogBytes += file.size;
      const retryAt = this.#retries.get(file.name)?.at ?? 0;
      if (retryAt > now) wakeInMs = Math.min(wakeInMs, retryAt - now);
      else next ??= { file, entry: entry! };
    }
    // Entries of files gone from the directory (deleted or moved by us, even just before a
    // crash, or removed by someone else) have nothing left to do.
    const present = new Set(files.map((f) => f.name));
    this.queue.prune((entry) => present.has(entry.name));
    Object.assign(this.#status, { backlog, backlogBytes });
    uploaderBacklogFiles.set(backlog);
    uploaderBacklogBytes.set(backlogBytes);
    return { ...(next ? { next } : {}), wakeInMs };
  }

  async #advance(file: FileSighting, entry: QueueEntry): Promise<void> {
    let stage: 'upload' | 'confirm' | 'clean' = 'upload';
    try {
      let result: FileUploadResult | undefined;
      if (entry.state === 'pending' || entry.state === 'uploading') {
        result = await this.#upload(file, entry);
        stage = 'confirm';
        await this.#confirm(entry, result);
        uploaderFiles.inc({ outcome: result.outcome });
      }
      stage = 'clean';
      afterUpload(this.#options.after, file.path, file.name, this.#options.moveDir);
      const done = this.queue.patch(file.name, { state: 'cleaned' });
      this.#retries.delete(file.name);
      this.#status.done += 1;
      this.#status.lastError = undefined;
      const uri = `s3://${this.#options.bucket}/${done.key}`;
      this.#hooks.onFileDone?.({
        ...(result ?? { bucket: this.#options.bucket, key: done.key, size: done.size, sha256: done.sha256!, outcome: 'unchanged', partsUploaded: 0 }),
        source: file.path,
        uri,
        after: this.#options.after,
      });
    } catch (error) {
      if (this.#signal?.aborted) return; // Stopped mid-way: not a failure, the journals resume it.
      const failures = (this.#retries.get(file.name)?.failures ?? 0) + 1;
      const delay = backoffDelay(failures, this.#options.backoffMinMs, this.#options.backoffMaxMs);
      this.#retries.set(file.name, { failures, at: performance.now() + delay });
      this.queue.patch(file.name, { failures: (this.queue.get(file.name)?.failures ?? 0) + 1, lastError: describeError(error) });
      uploaderFailures.inc({ stage });
      uploaderRetries.inc();
      this.#status.failures += 1;
      this.#status.lastError = describeError(error);
      this.#hooks.onFailure?.(file.name, error, delay);
    } finally {
      this.#status.current = undefined;
    }
  }

  async #upload(file: FileSighting, entry: QueueEntry): Promise<FileUploadResult> {
    if (entry.state !== 'uploading') entry = this.queue.patch(file.name, { state: 'uploading' });
    const current = { name: file.name, sent: 0, size: file.size };
    this.#status.current = current;
    let accepted: number | undefined;
    const result = await uploadFile(this.#store, this.#options.bucket, entry.key, file.path, {
      journalDir: join(this.#options.home, 'uploads'),
      contentType: 'application/x-mcap',
      ...(entry.sha256 ? { sha256: entry.sha256 } : {}),
      pace: pacedBodies(
        this.#bucket,
        (n) => {
          current.sent = Math.min(current.size, current.sent + n);
          this.#hooks.onBytesSent?.(n);
        },
        this.#signal,
      ),
      onProgress: (done, _total, phase) => {
        if (phase !== 'uploading') return;
        // The first report is where this attempt starts (parts journaled before count once).
        if (accepted !== undefined) uploaderBytes.inc(done - accepted);
        accepted = done;
        current.sent = done; // A resent part counts from where S3 last accepted.
      },
      retryMinMs: Math.min(500, this.#options.backoffMinMs),
      onRetry: () => uploaderRetries.inc(),
      ...(this.#signal ? { signal: this.#signal } : {}),
    });
    this.queue.patch(file.name, { sha256: result.sha256 });
    return result;
  }

  /** The object must carry the local file's sha256 and size before anything local is touched. */
  async #confirm(entry: QueueEntry, result: FileUploadResult): Promise<void> {
    const info = await this.#store.head(this.#options.bucket, entry.key);
    const local = statSync(join(this.#options.dir, entry.name), { throwIfNoEntry: false });
    if (info === undefined || info.sha256 !== result.sha256 || info.size !== result.size || local?.size !== result.size) {
      throw new McapflowError(
        'STORAGE_FAILED',
        `s3://${this.#options.bucket}/${entry.key} does not match ${entry.name} (object sha256 ${info?.sha256 ?? 'none'}, size ${info?.size ?? 'none'}; local sha256 ${result.sha256}, size ${result.size}): keeping the local file`,
        { retryable: true },
      );
    }
    this.queue.patch(entry.name, { state: 'confirmed' });
  }
}

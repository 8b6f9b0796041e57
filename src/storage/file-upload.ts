/**
 * Uploading a local recording: multipart with a SHA-256 checksum per part (S3 verifies it),
 * retries with backoff per part, and a journal of completed parts so an interrupted upload
 * continues where it stopped. The whole-file sha256 is recorded on the object (metadata
 * `sha256`), which makes the recording's identity content-based.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import pRetry from 'p-retry';
import { sha256Hex } from '../domain/hash.ts';
import { writeFileDurably } from './durable-file.ts';
import type { BodyPacer, ObjectStore } from './object-store.ts';

/** S3 allows at most 10,000 parts; 16 MiB parts cover 156 GiB, larger files get larger parts. */
const MIN_PART_BYTES = 16 * 1024 * 1024;
const MAX_PARTS = 10_000;

export interface UploadJournal {
  bucket: string;
  key: string;
  path: string;
  size: number;
  mtimeMs: number;
  sha256: string;
  uploadId: string;
  partBytes: number;
  parts: { partNumber: number; etag: string; sha256: string }[];
}

export interface FileUploadOptions {
  /** Directory of resume journals ($MCAPFLOW_HOME/uploads). */
  journalDir: string;
  contentType?: string;
  /** Called with bytes done (hashing counts as the first pass) and the total. */
  onProgress?: (done: number, total: number, phase: 'hashing' | 'uploading') => void;
  /** Retries per part after the SDK's own. */
  retries?: number;
  /** First wait before a part or the completion is retried, doubling after (default 500 ms). */
  retryMinMs?: number;
  /** The file's sha256 when the caller already computed it. */
  sha256?: string;
  /** Sends each part body through this (a bandwidth limit); see ObjectStore.uploadPart. */
  pace?: BodyPacer;
  /** Called when a part or the completion failed and is tried again. */
  onRetry?: (error: unknown) => void;
  /** Stops between parts and ends retrying (the journal keeps what was done). */
  signal?: AbortSignal;
}

export interface FileUploadResult {
  bucket: string;
  key: string;
  size: number;
  sha256: string;
  /** `uploaded`, `resumed` (continued from a journal) or `unchanged` (already there). */
  outcome: 'uploaded' | 'resumed' | 'unchanged';
  partsUploaded: number;
}

export async function sha256File(path: string, onBytes?: (n: number) => void): Promise<string> {
  const hash = createHash('sha256');
  const stream = createReadStream(path, { highWaterMark: 4 * 1024 * 1024 });
  if (onBytes) stream.on('data', (chunk) => onBytes(chunk.length));
  await pipeline(stream, hash);
  return hash.digest('hex');
}

function journalPath(dir: string, bucket: string, key: string, path: string): string {
  return join(dir, `${sha256Hex(`${bucket}\n${key}\n${path}`).slice(0, 32)}.json`);
}

function saveJournal(file: string, journal: UploadJournal): void {
  // Fsynced write-then-rename: neither a kill nor a power cut leaves a torn journal, and a
  // part the journal lists is a part S3 has.
  writeFileDurably(file, JSON.stringify(journal));
}

function loadJournal(file: string, matches: (j: UploadJournal) => boolean): UploadJournal | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const journal = JSON.parse(readFileSync(file, 'utf8')) as UploadJournal;
    return matches(journal) ? journal : undefined;
  } catch {
    return undefined;
  }
}

export async function uploadFile(store: ObjectStore, bucket: string, key: string, path: string, options: FileUploadOptions): Promise<FileUploadResult> {
  try {
    return await uploadFileOnce(store, bucket, key, path, options);
  } catch (error) {
    // The journal's multipart upload was aborted or expired on the server: start over once.
    const file = journalPath(options.journalDir, bucket, key, path);
    if (!existsSync(file) || !/HTTP 404|NoSuchUpload/.test(String(error))) throw error;
    rmSync(file, { force: true });
    return uploadFileOnce(store, bucket, key, path, options);
  }
}

async function uploadFileOnce(store: ObjectStore, bucket: string, key: string, path: string, options: FileUploadOptions): Promise<FileUploadResult> {
  const { size, mtimeMs } = statSync(path);
  mkdirSync(options.journalDir, { recursive: true });
  const file = journalPath(options.journalDir, bucket, key, path);
  // A journal of the same file version skips hashing; a changed file starts over.
  let journal = loadJournal(file, (j) => j.bucket === bucket && j.key === key && j.size === size && j.mtimeMs === mtimeMs);
  let hashed = 0;
  const sha256 = journal?.sha256 ?? options.sha256 ?? (await sha256File(path, (n) => options.onProgress?.((hashed += n), size, 'hashing')));

  const existing = await store.head(bucket, key);
  if (existing?.sha256 === sha256 && existing.size === size) {
    rmSync(file, { force: true });
    return { bucket, key, size, sha256, outcome: 'unchanged', partsUploaded: 0 };
  }
  const resumed = journal !== undefined && journal.parts.length > 0;
  if (journal === undefined) {
    const partBytes = Math.max(MIN_PART_BYTES, Math.ceil(size / MAX_PARTS / (1024 * 1024)) * 1024 * 1024);
    const uploadId = await store.createMultipartUpload(bucket, key, { metadata: { sha256 }, contentType: options.contentType });
    journal = { bucket, key, path, size, mtimeMs, sha256, uploadId, partBytes, parts: [] };
    saveJournal(file, journal);
  }
  const partCount = Math.max(1, Math.ceil(size / journal.partBytes));
  const done = new Set(journal.parts.map((p) => p.partNumber));
  let uploadedBytes = journal.parts.reduce((n, p) => n + Math.min(journal.partBytes, size - (p.partNumber - 1) * journal.partBytes), 0);
  let partsUploaded = 0;
  // Where this run starts (non-zero when resumed): a progress display starts there too.
  options.onProgress?.(uploadedBytes, size, 'uploading');
  const handle = await open(path, 'r');
  try {
    for (let partNumber = 1; partNumber <= partCount; partNumber++) {
      if (done.has(partNumber)) continue;
      options.signal?.throwIfAborted();
      const start = (partNumber - 1) * journal.partBytes;
      const length = Math.min(journal.partBytes, size - start);
      const body = Buffer.alloc(length);
      await handle.read(body, 0, length, start);
      const partSha = createHash('sha256').update(body).digest('base64');
      const etag = await pRetry(
        () =>
          store.uploadPart(bucket, key, journal.uploadId, partNumber, body, partSha, {
            ...(options.pace ? { pace: options.pace } : {}),
            ...(options.signal ? { signal: options.signal } : {}),
          }),
        {
          retries: options.retries ?? 5,
          minTimeout: options.retryMinMs ?? 500,
          factor: 2,
          randomize: true,
          onFailedAttempt: ({ error }) => options.onRetry?.(error),
          ...(options.signal ? { signal: options.signal } : {}),
        },
      );
      journal.parts.push({ partNumber, etag, sha256: partSha });
      saveJournal(file, journal);
      partsUploaded += 1;
      uploadedBytes += length;
      options.onProgress?.(uploadedBytes, size, 'uploading');
    }
  } finally {
    await handle.close();
  }
  const parts = [...journal.parts].sort((a, b) => a.partNumber - b.partNumber);
  await pRetry(() => store.completeMultipartUpload(bucket, key, journal.uploadId, parts), {
    retries: options.retries ?? 5,
    minTimeout: options.retryMinMs ?? 500,
    onFailedAttempt: ({ error }) => options.onRetry?.(error),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  rmSync(file, { force: true });
  return { bucket, key, size, sha256, outcome: resumed ? 'resumed' : 'uploaded', partsUploaded };
}

/**
 * An object store that counts what one piece of work read through it: bytes delivered and
 * requests made. Extraction reports these so a user sees what pulling a topic cost, and the
 * bound it promises (the chunks needed plus the plan, manifest and chunk index) can be checked.
 */
import type { Readable } from 'node:stream';
import type { ObjectStore, PutOptions, ReadPurpose } from '../storage/object-store.ts';

export interface ReadCount {
  bytes: number;
  requests: number;
}

export class CountingStore implements ObjectStore {
  readonly #inner: ObjectStore;
  bytes = 0;
  requests = 0;

  constructor(inner: ObjectStore) {
    this.#inner = inner;
  }

  /** What was read so far. */
  snapshot(): ReadCount {
    return { bytes: this.bytes, requests: this.requests };
  }

  async head(bucket: string, key: string) {
    this.requests += 1;
    return this.#inner.head(bucket, key);
  }

  async getRange(bucket: string, key: string, start: number, end: number, purpose: ReadPurpose): Promise<Uint8Array> {
    if (end <= start) return new Uint8Array(0);
    this.requests += 1;
    const bytes = await this.#inner.getRange(bucket, key, start, end, purpose);
    this.bytes += bytes.length;
    return bytes;
  }

  async get(bucket: string, key: string, purpose: ReadPurpose): Promise<Uint8Array | undefined> {
    this.requests += 1;
    const bytes = await this.#inner.get(bucket, key, purpose);
    this.bytes += bytes?.length ?? 0;
    return bytes;
  }

  async stream(bucket: string, key: string, purpose: ReadPurpose, range?: { start: number; end: number }): Promise<Readable> {
    this.requests += 1;
    const body = await this.#inner.stream(bucket, key, purpose, range);
    body.on('data', (chunk: Uint8Array) => {
      this.bytes += chunk.length;
    });
    return body;
  }

  put(bucket: string, key: string, body: Uint8Array | string, options?: PutOptions) {
    return this.#inner.put(bucket, key, body, options);
  }

  createMultipartUpload(bucket: string, key: string, options?: PutOptions) {
    return this.#inner.createMultipartUpload(bucket, key, options);
  }

  uploadPart(...args: Parameters<ObjectStore['uploadPart']>) {
    return this.#inner.uploadPart(...args);
  }

  completeMultipartUpload(bucket: string, key: string, uploadId: string, parts: { partNumber: number; etag: string; sha256?: string | undefined }[]) {
    return this.#inner.completeMultipartUpload(bucket, key, uploadId, parts);
  }

  abortMultipartUpload(bucket: string, key: string, uploadId: string) {
    return this.#inner.abortMultipartUpload(bucket, key, uploadId);
  }

  delete(bucket: string, key: string) {
    return this.#inner.delete(bucket, key);
  }

  list(bucket: string, prefix: string, startAfter?: string) {
    this.requests += 1;
    return this.#inner.list(bucket, prefix, startAfter);
  }

  ensureBucket(bucket: string) {
    return this.#inner.ensureBucket(bucket);
  }

  ping(bucket: string) {
    return this.#inner.ping(bucket);
  }

  close(): void {
    // The inner store belongs to the caller.
  }
}

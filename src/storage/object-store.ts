/**
 * The one object-store interface. Everything mcapflow reads or writes in S3 (or the embedded
 * S3 server) goes through it; adapters implement it, callers never see the SDK.
 */
import type { Readable } from 'node:stream';

export interface ObjectInfo {
  bucket: string;
  key: string;
  size: number;
  etag?: string | undefined;
  /** Hex sha256 of the whole object, when recorded on it (metadata `sha256`). */
  sha256?: string | undefined;
  lastModified?: Date | undefined;
  metadata: Record<string, string>;
}

export interface PutOptions {
  contentType?: string;
  metadata?: Record<string, string>;
  /** Fail with `{ created: false }` instead of overwriting an existing object (when the server enforces it). */
  ifNoneMatch?: boolean;
}

export interface PutResult {
  /** False when `ifNoneMatch` was set and the object already existed. */
  created: boolean;
  etag?: string | undefined;
}

/** Why a read happened, for the bytes-read accounting. */
export type ReadPurpose = 'plan' | 'scan' | 'span' | 'derived' | 'cache';

/** How another S3 client (DuckDB's httpfs) reaches the store: where, and the credentials in use now. */
export interface S3Access {
  /** Undefined: AWS's endpoint for the region. */
  endpoint?: string | undefined;
  region: string;
  forcePathStyle: boolean;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

/** Turns a part body into a stream of the same bytes, sent as fast as it lets them through. */
export type BodyPacer = (body: Uint8Array) => Readable;

/** `pace` turns the body into the stream actually sent (a bandwidth limit); `signal` aborts the request in flight. */
export interface UploadPartOptions {
  pace?: BodyPacer;
  signal?: AbortSignal;
}

export interface ObjectStore {
  /** For stores that another S3 client can read directly; absent or undefined: it cannot. */
  directAccess?(): Promise<S3Access | undefined>;
  head(bucket: string, key: string): Promise<ObjectInfo | undefined>;
  /** Bytes `[start, end)`; `end` must not exceed the object size. */
  getRange(bucket: string, key: string, start: number, end: number, purpose: ReadPurpose): Promise<Uint8Array>;
  /** The whole object, or undefined when it does not exist. */
  get(bucket: string, key: string, purpose: ReadPurpose): Promise<Uint8Array | undefined>;
  /** A stream of `[start, end)` (or the whole object). */
  stream(bucket: string, key: string, purpose: ReadPurpose, range?: { start: number; end: number }): Promise<Readable>;
  put(bucket: string, key: string, body: Uint8Array | string, options?: PutOptions): Promise<PutResult>;
  /** Multipart upload, for large files and resumable uploads (see storage/file-upload.ts). */
  createMultipartUpload(bucket: string, key: string, options?: PutOptions): Promise<string>;
  /**
   * Uploads one part; `sha256` (base64) is verified by S3 when given. Returns the part's ETag.
   * A store that cannot stream may ignore `options.pace`.
   */
  uploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: Uint8Array,
    sha256?: string,
    options?: UploadPartOptions,
  ): Promise<string>;
  completeMultipartUpload(
    bucket: string,
    key: string,
    uploadId: string,
    parts: { partNumber: number; etag: string; sha256?: string | undefined }[],
  ): Promise<PutResult>;
  abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void>;
  delete(bucket: string, key: string): Promise<void>;
  /** Every object under a prefix, in key order, paginated underneath. */
  list(bucket: string, prefix: string, startAfter?: string): AsyncIterable<ObjectInfo>;
  ensureBucket(bucket: string): Promise<void>;
  /** Cheap reachability probe. */
  ping(bucket: string): Promise<void>;
  close(): void;
}

/** Byte accounting a store reports to, so scan amplification can be measured. */
export interface StoreObserver {
  onRead?(purpose: ReadPurpose, bytes: number): void;
  onWrite?(bytes: number): void;
  onRequest?(op: string, status: 'ok' | 'not_found' | 'error'): void;
}

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

export interface ObjectStore {
  head(bucket: string, key: string): Promise<ObjectInfo | undefined>;
  /** Bytes `[start, end)`; `end` must not exceed the object size. */
  getRange(bucket: string, key: string, start: number, end: number, purpose: ReadPurpose): Promise<Uint8Array>;
  /** The whole object, or undefined when it does not exist. */
  get(bucket: string, key: string, purpose: ReadPurpose): Promise<Uint8Array | undefined>;
  /** A stream of `[start, end)` (or the whole object). */
  stream(bucket: string, key: string, purpose: ReadPurpose, range?: { start: number; end: number }): Promise<Readable>;
  put(bucket: string, key: string, body: Uint8Array | string, options?: PutOptions): Promise<PutResult>;
  /** Uploads a local file, multipart when large. */
  putFile(bucket: string, key: string, path: string, options?: PutOptions): Promise<PutResult>;
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
  onRequest?(op: string, status: 'ok' | 'error'): void;
}

/**
 * ObjectStore over @aws-sdk/client-s3: AWS S3, MinIO, or the embedded s3rver.
 */
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { normalizeEtag } from '../domain/identity.ts';
import { describeError, StorageError } from '../errors.ts';
import type { ObjectInfo, ObjectStore, PutOptions, PutResult, ReadPurpose, S3Access, StoreObserver, UploadPartOptions } from './object-store.ts';

// The SDK warns on every start under Node 20; the warning is about its future releases, not us.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface S3StoreOptions {
  /** Undefined: the AWS default endpoint for the region. */
  endpoint?: string | undefined;
  region: string;
  forcePathStyle: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** A request with no response for this long is abandoned (and retried by the SDK). */
  requestTimeoutMs?: number;
  /**
   * Attempts per request by the SDK (default 4). The edge uploader sets 1: it streams paced
   * part bodies, which the SDK cannot send twice, and does its own retrying.
   */
  maxAttempts?: number;
  observer?: StoreObserver;
}

function statusOf(error: unknown): number | undefined {
  if (error instanceof S3ServiceException) return error.$metadata.httpStatusCode;
  return undefined;
}

function isNotFound(error: unknown): boolean {
  const status = statusOf(error);
  return status === 404 || (error instanceof S3ServiceException && (error.name === 'NoSuchKey' || error.name === 'NotFound'));
}

function toStorageError(op: string, bucket: string, key: string, error: unknown): StorageError {
  const status = statusOf(error);
  const retryable = status === undefined || status >= 500 || status === 429 || status === 408;
  return new StorageError(`S3 ${op} s3://${bucket}/${key} failed${status ? ` (HTTP ${status})` : ''}: ${describeError(error)}`, error, retryable);
}

export class S3Store implements ObjectStore {
  readonly #client: S3Client;
  readonly #observer: StoreObserver;
  readonly #options: S3StoreOptions;

  constructor(options: S3StoreOptions) {
    this.#options = options;
    this.#client = new S3Client({
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      ...(options.credentials ? { credentials: options.credentials } : {}),
      // Checksums only where S3 requires them: s3rver and older MinIO reject the newer
      // aws-chunked trailer encoding that default checksums switch on.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: options.maxAttempts ?? 4,
      // With one attempt the caller retries; the SDK's console warning about each failed
      // streamed body would only repeat what the caller reports.
      ...(options.maxAttempts === 1 ? { logger: { debug() {}, info() {}, warn() {}, error() {} } } : {}),
      requestHandler: { requestTimeout: options.requestTimeoutMs ?? 30_000, connectionTimeout: 5_000, throwOnRequestTimeout: true },
    });
    this.#observer = options.observer ?? {};
  }

  /** The endpoint and the credentials the SDK resolved (its default chain when none were given), as they are now. */
  async directAccess(): Promise<S3Access | undefined> {
    const credentials = await this.#client.config.credentials();
    return {
      endpoint: this.#options.endpoint,
      region: this.#options.region,
      forcePathStyle: this.#options.forcePathStyle,
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      sessionToken: credentials.sessionToken,
    };
  }

  async #send<T>(op: string, bucket: string, key: string, run: () => Promise<T>): Promise<T> {
    try {
      const result = await run();
      this.#observer.onRequest?.(op, 'ok');
      return result;
    } catch (error) {
      // A 404 is S3 answering ("no such object"), not S3 failing.
      this.#observer.onRequest?.(op, isNotFound(error) ? 'not_found' : 'error');
      throw error;
    }
  }

  async head(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.#send('head', bucket, key, () => this.#client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })));
      const metadata = out.Metadata ?? {};
      return {
        bucket,
        key,
        size: out.ContentLength ?? 0,
        etag: normalizeEtag(out.ETag),
        sha256: metadata.sha256,
        lastModified: out.LastModified,
        metadata,
      };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw toStorageError('HEAD', bucket, key, error);
    }
  }

  async getRange(bucket: string, key: string, start: number, end: number, purpose: ReadPurpose): Promise<Uint8Array> {
    if (end <= start) return new Uint8Array(0);
    try {
      const out = await this.#send('get', bucket, key, () =>
        this.#client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${start}-${end - 1}` })),
      );
      const bytes = await readExactly(out.Body as Readable, end - start);
      if (bytes === undefined) {
        throw new StorageError(`S3 GET s3://${bucket}/${key} bytes ${start}-${end - 1} returned a different number of bytes`, undefined, true);
      }
      this.#observer.onRead?.(purpose, bytes.length);
      return bytes;
    } catch (error) {
      if (error instanceof StorageError) throw error;
      throw toStorageError('GET', bucket, key, error);
    }
  }

  async get(bucket: string, key: string, purpose: ReadPurpose): Promise<Uint8Array | undefined> {
    try {
      const out = await this.#send('get', bucket, key, () => this.#client.send(new GetObjectCommand({ Bucket: bucket, Key: key })));
      const bytes = await out.Body!.transformToByteArray();
      this.#observer.onRead?.(purpose, bytes.length);
      return bytes;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw toStorageError('GET', bucket, key, error);
    }
  }

  async stream(bucket: string, key: string, purpose: ReadPurpose, range?: { start: number; end: number }): Promise<Readable> {
    try {
      const out = await this.#send('get', bucket, key, () =>
        this.#client.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...(range ? { Range: `bytes=${range.start}-${range.end - 1}` } : {}) })),
      );
      const body = out.Body as Readable;
      body.on('data', (chunk: Buffer) => this.#observer.onRead?.(purpose, chunk.length));
      return body;
    } catch (error) {
      throw toStorageError('GET', bucket, key, error);
    }
  }

  async put(bucket: string, key: string, body: Uint8Array | string, options: PutOptions = {}): Promise<PutResult> {
    try {
      const out = await this.#send('put', bucket, key, () =>
        this.#client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: body,
            ContentType: options.contentType,
            Metadata: options.metadata,
            ...(options.ifNoneMatch ? { IfNoneMatch: '*' } : {}),
          }),
        ),
      );
      this.#observer.onWrite?.(typeof body === 'string' ? Buffer.byteLength(body) : body.length);
      return { created: true, etag: normalizeEtag(out.ETag) };
    } catch (error) {
      if (options.ifNoneMatch && statusOf(error) === 412) return { created: false };
      throw toStorageError('PUT', bucket, key, error);
    }
  }

  async createMultipartUpload(bucket: string, key: string, options: PutOptions = {}): Promise<string> {
    try {
      const out = await this.#send('create-multipart', bucket, key, () =>
        this.#client.send(
          new CreateMultipartUploadCommand({
            Bucket: bucket,
            Key: key,
            ContentType: options.contentType,
            Metadata: options.metadata,
            ChecksumAlgorithm: 'SHA256',
          }),
        ),
      );
      return out.UploadId!;
    } catch (error) {
      throw toStorageError('CreateMultipartUpload', bucket, key, error);
    }
  }

  async uploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: Uint8Array,
    sha256?: string,
    options: UploadPartOptions = {},
  ): Promise<string> {
    try {
      const out = await this.#send('upload-part', bucket, key, () =>
        this.#client.send(
          new UploadPartCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: partNumber,
            // A paced body is a stream: its length must be declared up front.
            Body: options.pace ? options.pace(body) : body,
            ContentLength: body.length,
            ChecksumSHA256: sha256,
          }),
          options.signal ? { abortSignal: options.signal } : {},
        ),
      );
      this.#observer.onWrite?.(body.length);
      return out.ETag!;
    } catch (error) {
      throw toStorageError(`UploadPart ${partNumber}`, bucket, key, error);
    }
  }

  async completeMultipartUpload(
    bucket: string,
    key: string,
    uploadId: string,
    parts: { partNumber: number; etag: string; sha256?: string | undefined }[],
  ): Promise<PutResult> {
    try {
      const out = await this.#send('complete-multipart', bucket, key, () =>
        this.#client.send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag, ChecksumSHA256: p.sha256 })) },
          }),
        ),
      );
      return { created: true, etag: normalizeEtag(out.ETag) };
    } catch (error) {
      throw toStorageError('CompleteMultipartUpload', bucket, key, error);
    }
  }

  async abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    try {
      await this.#send('abort-multipart', bucket, key, () =>
        this.#client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })),
      );
    } catch (error) {
      if (!isNotFound(error)) throw toStorageError('AbortMultipartUpload', bucket, key, error);
    }
  }

  async delete(bucket: string, key: string): Promise<void> {
    try {
      await this.#send('delete', bucket, key, () => this.#client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })));
    } catch (error) {
      if (isNotFound(error)) return;
      throw toStorageError('DELETE', bucket, key, error);
    }
  }

  async *list(bucket: string, prefix: string, startAfter?: string): AsyncIterable<ObjectInfo> {
    // ListObjects (v1) with an explicit marker: s3rver's v2 continuation tokens use DES,
    // which OpenSSL 3 disables, and a marker works the same on AWS and MinIO.
    let marker = startAfter;
    for (;;) {
      const out = await this.#send('list', bucket, prefix, () =>
        this.#client.send(new ListObjectsCommand({ Bucket: bucket, Prefix: prefix, Marker: marker, MaxKeys: 1000 })),
      ).catch((error: unknown) => {
        throw toStorageError('LIST', bucket, prefix, error);
      });
      const contents = out.Contents ?? [];
      for (const item of contents) {
        if (item.Key === undefined) continue;
        yield { bucket, key: item.Key, size: item.Size ?? 0, etag: normalizeEtag(item.ETag), lastModified: item.LastModified, metadata: {} };
      }
      const last = contents.at(-1)?.Key;
      if (!out.IsTruncated || last === undefined) return;
      marker = out.NextMarker ?? last;
    }
  }

  async ensureBucket(bucket: string): Promise<void> {
    try {
      await this.#client.send(new HeadBucketCommand({ Bucket: bucket }));
      return;
    } catch (error) {
      if (!isNotFound(error)) throw toStorageError('HEAD bucket', bucket, '', error);
    }
    try {
      await this.#client.send(new CreateBucketCommand({ Bucket: bucket }));
    } catch (error) {
      if (error instanceof S3ServiceException && (error.name === 'BucketAlreadyOwnedByYou' || error.name === 'BucketAlreadyExists')) return;
      throw toStorageError('CREATE bucket', bucket, '', error);
    }
  }

  async ping(bucket: string): Promise<void> {
    try {
      await this.#client.send(new HeadBucketCommand({ Bucket: bucket }));
    } catch (error) {
      throw toStorageError('HEAD bucket', bucket, '', error);
    }
  }

  close(): void {
    this.#client.destroy();
  }
}

/**
 * Reads a response body of known length straight into one buffer: no list of chunks to
 * concatenate (spans are tens of MB; this halves their copying and garbage). Undefined when
 * the body is not exactly `length` bytes.
 */
async function readExactly(body: Readable, length: number): Promise<Uint8Array | undefined> {
  const out = Buffer.allocUnsafe(length);
  let at = 0;
  for await (const chunk of body) {
    const piece = chunk as Buffer;
    if (at + piece.length > length) {
      body.destroy();
      return undefined;
    }
    piece.copy(out, at);
    at += piece.length;
  }
  return at === length ? out : undefined;
}

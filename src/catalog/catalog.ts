/**
 * The catalog: every committed recording, read from the manifests in the derived bucket.
 * Manifests and the objects they list are immutable, so a local copy is always correct.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { MANIFEST_PREFIX, recordingIdFromManifestKey } from '../domain/layout.ts';
import type { Manifest } from '../domain/manifest.ts';
import { validateObjectKey } from '../domain/object-keys.ts';
import { StorageError } from '../errors.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { countCache } from '../observability/metrics.ts';

export interface CommittedRecording {
  manifest: Manifest;
  committedAt: Date | undefined;
}

/** Local copies of immutable derived objects, verified against their manifest hash. */
export class ObjectCache {
  readonly #dir: string;
  readonly #store: ObjectStore;
  readonly #bucket: string;
  hits = 0;
  misses = 0;

  constructor(dir: string, store: ObjectStore, bucket: string) {
    this.#dir = dir;
    this.#store = store;
    this.#bucket = bucket;
  }

  /**
   * Path of the local copy, downloading it first when missing. `version` (e.g. an ETag)
   * names the copy of an object that can be replaced; immutable objects need none.
   */
  async path(key: string, sha256?: string, version?: string): Promise<string> {
    const local = join(this.#dir, validateObjectKey(version === undefined ? key : `${key}.${version.replace(/[^A-Za-z0-9]/g, '')}`));
    if (existsSync(local)) {
      this.hits += 1;
      countCache('object', true);
      return local;
    }
    this.misses += 1;
    countCache('object', false);
    mkdirSync(dirname(local), { recursive: true });
    const partial = `${local}.${process.pid}.partial`;
    const hash = createHash('sha256');
    try {
      const body = await this.#store.stream(this.#bucket, key, 'cache');
      body.on('data', (chunk: Buffer) => hash.update(chunk));
      await pipeline(body, createWriteStream(partial));
      const actual = hash.digest('hex');
      if (sha256 !== undefined && actual !== sha256) {
        throw new StorageError(`object ${key} has sha256 ${actual}, but its manifest says ${sha256}`, undefined, false);
      }
      renameSync(partial, local);
    } finally {
      rmSync(partial, { force: true });
    }
    return local;
  }

  async read(key: string, sha256?: string, version?: string): Promise<Buffer> {
    return readFile(await this.path(key, sha256, version));
  }
}

/** Every committed recording in the derived bucket, in recording-id order. */
export async function listCommitted(store: ObjectStore, bucket: string, cache: ObjectCache): Promise<CommittedRecording[]> {
  const committed: CommittedRecording[] = [];
  for await (const object of store.list(bucket, MANIFEST_PREFIX)) {
    if (recordingIdFromManifestKey(object.key) === undefined) continue;
    // A manifest changes only when a reprocess replaces it, and then its ETag changes too.
    const manifest = JSON.parse((await cache.read(object.key, undefined, object.etag ?? String(object.lastModified?.getTime()))).toString('utf8')) as Manifest;
    committed.push({ manifest, committedAt: object.lastModified });
  }
  return committed;
}

/**
 * The embedded S3 server checks credentials as a real S3 does: an access key and secret
 * generated once per MCAPFLOW_HOME (kept in a 0600 file), SigV4 signatures verified, and
 * unsigned requests or requests signed with any other key refused with 403 before they
 * touch a bucket. mcapflow's own clients (this process, and processes on the same home)
 * find the credentials and keep working.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config/config.ts';
import { prepareEnvironment, type Environment } from '../../src/runtime/environment.ts';
import { createStore } from '../../src/runtime/services.ts';
import { TEST_REDIS_URL } from '../helpers/pipeline-harness.ts';

let home: string;
let config: Config;
let env: Environment;
let endpoint: string;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'mcapflow-s3auth-'));
  config = loadConfig({ MCAPFLOW_HOME: home, REDIS_URL: TEST_REDIS_URL, MCAPFLOW_SPAWN_REDIS: 'false' });
  env = await prepareEnvironment(config, { redis: false });
  endpoint = env.endpoints.s3Endpoint!;
});

afterAll(async () => {
  await env?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

function clientWith(credentials: { accessKeyId: string; secretAccessKey: string }): S3Client {
  return new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials, maxAttempts: 1 });
}

async function statusOf(send: () => Promise<unknown>): Promise<number | undefined> {
  try {
    await send();
    return 200;
  } catch (error) {
    return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  }
}

describe('embedded S3 credentials', () => {
  it('are generated once per home into a file only its owner can read', async () => {
    const path = join(home, 's3-credentials.json');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const { version, ...stored } = JSON.parse(readFileSync(path, 'utf8')) as { version: number; accessKeyId: string; secretAccessKey: string };
    expect(version).toBe(1);
    expect(stored.accessKeyId).toMatch(/^[A-Z0-9]{20}$/);
    expect(stored.secretAccessKey.length).toBeGreaterThanOrEqual(40);
    expect(stored.accessKeyId).not.toBe('S3RVER');
    expect(env.endpoints.s3Credentials).toEqual(stored);

    // The next process on this home (after this server stops) uses the same ones.
    await env.stop();
    env = await prepareEnvironment(config, { redis: false });
    endpoint = env.endpoints.s3Endpoint!;
    expect(env.endpoints.s3Credentials).toEqual(stored);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ version: 1, ...stored });
  });

  it('refuse unsigned requests with 403, and they change nothing', async () => {
    const put = await fetch(`${endpoint}/${config.derivedBucket}/manifests/forged.json`, { method: 'PUT', body: '{"forged":true}' });
    expect(put.status).toBe(403);
    expect(await put.text()).toMatch(/AccessDenied/);
    const get = await fetch(`${endpoint}/${config.derivedBucket}/`);
    expect(get.status).toBe(403);
    const store = createStore(config, env.endpoints);
    try {
      expect(await store.head(config.derivedBucket, 'manifests/forged.json')).toBeUndefined();
    } finally {
      store.close();
    }
  });

  it('refuse requests signed with another key, or with the right key id and a wrong secret', async () => {
    const forged = { Bucket: config.derivedBucket, Key: 'manifests/forged.json', Body: '{}' };
    const s3rverDefault = clientWith({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });
    const wrongSecret = clientWith({ accessKeyId: env.endpoints.s3Credentials!.accessKeyId, secretAccessKey: 'not-the-secret-not-the-secret-not-the-s' });
    try {
      expect(await statusOf(() => s3rverDefault.send(new PutObjectCommand(forged)))).toBe(403);
      expect(await statusOf(() => wrongSecret.send(new PutObjectCommand(forged)))).toBe(403);
      expect(await statusOf(() => wrongSecret.send(new ListObjectsCommand({ Bucket: config.derivedBucket })))).toBe(403);
    } finally {
      s3rverDefault.destroy();
      wrongSecret.destroy();
    }
  });

  it('accept mcapflow’s own signed requests: put, get, list, multipart, delete, odd keys', async () => {
    const store = createStore(config, env.endpoints);
    try {
      const key = 'odd keys/ünï cødé+(1)&x=y;~*.mcap';
      await store.put(config.rawBucket, key, Buffer.from('hello'));
      expect((await store.head(config.rawBucket, key))?.size).toBe(5);
      const listed: string[] = [];
      for await (const o of store.list(config.rawBucket, 'odd keys/')) listed.push(o.key);
      expect(listed).toEqual([key]);
      // Multipart, as `mcapflow upload` does it (?uploads, ?partNumber&uploadId, ?uploadId).
      const part = Buffer.alloc(5 * 1024 * 1024, 7);
      const uploadId = await store.createMultipartUpload(config.rawBucket, 'big/object.bin');
      const etags = [
        await store.uploadPart(config.rawBucket, 'big/object.bin', uploadId, 1, part),
        await store.uploadPart(config.rawBucket, 'big/object.bin', uploadId, 2, part),
      ];
      await store.completeMultipartUpload(
        config.rawBucket,
        'big/object.bin',
        uploadId,
        etags.map((etag, i) => ({ partNumber: i + 1, etag })),
      );
      expect((await store.head(config.rawBucket, 'big/object.bin'))?.size).toBe(2 * part.length);
      await store.delete(config.rawBucket, key);
      expect(await store.head(config.rawBucket, key)).toBeUndefined();
    } finally {
      store.close();
    }
    const client = clientWith(env.endpoints.s3Credentials!);
    try {
      await client.send(new PutObjectCommand({ Bucket: config.rawBucket, Key: 'plain.txt', Body: 'abc', ContentType: 'text/plain' }));
      const got = await client.send(new GetObjectCommand({ Bucket: config.rawBucket, Key: 'plain.txt', Range: 'bytes=1-2' }));
      expect(await got.Body!.transformToString()).toBe('bc');
    } finally {
      client.destroy();
    }
  });
});

/**
 * The embedded S3 server: s3rver over a local directory on a loopback port, so the real
 * @aws-sdk/client-s3 code path runs over HTTP without any cloud service.
 */
import { mkdirSync } from 'node:fs';
import S3rver from 's3rver';

/** s3rver accepts any signature made with these. */
export const EMBEDDED_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface EmbeddedS3 {
  endpoint: string;
  /** Subscribes to the server's AWS-format event notifications (`{ Records: [...] }`). */
  onEvent(listener: (event: unknown) => void): void;
  close(): Promise<void>;
}

export async function startEmbeddedS3(options: { directory: string; port: number; buckets: string[] }): Promise<EmbeddedS3> {
  mkdirSync(options.directory, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port,
    silent: true,
    directory: options.directory,
    configureBuckets: options.buckets.map((name) => ({ name })),
  });
  const address = await server.run();
  let closed = false;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    onEvent(listener) {
      server.on('event', listener);
    },
    async close() {
      if (closed) return;
      closed = true;
      server.removeAllListeners('event');
      await server.close();
    },
  };
}

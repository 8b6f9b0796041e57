/**
 * The embedded S3 server: s3rver over a local directory on a loopback port, so the real
 * @aws-sdk/client-s3 code path runs over HTTP without any cloud service. Like a real S3 it
 * takes only requests signed with its credentials (s3-credentials.ts): every request is
 * checked (sigv4-auth.ts) before s3rver handles it, so no other local process can read or
 * rewrite recordings and manifests.
 */
import { mkdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import S3rver from 's3rver';
import type { S3Credentials } from './s3-credentials.ts';
import { checkSignature, refuse } from './sigv4-auth.ts';

/** The key pair s3rver has built in (its SigV4 check looks up only the key id, never the signature). */
const S3RVER_BUILT_IN_KEY = 'S3RVER';

export interface EmbeddedS3 {
  endpoint: string;
  credentials: S3Credentials;
  /** Subscribes to the server's AWS-format event notifications (`{ Records: [...] }`). */
  onEvent(listener: (event: unknown) => void): void;
  close(): Promise<void>;
}

export async function startEmbeddedS3(options: { directory: string; port: number; buckets: string[]; credentials: S3Credentials }): Promise<EmbeddedS3> {
  mkdirSync(options.directory, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port,
    silent: true,
    directory: options.directory,
    configureBuckets: options.buckets.map((name) => ({ name })),
  });
  // s3rver (a Koa app) serves what its callback() returns; wrap that handler so a request
  // reaches s3rver only once its signature is verified against our credentials. s3rver
  // then sees its own built-in key id, which it accepts without checking further.
  const handle = server.callback.bind(server);
  server.callback = () => {
    const s3rverHandler = handle();
    return (req: IncomingMessage, res: ServerResponse) => {
      checkSignature(req, options.credentials)
        .then((refusal) => {
          if (refusal !== undefined) return refuse(req, res, refusal);
          req.headers.authorization = req.headers.authorization!.replace(/Credential=[^/]+\//, `Credential=${S3RVER_BUILT_IN_KEY}/`);
          return s3rverHandler(req, res);
        })
        .catch(() => {
          if (!res.headersSent) refuse(req, res, { code: 'AccessDenied', message: 'the request could not be authenticated' });
        });
    };
  };
  const address = await server.run();
  let closed = false;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    credentials: options.credentials,
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

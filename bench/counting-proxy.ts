/**
 * A passthrough HTTP proxy in front of an S3 server that records every request: method,
 * path, status and the bytes of the response body it relayed. Put it between the pipeline
 * and s3rver to count what a real job read, independent of mcapflow's own accounting.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedRequest {
  method: string;
  /** Path without the query string, URL-decoded: `/<bucket>/<key>`. */
  path: string;
  range: string | undefined;
  status: number;
  responseBytes: number;
}

export interface CountingProxy {
  endpoint: string;
  requests: ProxiedRequest[];
  close(): Promise<void>;
}

export async function startCountingProxy(upstream: string): Promise<CountingProxy> {
  const target = new URL(upstream);
  const requests: ProxiedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const out = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (upstreamRes) => {
      const record: ProxiedRequest = {
        method: req.method ?? '',
        path: decodeURIComponent((req.url ?? '').split('?')[0] ?? ''),
        range: typeof req.headers.range === 'string' ? req.headers.range : undefined,
        status: upstreamRes.statusCode ?? 0,
        responseBytes: 0,
      };
      requests.push(record);
      upstreamRes.on('data', (chunk: Buffer) => {
        record.responseBytes += chunk.length;
      });
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
      upstreamRes.pipe(res);
    });
    out.on('error', () => req.socket.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

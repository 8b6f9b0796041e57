/**
 * An HTTP proxy in front of an S3 server that misbehaves on purpose: answers 500/503
 * without forwarding, forwards and then answers 500 (the write happened, the client is
 * told it failed), stalls, or resets the connection — per request, by a rule you set.
 */
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = 'pass' | 'error500' | 'error503' | 'pass-then-500' | 'stall' | 'reset';

export interface FaultProxy {
  endpoint: string;
  /** Decides the fate of each request; defaults to passing everything through. */
  rule: (req: IncomingMessage) => Fault;
  counts: Record<Fault, number>;
  close(): Promise<void>;
}

function s3Error(status: number, code: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected fault</Message></Error>`;
}

export async function startFaultProxy(upstream: string, options: { stallMs?: number } = {}): Promise<FaultProxy> {
  const target = new URL(upstream);
  const counts: Record<Fault, number> = { pass: 0, error500: 0, error503: 0, 'pass-then-500': 0, stall: 0, reset: 0 };
  const proxy: FaultProxy = { endpoint: '', rule: () => 'pass', counts, close: async () => {} };
  const stalled = new Set<IncomingMessage>();

  const forward = (req: IncomingMessage, onResponse: (res: IncomingMessage) => void, onError: () => void) => {
    const out = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, onResponse);
    out.on('error', onError);
    // A client that goes away mid-body takes the upstream request with it, as a real
    // connection would; otherwise the server waits for the rest of the body forever.
    req.on('close', () => {
      if (!req.complete) out.destroy();
    });
    req.pipe(out);
  };

  const server: Server = createServer((req, res) => {
    const fault = proxy.rule(req);
    counts[fault] += 1;
    switch (fault) {
      case 'error500':
      case 'error503': {
        const status = fault === 'error500' ? 500 : 503;
        req.resume();
        req.on('end', () => {
          res.writeHead(status, { 'content-type': 'application/xml' });
          res.end(s3Error(status, status === 500 ? 'InternalError' : 'SlowDown'));
        });
        return;
      }
      case 'reset':
        req.socket.destroy();
        return;
      case 'stall':
        stalled.add(req);
        setTimeout(() => {
          stalled.delete(req);
          req.socket.destroy();
        }, options.stallMs ?? 60_000).unref();
        return;
      case 'pass-then-500':
        forward(
          req,
          (upstreamRes) => {
            upstreamRes.resume();
            upstreamRes.on('end', () => {
              res.writeHead(500, { 'content-type': 'application/xml' });
              res.end(s3Error(500, 'InternalError'));
            });
          },
          () => req.socket.destroy(),
        );
        return;
      case 'pass':
        forward(
          req,
          (upstreamRes) => {
            res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
            upstreamRes.pipe(res);
          },
          () => req.socket.destroy(),
        );
        return;
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = async () => {
    for (const req of stalled) req.socket.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return proxy;
}

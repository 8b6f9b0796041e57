/**
 * The HTTP server every role runs: /healthz (the process is alive), /readyz (Redis and S3
 * answer; the edge uploader: its own checks), /metrics (Prometheus). The admin role registers its API and pages on the same
 * server as a plugin.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { describeError } from '../errors.ts';
import { renderMetrics } from '../observability/metrics.ts';
import type { Services } from '../runtime/services.ts';

export interface HttpServerOptions {
  /** The pipeline's services: /readyz checks their Redis and S3. */
  services?: Services;
  /** Readiness checks of a process without the pipeline (the edge uploader), by name. */
  readiness?: Record<string, () => Promise<unknown>>;
  /** Body size limit of every route, bytes. */
  bodyLimit?: number;
}

async function check(name: string, probe: () => Promise<unknown>): Promise<{ name: string; ok: boolean; error?: string }> {
  try {
    await probe();
    return { name, ok: true };
  } catch (error) {
    return { name, ok: false, error: describeError(error) };
  }
}

export function createHttpServer(options: HttpServerOptions): FastifyInstance {
  const { services } = options;
  // Unknown fields are rejected, not silently dropped: a typo in a request is an error a caller sees.
  const app = Fastify({ logger: false, bodyLimit: options.bodyLimit ?? 1024 * 1024, ajv: { customOptions: { removeAdditional: false } } });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const probes: Record<string, () => Promise<unknown>> = services
      ? { redis: () => services.queues.connection.ping(), s3: () => services.store.ping(services.config.derivedBucket) }
      : {};
    const checks = await Promise.all(Object.entries({ ...probes, ...options.readiness }).map(([name, probe]) => check(name, probe)));
    const ready = checks.every((c) => c.ok);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
  });

  app.get('/metrics', async (_request, reply) => {
    const { contentType, body } = await renderMetrics();
    return reply.type(contentType).send(body);
  });

  return app;
}

/** Listens and returns the bound address (port 0 picks a free port). */
export async function listen(app: FastifyInstance, host: string, port: number): Promise<string> {
  await app.listen({ host, port });
  const address = app.server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  return `http://${host}:${bound}`;
}

import type { FastifyInstance } from 'fastify';
import { SandboxStopped } from '../../catalog/sandbox-pool.ts';
import { isMcapflowError } from '../../errors.ts';
import { startCatalogSnapshotter } from '../catalog-snapshotter.ts';
import { errorBody } from '../http-errors.ts';
import { adminCatalog, adminQueries, ERROR_SCHEMA, errorResponses, type AdminContext } from './context.ts';

export function queryRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { services } = ctx;
  const location = adminCatalog(ctx);
  const queries = adminQueries(ctx);
  const snapshotter = startCatalogSnapshotter(location, services.config.catalogSnapshotMs, ctx.log);
  // Before in-flight requests are waited for: a running statement must not hold up a shutdown.
  app.addHook('preClose', async () => queries.close());
  app.addHook('onClose', async () => snapshotter.stop());

  app.post<{ Body: { sql: string } }>(
    '/v1/query',
    {
      schema: {
        summary: 'Read-only SQL over the committed tables',
        description:
          'One SELECT (or WITH … SELECT) statement over recordings, topics, messages and the schema tables, run in a sandbox process. No file or network access beyond the catalog; row, result-byte, memory, time and concurrency limits apply (docs/reliability.md): over the byte or memory limit QUERY_TOO_LARGE, over the time limit QUERY_TIMEOUT, over the concurrency cap 429 QUERY_BUSY.',
        tags: ['query'],
        body: { type: 'object', required: ['sql'], additionalProperties: false, properties: { sql: { type: 'string', minLength: 1, maxLength: 100_000 } } },
        response: {
          200: {
            type: 'object',
            properties: {
              columns: { type: 'array', items: { type: 'string' } },
              rows: { type: 'array', items: { type: 'array' } },
              truncated: { type: 'boolean' },
            },
          },
          ...errorResponses,
          429: ERROR_SCHEMA,
          503: ERROR_SCHEMA,
        },
      },
    },
    async (request, reply) => {
      // A client that goes away cancels its statement (its sandbox process is killed).
      const client = new AbortController();
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) client.abort();
      });
      try {
        const json = await queries.run(request.body.sql, client.signal);
        return await reply.type('application/json; charset=utf-8').send(json);
      } catch (error) {
        if (error instanceof SandboxStopped && error.stop === 'closed') return reply.code(503).send(errorBody('QUERY_BUSY', error.message));
        if (isMcapflowError(error) && error.code === 'QUERY_BUSY') return reply.header('retry-after', '1').code(429).send(errorBody(error.code, error.message));
        if (isMcapflowError(error) && (error.code === 'QUERY_TIMEOUT' || error.code === 'QUERY_TOO_LARGE'))
          return reply.code(400).send(errorBody(error.code, error.message));
        throw error;
      }
    },
  );
}

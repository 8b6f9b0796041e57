import type { FastifyInstance } from 'fastify';
import { queryCatalog } from '../../catalog/query-session.ts';
import { errorResponses, type AdminContext } from './context.ts';

export function queryRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.post<{ Body: { sql: string } }>(
    '/v1/query',
    {
      schema: {
        summary: 'Read-only SQL over the committed tables',
        description:
          'One SELECT (or WITH … SELECT) statement over recordings, topics, messages and the schema tables. No file or network access beyond the catalog; row and time limits apply.',
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
        },
      },
    },
    async (request) => {
      const { services } = ctx;
      return queryCatalog({ store: services.store, derivedBucket: services.config.derivedBucket, home: services.config.home }, request.body.sql, {
        maxRows: services.config.queryMaxRows,
        timeoutMs: services.config.queryTimeoutMs,
      });
    },
  );
}

import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '../../errors.ts';
import type { BackfillRequest } from '../backfills.ts';
import { errorResponses, type AdminContext } from './context.ts';

const STATUS_SCHEMA = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    state: { type: 'string', enum: ['running', 'done', 'cancelled', 'failed'] },
    bucket: { type: 'string' },
    prefix: { type: 'string' },
    since: { type: ['string', 'null'] },
    until: { type: ['string', 'null'] },
    force: { type: 'boolean' },
    listed: { type: 'integer' },
    enqueued: { type: 'integer' },
    skipped: { type: 'integer' },
    committed: { type: 'integer' },
    quarantined: { type: 'integer' },
    failed: { type: 'integer' },
    error: { type: ['string', 'null'] },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
  },
} as const;

export function backfillRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.post<{ Body: BackfillRequest }>(
    '/v1/backfills',
    {
      schema: {
        summary: 'Start a backfill over a bucket prefix',
        description:
          'Lists the prefix page by page and enqueues every recording, pausing while the ingest queue is deep. Recordings already committed with the current operator versions are skipped unless force is true.',
        tags: ['backfills'],
        body: {
          type: 'object',
          required: ['bucket', 'prefix'],
          additionalProperties: false,
          properties: {
            bucket: { type: 'string', minLength: 3, maxLength: 63 },
            prefix: { type: 'string', maxLength: 1024 },
            since: { type: 'string', format: 'date-time' },
            until: { type: 'string', format: 'date-time' },
            force: { type: 'boolean' },
          },
        },
        response: { 202: { type: 'object', properties: { id: { type: 'string' } } }, ...errorResponses },
      },
    },
    async (request, reply) => reply.code(202).send({ id: await ctx.backfills.start(request.body) }),
  );

  app.get(
    '/v1/backfills',
    {
      schema: {
        summary: 'Recent backfills',
        tags: ['backfills'],
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: STATUS_SCHEMA } } } },
      },
    },
    async () => ({
      items: await ctx.backfills.list(),
    }),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/backfills/:id',
    { schema: { summary: 'Progress of a backfill', tags: ['backfills'], response: { 200: STATUS_SCHEMA, ...errorResponses } } },
    async (request) => {
      const status = await ctx.backfills.get(request.params.id);
      if (status === undefined) throw new NotFoundError(`no backfill ${request.params.id}`);
      return status;
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/backfills/:id',
    { schema: { summary: 'Cancel a backfill (jobs already enqueued still run)', tags: ['backfills'], response: { 200: STATUS_SCHEMA, ...errorResponses } } },
    async (request) => {
      const status = await ctx.backfills.cancel(request.params.id);
      if (status === undefined) throw new NotFoundError(`no backfill ${request.params.id}`);
      return status;
    },
  );
}

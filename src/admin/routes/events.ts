import type { FastifyInstance } from 'fastify';
import { handleS3Event } from '../../dispatcher/event-handler.ts';
import { requireToken } from '../auth.ts';
import { errorResponses, type AdminContext } from './context.ts';

/** The S3 event notification webhook (AWS Records[] JSON; MinIO's webhook target sends the same). */
export function eventRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.post(
    '/v1/events/s3',
    {
      onRequest: requireToken(ctx.tokens.webhook, { realm: 'webhook' }),
      schema: {
        summary: 'Receive an S3 event notification',
        description:
          'Each ObjectCreated record of a recording key becomes an ingest job (duplicates collapse). Other records and keys are acknowledged and ignored.',
        tags: ['events'],
        body: { type: 'object' },
        response: { 200: { type: 'object', properties: { enqueued: { type: 'integer' }, ignored: { type: 'integer' } } }, ...errorResponses },
      },
    },
    async (request) => {
      const outcome = await handleS3Event(request.body, {
        queues: ctx.services.queues,
        recordingSuffixes: ctx.services.config.recordingSuffixes,
        keysUrlEncoded: true,
      });
      for (const o of outcome.enqueued) ctx.log.info({ bucket: o.bucket, key: o.key }, 'webhook: ingest enqueued');
      return { enqueued: outcome.enqueued.length, ignored: outcome.ignored.length };
    },
  );
}

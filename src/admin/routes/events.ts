import type { FastifyInstance } from 'fastify';
import { eventHandlerOptions, foreignBucketsProblem, handleS3Event } from '../../dispatcher/event-handler.ts';
import { InvalidInputError } from '../../errors.ts';
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
          'Each ObjectCreated record of a recording key in a bucket events are taken from (MCAPFLOW_EVENT_BUCKETS, default the raw bucket) becomes an ingest job (duplicates collapse). Other records are acknowledged and listed in ignoredRecords with the reason; a notification whose every record is for another bucket is refused with 400.',
        tags: ['events'],
        body: { type: 'object' },
        response: {
          200: {
            type: 'object',
            properties: {
              enqueued: { type: 'integer' },
              ignored: { type: 'integer' },
              ignoredRecords: {
                type: 'array',
                items: { type: 'object', properties: { bucket: { type: 'string' }, key: { type: 'string' }, reason: { type: 'string' } } },
              },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const options = eventHandlerOptions(ctx.services.config, ctx.services.queues, true);
      const outcome = await handleS3Event(request.body, options);
      for (const o of outcome.enqueued) ctx.log.info({ bucket: o.bucket, key: o.key }, 'webhook: ingest enqueued');
      const problem = foreignBucketsProblem(outcome, options.buckets);
      if (problem !== undefined) throw new InvalidInputError('BAD_EVENT', problem);
      return {
        enqueued: outcome.enqueued.length,
        ignored: outcome.ignored.length,
        ignoredRecords: outcome.ignored.map((r) => ({ bucket: r.bucket, key: r.key, reason: r.why })),
      };
    },
  );
}

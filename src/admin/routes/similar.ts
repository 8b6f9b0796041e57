import type { FastifyInstance } from 'fastify';
import { parseTimeArgument } from '../../catalog/extraction-plan.ts';
import { DEFAULT_WINDOW_TABLE, similarWindows } from '../../catalog/similarity.ts';
import { isRecordingId } from '../../domain/identity.ts';
import { InvalidInputError } from '../../errors.ts';
import { startSimilarityRefresher } from '../similarity-refresher.ts';
import { adminCatalog, errorResponses, type AdminContext } from './context.ts';

/** Similarity search through the admin process's persisted index: loaded once, grown as recordings commit. */
export function similarRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const location = adminCatalog(ctx);
  const refresher = startSimilarityRefresher(location, ctx.services.config.similarityRefreshMs, ctx.log);
  app.addHook('onClose', async () => refresher.stop());

  app.get<{ Params: { id: string }; Querystring: { at: string; k?: number; topic?: string; table?: string } }>(
    '/v1/recordings/:id/similar',
    {
      schema: {
        summary: 'The windows across every committed recording most like the window of this recording containing a time',
        description: `Compares the per-window feature vectors of a window-feature table (default ${DEFAULT_WINDOW_TABLE}) through a persisted HNSW index, nearest first. \`at\` is integer nanoseconds or ISO 8601. The answer's \`index\` says whether the index was loaded from memory or the store and which recordings were added to it.`,
        tags: ['recordings'],
        querystring: {
          type: 'object',
          required: ['at'],
          additionalProperties: false,
          properties: {
            at: { type: 'string', maxLength: 64 },
            k: { type: 'integer', minimum: 1, maximum: 1000, default: 5 },
            topic: { type: 'string', maxLength: 1024 },
            table: { type: 'string', maxLength: 255 },
          },
        },
        response: errorResponses,
      },
    },
    async (request) => {
      const { id } = request.params;
      if (!isRecordingId(id)) throw new InvalidInputError('BAD_ARGUMENT', `${JSON.stringify(id)} is not a recording id (32 hex characters)`);
      return similarWindows(location, {
        recordingId: id,
        at: parseTimeArgument('at', request.query.at),
        k: request.query.k ?? 5,
        topic: request.query.topic,
        table: request.query.table,
      });
    },
  );
}

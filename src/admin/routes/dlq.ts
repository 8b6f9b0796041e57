import type { FastifyInstance } from 'fastify';
import { InvalidInputError, NotFoundError } from '../../errors.ts';
import { isDeadLetterId, type DeadLetter } from '../../queue/dead-letters.ts';
import { errorResponses, type AdminContext } from './context.ts';

/** A well-formed entry id, or a 400 naming the format (ids reach Redis keys). */
function entryId(id: string): string {
  if (!isDeadLetterId(id))
    throw new InvalidInputError('BAD_ARGUMENT', `${JSON.stringify(id)} is not a dead-letter entry id (<queue>-<job id>, e.g. index-<recording id>-index-0)`);
  return id;
}

export function dlqRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { deadLetters, status } = ctx.services;

  /** A retried recording is back in progress until its jobs finish again. */
  const retry = async (letter: DeadLetter): Promise<string[]> => {
    const retried = await deadLetters.retry(letter.id);
    if (letter.recordingId) await status.set(letter.recordingId, 'processing', { reason: null });
    return retried;
  };

  app.get<{ Querystring: { limit?: number } }>(
    '/v1/dlq',
    {
      schema: {
        summary: 'Dead-letter entries: input, every attempt, timestamps, worker',
        tags: ['dlq'],
        querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } } },
      },
    },
    async (request) => {
      const items = await deadLetters.list(0, (request.query.limit ?? 100) - 1);
      return { count: await deadLetters.count(), items };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/dlq/:id/retry',
    { schema: { summary: 'Retry an entry: its recording re-enters the flow where it failed', tags: ['dlq'], response: errorResponses } },
    async (request) => {
      const letter = await deadLetters.get(entryId(request.params.id));
      if (letter === undefined) throw new NotFoundError(`no dead-letter entry ${request.params.id}`);
      return { id: letter.id, retried: await retry(letter) };
    },
  );

  app.post('/v1/dlq/retry-all', { schema: { summary: 'Retry every entry', tags: ['dlq'] } }, async () => {
    const results: { id: string; retried?: string[]; error?: string }[] = [];
    for (let letters = await deadLetters.list(0, 999); letters.length > 0;) {
      const letter = letters.shift()!;
      // Retrying one entry can also settle its siblings of the same recording.
      if ((await deadLetters.get(letter.id)) === undefined) continue;
      try {
        results.push({ id: letter.id, retried: await retry(letter) });
      } catch (error) {
        results.push({ id: letter.id, error: error instanceof Error ? error.message : String(error) });
      }
    }
    return { results };
  });

  app.delete<{ Params: { id: string } }>(
    '/v1/dlq/:id',
    { schema: { summary: 'Discard an entry (its failed job is removed; the recording stays failed)', tags: ['dlq'], response: errorResponses } },
    async (request) => {
      if (!(await deadLetters.discard(entryId(request.params.id)))) throw new NotFoundError(`no dead-letter entry ${request.params.id}`);
      return { id: request.params.id, discarded: true };
    },
  );
}

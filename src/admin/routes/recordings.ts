import type { FastifyInstance } from 'fastify';
import { isRecordingId } from '../../domain/identity.ts';
import { InvalidInputError, NotFoundError } from '../../errors.ts';
import { readManifest, readQuarantine } from '../../operators/commit-op.ts';
import type { RecordingState } from '../../status/recording-status.ts';
import { errorResponses, type AdminContext } from './context.ts';

const STATES = ['queued', 'planning', 'processing', 'committed', 'quarantined', 'failed'];

export function recordingRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.get<{ Querystring: { status?: RecordingState; limit?: number; cursor?: string } }>(
    '/v1/recordings',
    {
      schema: {
        summary: 'Recordings by last update, newest first',
        tags: ['recordings'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: STATES },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
            cursor: { type: 'string' },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { items: { type: 'array', items: { type: 'object', additionalProperties: true } }, next: { type: ['string', 'null'] } },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { status, limit = 50, cursor } = request.query;
      return ctx.services.status.list({ limit, cursor, state: status });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/recordings/:id',
    {
      schema: {
        summary: 'One recording: status, manifest, per-topic summary, errors',
        tags: ['recordings'],
        response: { 200: { type: 'object', additionalProperties: true }, ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params;
      if (!isRecordingId(id)) throw new InvalidInputError('BAD_ARGUMENT', `${JSON.stringify(id)} is not a recording id (32 hex characters)`);
      const { services } = ctx;
      const [status, manifest, quarantine, letters] = await Promise.all([
        services.status.get(id),
        readManifest(services.store, services.config.derivedBucket, id),
        readQuarantine(services.store, services.config.derivedBucket, id),
        services.deadLetters.list(0, 999),
      ]);
      if (status === undefined && manifest === undefined && quarantine === undefined) throw new NotFoundError(`no recording ${id}`);
      const errors = letters
        .filter((l) => l.recordingId === id)
        .map((l) => ({ dlq_id: l.id, queue: l.queue, job_id: l.jobId, reason: l.failedReason, attempts: l.attempts.length }));
      return {
        recording_id: id,
        status: manifest ? 'committed' : quarantine ? 'quarantined' : (status?.state ?? 'unknown'),
        reason: manifest?.reason ?? quarantine?.reason ?? status?.reason ?? null,
        source: manifest?.source.uri ?? status?.source ?? null,
        progress: status ? { jobs_done: status.jobsDone, jobs_total: status.jobsTotal, updated_at: status.updatedAt } : null,
        topics: manifest?.topics ?? [],
        manifest: manifest ?? null,
        errors,
      };
    },
  );
}

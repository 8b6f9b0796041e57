import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import {
  EXTRACT_CONTENT_TYPES,
  EXTRACT_FORMATS,
  extractFilename,
  extractMcap,
  extractParquet,
  parseFormat,
  parseTimeArgument,
  planExtraction,
} from '../../catalog/extraction.ts';
import { isRecordingId } from '../../domain/identity.ts';
import { InvalidInputError, NotFoundError } from '../../errors.ts';
import { readManifest, readQuarantine } from '../../operators/commit-op.ts';
import { RECORDING_STATES, type RecordingState } from '../../status/recording-status.ts';
import { errorResponses, type AdminContext } from './context.ts';

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
            status: { type: 'string', enum: [...RECORDING_STATES] },
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

  app.get<{ Params: { id: string }; Querystring: { topic?: string[]; start?: string; end?: string; format?: string } }>(
    '/v1/recordings/:id/extract',
    {
      schema: {
        summary: 'Download the messages of some topics in a time window: an indexed MCAP streamed chunk by chunk, or their decoded rows as Parquet',
        description:
          'Reads only the chunks the chunk index says hold those topics in [start, end). No topic: every topic. Times are integer nanoseconds or ISO 8601. Parquet answers one schema table per request. The x-mcapflow-* headers say what the extraction reads from object storage.',
        tags: ['recordings'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            topic: { type: 'array', items: { type: 'string', maxLength: 1024 }, maxItems: 1000 },
            start: { type: 'string', maxLength: 64 },
            end: { type: 'string', maxLength: 64 },
            format: { type: 'string', enum: [...EXTRACT_FORMATS] },
          },
        },
        response: errorResponses,
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const { services } = ctx;
      const { config } = services;
      const topics = request.query.topic ?? [];
      const format = parseFormat(request.query.format);
      const start = request.query.start === undefined ? undefined : parseTimeArgument('start', request.query.start);
      const end = request.query.end === undefined ? undefined : parseTimeArgument('end', request.query.end);
      // Everything a request can get wrong is refused here, before the first byte of the download.
      const x = await planExtraction(
        {
          store: services.store,
          derivedBucket: config.derivedBucket,
          cacheDir: services.work.settings.cacheDir,
          maxRecordBytes: config.maxRecordBytes,
          maxChunkBytes: config.maxChunkBytes,
        },
        { recordingId: id, topics, start, end, format },
      );
      if (format === 'parquet' && x.tables.size > 1)
        throw new InvalidInputError(
          'BAD_ARGUMENT',
          `those topics decode to ${x.tables.size} tables (${[...x.tables.keys()].join(', ')}); ask for the topics of one table per request`,
        );
      reply
        .header('content-type', EXTRACT_CONTENT_TYPES[format])
        .header('content-disposition', `attachment; filename="${extractFilename(x, format, topics)}"`)
        .header('x-mcapflow-chunks-read', String(x.segments.length))
        .header('x-mcapflow-chunks-total', String(x.segmentsTotal))
        .header('x-mcapflow-bytes-read', String(x.metadataRead.bytes + x.segmentBytes + x.gapBytes))
        .header('x-mcapflow-recording-bytes', String(x.plan.source.size));
      if (format === 'parquet') {
        const { files, report } = await extractParquet(x, { rowGroupRows: config.parquetRowGroupRows });
        ctx.log.info({ extraction: report }, 'extracted');
        return reply.send(Buffer.from(files[0]!.bytes));
      }
      const body = new PassThrough();
      extractMcap(x, body).then(
        (report) => ctx.log.info({ extraction: report }, 'extracted'),
        (error: unknown) => ctx.log.warn({ recording_id: id, problem: error instanceof Error ? error.message : String(error) }, 'extraction stopped'),
      );
      return reply.send(body);
    },
  );
}

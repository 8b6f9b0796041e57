/**
 * The data browser's API: recordings searched, filtered, sorted and paged; a recording's
 * coverage timeline; the numeric fields of its tables; and time series downsampled here, so a
 * plot of an hour of 200 Hz IMU ships a few thousand points, never millions.
 */
import type { FastifyInstance } from 'fastify';
import { committedRecordings } from '../../catalog/query-session.ts';
import { parseTimeArgument } from '../../catalog/extraction-plan.ts';
import { listRecordings, recordingListItems, RECORDING_SORTS, type RecordingSort } from '../../catalog/recording-list.ts';
import { RecordingExplorer, type QueryAnswer } from '../../catalog/recording-explorer.ts';
import type { Manifest } from '../../domain/manifest.ts';
import { isRecordingId } from '../../domain/identity.ts';
import { InvalidInputError, NotFoundError } from '../../errors.ts';
import { RECORDING_STATES, type RecordingState, type RecordingStatus } from '../../status/recording-status.ts';
import { adminCatalog, adminQueries, errorResponses, type AdminContext } from './context.ts';

/**
 * Statuses read for one listing: the most recently updated this many. Committed recordings are
 * listed from their manifests whatever their age; this bounds how far back a queued, failed
 * or quarantined one is found (5,000 statuses read in one pipelined round trip per 200: ~70 ms).
 */
const MAX_STATUSES = 5000;

const optionalTime = (name: string, text: string | undefined) => (text === undefined || text === '' ? undefined : parseTimeArgument(name, text));

async function recentStatuses(ctx: AdminContext): Promise<RecordingStatus[]> {
  const out: RecordingStatus[] = [];
  let cursor: string | undefined;
  do {
    const page = await ctx.services.status.list({ limit: MAX_STATUSES - out.length, cursor });
    out.push(...page.items);
    cursor = page.next ?? undefined;
  } while (cursor !== undefined && out.length < MAX_STATUSES);
  return out;
}

export function browseRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const location = adminCatalog(ctx);
  const queries = adminQueries(ctx);
  const explorer = new RecordingExplorer(async (sql) => JSON.parse(await queries.run(sql)) as QueryAnswer, { maxRows: ctx.services.config.queryMaxRows });

  async function committedManifest(id: string): Promise<Manifest> {
    if (!isRecordingId(id)) throw new InvalidInputError('BAD_ARGUMENT', `${JSON.stringify(id)} is not a recording id (32 hex characters)`);
    const found = (await committedRecordings(location)).find((r) => r.manifest.recording_id === id);
    if (found === undefined) throw new NotFoundError(`no committed recording ${id}`);
    return found.manifest;
  }

  app.get<{
    Querystring: {
      q?: string;
      topic?: string;
      schema?: string;
      status?: RecordingState;
      from?: string;
      to?: string;
      sort?: RecordingSort;
      order?: 'asc' | 'desc';
      page?: number;
      per_page?: number;
    };
  }>(
    '/v1/browse/recordings',
    {
      schema: {
        summary: 'Recordings searched, filtered by time, topic, schema and status, sorted and paged',
        description:
          '`q` matches the source URI or the id; `topic` is an exact topic name; `schema` a part of a schema name; `from`/`to` (ns or ISO 8601) a recorded time range the recording must overlap. Committed recordings come from the catalog, the others from their processing status.',
        tags: ['browse'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            q: { type: 'string', maxLength: 1024 },
            topic: { type: 'string', maxLength: 1024 },
            schema: { type: 'string', maxLength: 1024 },
            status: { type: 'string', enum: [...RECORDING_STATES] },
            from: { type: 'string', maxLength: 64 },
            to: { type: 'string', maxLength: 64 },
            sort: { type: 'string', enum: [...RECORDING_SORTS], default: 'updated' },
            order: { type: 'string', enum: ['asc', 'desc'], default: 'desc' },
            page: { type: 'integer', minimum: 1, maximum: 1_000_000, default: 1 },
            per_page: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
          },
        },
        response: errorResponses,
      },
    },
    async (request) => {
      const q = request.query;
      const [committed, statuses] = await Promise.all([committedRecordings(location), recentStatuses(ctx)]);
      return listRecordings(recordingListItems(committed, statuses), {
        text: q.q || undefined,
        topic: q.topic || undefined,
        schema: q.schema || undefined,
        state: q.status,
        from: optionalTime('from', q.from),
        to: optionalTime('to', q.to),
        sort: q.sort ?? 'updated',
        descending: (q.order ?? 'desc') === 'desc',
        page: q.page ?? 1,
        perPage: q.per_page ?? 50,
      });
    },
  );

  app.get<{ Params: { id: string }; Querystring: { buckets?: number } }>(
    '/v1/recordings/:id/timeline',
    {
      schema: {
        summary: "A recording's coverage: messages per topic and time bucket, with its gaps and out-of-order stretches",
        description:
          'Counts come from the `messages` index; gaps are intervals longer than 3× the topic median period (longest first), out-of-order buckets hold messages logged earlier than the one before them in the file. The bucket count is lowered so that one row per topic and bucket fits in MCAPFLOW_QUERY_MAX_ROWS.',
        tags: ['browse'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { buckets: { type: 'integer', minimum: 1, maximum: 2000, default: 300 } },
        },
        response: errorResponses,
      },
    },
    async (request) => explorer.timeline(await committedManifest(request.params.id), request.query.buckets ?? 300),
  );

  app.get<{ Params: { id: string; table: string } }>(
    '/v1/recordings/:id/tables/:table/fields',
    {
      schema: {
        summary: 'The numeric fields of one of a recording’s tables (struct members as dotted paths), its topics and its time column',
        tags: ['browse'],
        response: errorResponses,
      },
    },
    async (request) => {
      const { paths: _paths, ...fields } = await explorer.fields(await committedManifest(request.params.id), request.params.table);
      return fields;
    },
  );

  app.get<{ Params: { id: string }; Querystring: { table: string; field: string[]; topic?: string; start?: string; end?: string; points?: number } }>(
    '/v1/recordings/:id/series',
    {
      schema: {
        summary: 'Numeric fields of a table over time, downsampled on the server to at most `points` buckets (min, max and mean each)',
        description:
          'Without start/end: the whole recording. A window-feature table (no log_time) is placed in time by window_start. `rows` says how many source rows the range held; `downsampled` whether points are bucket envelopes.',
        tags: ['browse'],
        querystring: {
          type: 'object',
          required: ['table', 'field'],
          additionalProperties: false,
          properties: {
            table: { type: 'string', maxLength: 255 },
            field: { type: 'array', items: { type: 'string', maxLength: 1024 }, minItems: 1, maxItems: 12 },
            topic: { type: 'string', maxLength: 1024 },
            start: { type: 'string', maxLength: 64 },
            end: { type: 'string', maxLength: 64 },
            points: { type: 'integer', minimum: 10, maximum: 5000, default: 1000 },
          },
        },
        response: errorResponses,
      },
    },
    async (request) => {
      const q = request.query;
      return explorer.series(await committedManifest(request.params.id), {
        table: q.table,
        fields: q.field,
        topic: q.topic || undefined,
        start: optionalTime('start', q.start),
        end: optionalTime('end', q.end),
        points: q.points ?? 1000,
      });
    },
  );
}

/**
 * The stored format of a plan, checked wherever one is read back: a job runs on the plan
 * its key names, so a plan from another version (or damaged in the bucket) must fail with a
 * reason, not half-work. `parsePlan` is the one way to read a plan.
 */
import { z } from 'zod';
import { McapflowError } from '../errors.ts';
import { PLAN_FORMAT, type RecordingPlan } from './plan.ts';

const count = z.number().int().nonnegative();
const nanoseconds = z.string().regex(/^-?\d{1,20}$/, 'must be integer nanoseconds as a string');

const segment = z.object({
  kind: z.enum(['chunk', 'records']),
  offset: count,
  length: count,
  compression: z.string(),
  compressedSize: count,
  uncompressedSize: count,
  messageStartTime: nanoseconds,
  messageEndTime: nanoseconds,
  messageIndex: z.object({ offset: count, length: count }).optional(),
});

const span = z.object({ index: count, start: count, end: count, segments: z.array(segment), messageStartTime: nanoseconds, messageEndTime: nanoseconds });

const topic = z.object({
  channelId: count,
  topic: z.string(),
  schemaId: count,
  schemaName: z.string(),
  schemaEncoding: z.string(),
  messageEncoding: z.string(),
  table: z.string().nullable(),
  status: z.enum(['ok', 'undecodable']),
  reason: z.string().nullable(),
});

const planSchema = z.object({
  format: z.literal(PLAN_FORMAT),
  recordingId: z.string().regex(/^[0-9a-f]{32}$/),
  source: z.object({ bucket: z.string(), key: z.string(), size: count, etag: z.string().optional(), sha256: z.string().optional() }),
  profile: z.string(),
  library: z.string(),
  planner: z.enum(['summary', 'scan']),
  schemas: z.array(z.object({ id: count, name: z.string(), encoding: z.string(), data: z.string() })),
  channels: z.array(z.object({ id: count, schemaId: count, topic: z.string(), messageEncoding: z.string(), metadata: z.record(z.string(), z.string()) })),
  topics: z.array(topic),
  spans: z.array(span),
  tables: z.array(z.string()),
  damage: z.array(z.string()),
  params: z.object({ spanMaxBytes: count, spanMaxUncompressedBytes: count.optional(), blobThresholdBytes: count }),
  attachments: z
    .array(z.object({ offset: count, length: count, name: z.string(), mediaType: z.string(), logTime: nanoseconds, createTime: nanoseconds, dataSize: count }))
    .optional(),
  metadata: z.array(z.object({ offset: count, length: count, name: z.string() })).optional(),
  statistics: z
    .object({
      messageCount: nanoseconds,
      messageStartTime: nanoseconds,
      messageEndTime: nanoseconds,
      chunkCount: count,
      attachmentCount: count,
      metadataCount: count,
      channelMessageCounts: z.record(z.string(), nanoseconds),
    })
    .optional(),
  plannerNote: z.string().optional(),
  update: z.object({ basePlanKey: z.string(), operators: z.array(z.string()) }).optional(),
}) satisfies z.ZodType<RecordingPlan, unknown>;

/** The plan in `text`, or an error naming what is wrong (not JSON, another format, a field). */
export function parsePlan(text: string, key: string): RecordingPlan {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new McapflowError('PLAN_INVALID', `plan ${key} is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const format = (json as { format?: unknown } | null)?.format;
  if (format !== PLAN_FORMAT) throw new McapflowError('PLAN_INVALID', `plan ${key} has format ${JSON.stringify(format)}; this version reads ${PLAN_FORMAT}`);
  const parsed = planSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`);
    throw new McapflowError('PLAN_INVALID', `plan ${key} does not fit ${PLAN_FORMAT}: ${problems.join('; ')}`);
  }
  return parsed.data;
}

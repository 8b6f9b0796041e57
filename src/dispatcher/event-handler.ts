/**
 * The one handler for S3 event notifications, whatever their source (embedded server,
 * webhook, SQS): each created recording in a bucket mcapflow takes events from becomes an
 * ingest job whose id is derived from the object's identity, so duplicate events for the
 * same object create one job. Records for other buckets are ignored with a reason: a job
 * for a bucket nobody configured can only fail, and would end in the dead-letter queue.
 */
import type { Config } from '../config/config.ts';
import { ingestJobIdFor } from '../domain/identity.ts';
import { validateObjectKey } from '../domain/object-keys.ts';
import { parseS3Event, type ObjectCreated } from '../domain/s3-event.ts';
import type { IngestJobData, Trigger } from '../queue/jobs.ts';
import type { Queues } from '../queue/queues.ts';
import { inSpan, SpanKind, traceCarrier } from '../observability/tracing.ts';

export interface IgnoredRecord {
  bucket: string;
  key: string;
  why: string;
  /** `bucket`: not a bucket events are taken from; `key`: not a recording key. */
  cause: 'bucket' | 'key';
}

export interface EventOutcome {
  enqueued: ObjectCreated[];
  ignored: IgnoredRecord[];
}

export interface EventHandlerOptions {
  queues: Queues;
  recordingSuffixes: string[];
  /** Buckets whose records become jobs (see eventBuckets). */
  buckets: readonly string[];
  keysUrlEncoded: boolean;
}

/** The buckets whose object-created events are taken: MCAPFLOW_EVENT_BUCKETS, else the raw bucket. */
export function eventBuckets(config: Pick<Config, 'rawBucket' | 'eventBuckets'>): string[] {
  return config.eventBuckets ?? [config.rawBucket];
}

/** Handler options from the configuration; `keysUrlEncoded` depends on the source. */
export function eventHandlerOptions(
  config: Pick<Config, 'rawBucket' | 'eventBuckets' | 'recordingSuffixes'>,
  queues: Queues,
  keysUrlEncoded: boolean,
): EventHandlerOptions {
  return { queues, recordingSuffixes: config.recordingSuffixes, buckets: eventBuckets(config), keysUrlEncoded };
}

/**
 * When a notification announced objects but every one is in a bucket events are not taken
 * from, the message that says so (the webhook answers it as a 400, SQS logs it); else undefined.
 */
export function foreignBucketsProblem(outcome: EventOutcome, buckets: readonly string[]): string | undefined {
  if (outcome.enqueued.length > 0 || outcome.ignored.length === 0 || outcome.ignored.some((r) => r.cause !== 'bucket')) return undefined;
  const counts = new Map<string, number>();
  for (const r of outcome.ignored) counts.set(r.bucket, (counts.get(r.bucket) ?? 0) + 1);
  const named = [...counts].slice(0, 5).map(([bucket, n]) => `${JSON.stringify(bucket)} (${n} record${n === 1 ? '' : 's'})`);
  const more = counts.size > 5 ? ` and ${counts.size - 5} more` : '';
  return `no record is for a bucket mcapflow takes events from (${buckets.join(', ')}; set MCAPFLOW_EVENT_BUCKETS to add one): ${named.join(', ')}${more}`;
}

export function isRecordingKey(key: string, suffixes: string[]): boolean {
  const lower = key.toLowerCase();
  return suffixes.some((suffix) => lower.endsWith(suffix.toLowerCase()));
}

/**
 * Enqueues the ingest job of one created object (also used by backfills and the CLI). Events
 * deduplicate on the job id; an explicit request (`rerun`) replaces a finished job with the
 * same id, since the ingest step itself skips what is already committed.
 */
export async function enqueueIngest(
  queues: Queues,
  object: ObjectCreated,
  trigger: Trigger,
  options: { rerun?: boolean; reprocess?: boolean } = {},
): Promise<void> {
  const data: IngestJobData = {
    bucket: object.bucket,
    key: object.key,
    size: object.size,
    etag: object.etag,
    eventTime: object.eventTime,
    trigger,
    ...(options.reprocess ? { reprocess: true } : {}),
  };
  const jobId = ingestJobIdFor(object);
  const queue = queues.queue('ingest');
  if (options.rerun) {
    const previous = await queue.getJob(jobId);
    if (previous !== undefined && ((await previous.isCompleted()) || (await previous.isFailed()))) await previous.remove();
  }
  // The root of the recording's trace: every job of its flow carries this context on.
  const attributes = {
    'mcapflow.source.bucket': object.bucket,
    'mcapflow.source.key': object.key,
    'mcapflow.source.size': object.size,
    'mcapflow.trigger': trigger,
    'mcapflow.event_time': object.eventTime,
    'messaging.destination.name': 'ingest',
    'messaging.message.id': jobId,
  };
  await inSpan('object created', { kind: SpanKind.PRODUCER, attributes }, async () => {
    data.trace = traceCarrier();
    await queue.add('ingest', data, { jobId });
  });
}

/** Throws InvalidInputError (BAD_EVENT, BAD_KEY) for malformed input, before enqueuing anything. */
export async function handleS3Event(body: unknown, options: EventHandlerOptions): Promise<EventOutcome> {
  const created = parseS3Event(body, { keysUrlEncoded: options.keysUrlEncoded });
  const outcome: EventOutcome = { enqueued: [], ignored: [] };
  const accepted = created.filter((object) => options.buckets.includes(object.bucket));
  for (const object of accepted) validateObjectKey(object.key);
  for (const object of created) {
    if (!options.buckets.includes(object.bucket)) {
      const why = `bucket ${JSON.stringify(object.bucket)} is not one mcapflow takes events from (${options.buckets.join(', ')})`;
      outcome.ignored.push({ bucket: object.bucket, key: object.key, why, cause: 'bucket' });
      continue;
    }
    if (!isRecordingKey(object.key, options.recordingSuffixes)) {
      outcome.ignored.push({ bucket: object.bucket, key: object.key, why: `key does not end with ${options.recordingSuffixes.join(' or ')}`, cause: 'key' });
      continue;
    }
    await enqueueIngest(options.queues, object, 'event');
    outcome.enqueued.push(object);
  }
  return outcome;
}

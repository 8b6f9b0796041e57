/**
 * The one handler for S3 event notifications, whatever their source (embedded server,
 * webhook, SQS): each created recording becomes an ingest job whose id is derived from the
 * object's identity, so duplicate events for the same object create one job.
 */
import { ingestJobIdFor } from '../domain/identity.ts';
import { validateObjectKey } from '../domain/object-keys.ts';
import { parseS3Event, type ObjectCreated } from '../domain/s3-event.ts';
import type { IngestJobData, Trigger } from '../queue/jobs.ts';
import type { Queues } from '../queue/queues.ts';
import { inSpan, SpanKind, traceCarrier } from '../observability/tracing.ts';

export interface EventOutcome {
  enqueued: ObjectCreated[];
  ignored: { bucket: string; key: string; why: string }[];
}

export interface EventHandlerOptions {
  queues: Queues;
  recordingSuffixes: string[];
  keysUrlEncoded: boolean;
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
  for (const object of created) validateObjectKey(object.key);
  for (const object of created) {
    if (!isRecordingKey(object.key, options.recordingSuffixes)) {
      outcome.ignored.push({ bucket: object.bucket, key: object.key, why: `key does not end with ${options.recordingSuffixes.join(' or ')}` });
      continue;
    }
    await enqueueIngest(options.queues, object, 'event');
    outcome.enqueued.push(object);
  }
  return outcome;
}

import type { RecordingPlan } from '../domain/plan.ts';
import type { Span } from '../domain/spans.ts';
import { NotFoundError } from '../errors.ts';
import type { ReadAccounting } from '../queue/jobs.ts';
import type { OperatorContext } from './context.ts';
import type { SpanReadOptions } from '../mcap/span-reader.ts';
import { countBytesNeeded } from '../observability/metrics.ts';
import { setSpanAttributes } from '../observability/tracing.ts';

/**
 * Span fetches shared in this process: the index and extract jobs of a span usually start
 * together, and when they land on the same worker the second one takes the first one's
 * bytes instead of a second GET. An entry is dropped once both have taken it, or after a
 * short time (the partner ran elsewhere), so little memory is held.
 */
const SHARED_CONSUMERS = 2;
const SHARED_TTL_MS = 15_000;
const SHARED_MAX_ENTRIES = 4;
const shared = new Map<string, { bytes: Promise<Uint8Array>; takers: number; timer: NodeJS.Timeout }>();

function takeShared(key: string, fetch: () => Promise<Uint8Array>): { bytes: Promise<Uint8Array>; fetched: boolean } {
  const entry = shared.get(key);
  if (entry !== undefined) {
    entry.takers += 1;
    if (entry.takers >= SHARED_CONSUMERS) {
      clearTimeout(entry.timer);
      shared.delete(key);
    }
    return { bytes: entry.bytes, fetched: false };
  }
  const bytes = fetch();
  if (shared.size < SHARED_MAX_ENTRIES) {
    const timer = setTimeout(() => shared.delete(key), SHARED_TTL_MS).unref();
    shared.set(key, { bytes, takers: 1, timer });
    bytes.catch(() => {
      clearTimeout(timer);
      shared.delete(key);
    });
  }
  return { bytes, fetched: true };
}

/** How span jobs read a span of `plan`: bounded allocations, CRCs checked, the plan's channels to hold the bytes to. */
export function spanReadOptions(ctx: OperatorContext, plan: RecordingPlan): SpanReadOptions {
  return {
    maxRecordBytes: ctx.settings.maxRecordBytes,
    maxChunkBytes: ctx.settings.maxChunkBytes,
    validateCrc: true,
    plannedChannels: new Map(plan.channels.map((c) => [c.id, { topic: c.topic, schemaId: c.schemaId }])),
  };
}

/** The bytes of one span: a single ranged GET over all of its chunks. */
export async function fetchSpan(
  ctx: OperatorContext,
  plan: RecordingPlan,
  spanIndex: number,
): Promise<{ span: Span; bytes: Uint8Array; read: ReadAccounting }> {
  const span = plan.spans[spanIndex];
  if (span === undefined) throw new NotFoundError(`recording ${plan.recordingId} has no span ${spanIndex} (it has ${plan.spans.length})`);
  const { bucket, key } = plan.source;
  const take = takeShared(`${plan.recordingId}/${span.start}-${span.end}`, () => ctx.store.getRange(bucket, key, span.start, span.end, 'span'));
  const bytes = await take.bytes;
  const fetched = take.fetched ? bytes.length : 0;
  // The chunks are needed; the message indexes between them come along in the one GET.
  const needed = span.segments.reduce((n, s) => n + s.length, 0);
  // The metric pairs each GET with what it was needed for (scan amplification stays
  // fetched / needed ≥ 1); a job that took its partner's bytes added no read to explain.
  if (take.fetched) countBytesNeeded('span', needed);
  setSpanAttributes({
    'mcapflow.span.index': span.index,
    'mcapflow.span.start': span.start,
    'mcapflow.span.end': span.end,
    'mcapflow.span.segments': span.segments.length,
    'mcapflow.bytes.fetched': fetched,
    'mcapflow.bytes.needed': needed,
  });
  return { span, bytes, read: { fetched, needed } };
}

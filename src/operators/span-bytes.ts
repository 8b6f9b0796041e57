import type { RecordingPlan } from '../domain/plan.ts';
import type { Span } from '../domain/spans.ts';
import { NotFoundError } from '../errors.ts';
import type { ReadAccounting } from '../queue/jobs.ts';
import type { OperatorContext } from './context.ts';
import { countBytesNeeded } from '../observability/metrics.ts';
import { setSpanAttributes } from '../observability/tracing.ts';

/** The bytes of one span: a single ranged GET over all of its chunks. */
export async function fetchSpan(ctx: OperatorContext, plan: RecordingPlan, spanIndex: number): Promise<{ span: Span; bytes: Uint8Array; read: ReadAccounting }> {
  const span = plan.spans[spanIndex];
  if (span === undefined) throw new NotFoundError(`recording ${plan.recordingId} has no span ${spanIndex} (it has ${plan.spans.length})`);
  const bytes = await ctx.store.getRange(plan.source.bucket, plan.source.key, span.start, span.end, 'span');
  // The chunks are needed; the message indexes between them come along in the one GET.
  const needed = span.segments.reduce((n, s) => n + s.length, 0);
  countBytesNeeded('span', needed);
  setSpanAttributes({ 'mcapflow.span.index': span.index, 'mcapflow.span.start': span.start, 'mcapflow.span.end': span.end, 'mcapflow.span.segments': span.segments.length, 'mcapflow.bytes.fetched': bytes.length, 'mcapflow.bytes.needed': needed });
  return { span, bytes, read: { fetched: bytes.length, needed } };
}

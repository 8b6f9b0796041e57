import type { RecordingPlan } from '../domain/plan.ts';
import type { Span } from '../domain/spans.ts';
import { NotFoundError } from '../errors.ts';
import type { OperatorContext } from './context.ts';

/** The bytes of one span: a single ranged GET over all of its chunks. */
export async function fetchSpan(ctx: OperatorContext, plan: RecordingPlan, spanIndex: number): Promise<{ span: Span; bytes: Uint8Array }> {
  const span = plan.spans[spanIndex];
  if (span === undefined) throw new NotFoundError(`recording ${plan.recordingId} has no span ${spanIndex} (it has ${plan.spans.length})`);
  const bytes = await ctx.store.getRange(plan.source.bucket, plan.source.key, span.start, span.end, 'span');
  return { span, bytes };
}

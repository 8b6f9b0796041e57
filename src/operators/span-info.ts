/**
 * The span as operators see it (the SDK's SpanInfo), made by the engine. Built-in operators
 * that need the plan's span itself get it through `spanOf`.
 */
import type { Span } from '../domain/spans.ts';
import type { RecordingInfo, SpanInfo } from '../sdk/operator.ts';

export interface EngineSpan {
  span: Span;
  /** File offsets of the span's chunks that have a message index (the index job reads those). */
  indexedChunks: ReadonlySet<number>;
}

const spans = new WeakMap<SpanInfo, EngineSpan>();

export function spanInfo(recording: RecordingInfo, span: Span): SpanInfo {
  const info: SpanInfo = { index: span.index, recording, startTime: BigInt(span.messageStartTime), endTime: BigInt(span.messageEndTime) };
  spans.set(info, { span, indexedChunks: new Set(span.segments.filter((s) => s.messageIndex !== undefined).map((s) => s.offset)) });
  return info;
}

export function spanOf(info: SpanInfo): EngineSpan {
  const span = spans.get(info);
  if (span === undefined) throw new Error(`span ${info.index} was not described by the engine`);
  return span;
}

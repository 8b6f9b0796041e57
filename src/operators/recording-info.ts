/**
 * The recording as operators see it (the SDK's RecordingInfo), made from its plan. Built-in
 * operators need the plan itself (schemas, encodings); `planOf` hands it to them without
 * widening the public type.
 */
import { s3Uri } from '../domain/layout.ts';
import type { RecordingPlan } from '../domain/plan.ts';
import type { RecordingInfo } from '../sdk/operator.ts';

const plans = new WeakMap<RecordingInfo, RecordingPlan>();

export function recordingInfo(plan: RecordingPlan): RecordingInfo {
  const info: RecordingInfo = {
    id: plan.recordingId,
    source: { uri: s3Uri(plan.source.bucket, plan.source.key), size: plan.source.size },
    topics: plan.topics.map((t) => ({ topic: t.topic, channelId: t.channelId, schema: t.schemaName, messageEncoding: t.messageEncoding, table: t.table })),
  };
  plans.set(info, plan);
  return info;
}

/** The plan behind a RecordingInfo the engine made. */
export function planOf(recording: RecordingInfo): RecordingPlan {
  const plan = plans.get(recording);
  if (plan === undefined) throw new Error(`recording ${recording.id} was not described by the engine`);
  return plan;
}

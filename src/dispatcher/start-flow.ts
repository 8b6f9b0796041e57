/**
 * From a recording index to running work: build the plan, store it, and add the BullMQ flow
 * (per-span index and extract jobs under one commit job, which adds the per-table converts
 * once the spans are done).
 */
import { contentAddress } from '../domain/addresses.ts';
import { canonicalJson } from '../domain/canonical-json.ts';
import { objectKey, s3Uri } from '../domain/layout.ts';
import { buildPlan, convertTables, type RecordingPlan, type RecordingSource } from '../domain/plan.ts';
import { classifierFor } from '../decode/registry.ts';
import { InvalidRecordingError } from '../errors.ts';
import type { RecordingIndex } from '../mcap/recording-index.ts';
import { OPERATOR_VERSIONS } from '../operators/versions.ts';
import type { CommitJobData, ScanJobData, SpanJobData } from '../queue/jobs.ts';
import type { Services } from '../runtime/services.ts';
import { setSpanAttributes, traceCarrier } from '../observability/tracing.ts';

/**
 * Job ids of a recording's work. A scan's flow has ids of its own, so a summary-made flow that
 * found its summary wrong can hand over to a scan while its own commit is still running.
 */
export function jobIds(recordingId: string, planner: 'summary' | 'scan' = 'summary') {
  const flow = planner === 'scan' ? `${recordingId}-scan` : recordingId;
  return {
    scan: `${recordingId}-scan`,
    commit: `${flow}-commit`,
    index: (span: number) => `${flow}-index-${span}`,
    extract: (span: number) => `${flow}-extract-${span}`,
    convert: (table: string) => `${flow}-convert-${table}`,
  };
}

/** Queues the scan of a recording; a finished scan of it (a reprocess, a re-plan) is cleared first. */
export async function enqueueScan(services: Services, data: ScanJobData): Promise<void> {
  const queue = services.queues.queue('scan');
  const id = jobIds(data.recordingId).scan;
  const previous = await queue.getJob(id);
  if (previous !== undefined && ((await previous.isCompleted()) || (await previous.isFailed()))) await previous.remove();
  await queue.add('scan', data, { jobId: id });
}

export async function startRecordingFlow(
  services: Services,
  recordingId: string,
  source: RecordingSource,
  index: RecordingIndex,
  eventTime: string,
  options: { replace?: boolean } = {},
): Promise<RecordingPlan> {
  const { config, store, queues, status } = services;
  const plan = buildPlan({
    recordingId,
    source,
    index,
    spanMaxBytes: config.spanMaxBytes,
    spanMaxUncompressedBytes: config.maxChunkBytes,
    blobThresholdBytes: config.blobThresholdBytes,
    classify: classifierFor({ blobThresholdBytes: config.blobThresholdBytes, decodeSchemaless: true }),
  });
  if (plan.spans.length === 0 && plan.damage.length > 0) {
    throw new InvalidRecordingError('UNRECOVERABLE', `no complete chunk could be read: ${plan.damage.join('; ')}`);
  }
  const planKey = objectKey(
    'plans',
    contentAddress({ recordingId, operator: OPERATOR_VERSIONS.plan, slice: {}, params: { ...plan.params, planner: plan.planner, source } }),
    'json',
  );
  await store.put(config.derivedBucket, planKey, canonicalJson(plan), { contentType: 'application/json' });

  const ids = jobIds(recordingId, plan.planner);
  // Every job of the flow continues the trace of the planning job.
  const trace = traceCarrier();
  setSpanAttributes({
    'mcapflow.recording.id': recordingId,
    'mcapflow.plan.key': planKey,
    'mcapflow.plan.spans': plan.spans.length,
    'mcapflow.plan.tables': plan.tables.length,
    'mcapflow.plan.topics': plan.topics.length,
  });
  // A finished flow of this recording is kept for a while for inspection. Ingest only gets here
  // when no manifest exists (it was never written, or was removed), so this is a re-run: clear
  // the old flow or the new one would be ignored as a duplicate. A flow still running is left
  // alone and the add below is a no-op.
  const previous = await queues.queue('commit').getJob(ids.commit);
  if (previous !== undefined && ((await previous.isFailed()) || (await previous.isCompleted()))) await previous.remove({ removeChildren: true });
  const spanJob = (kind: 'index' | 'extract', span: number) => ({
    name: kind,
    queueName: kind,
    data: { recordingId, planKey, span, trace } satisfies SpanJobData,
    opts: { jobId: kind === 'index' ? ids.index(span) : ids.extract(span), failParentOnFailure: true, ...queues.jobOptions(kind) },
  });
  // Jobs to count: index and extract per span, a convert per table, the commit, and the
  // ingest or scan job running this very function.
  await status.set(recordingId, 'processing', {
    source: s3Uri(source.bucket, source.key),
    reason: null,
    jobsTotal: plan.spans.length * 2 + convertTables(plan).length + 2,
  });
  await queues.flowProducer().add({
    name: 'commit',
    queueName: 'commit',
    data: { recordingId, planKey, eventTime, ...(options.replace ? { replace: true } : {}), trace } satisfies CommitJobData,
    opts: { jobId: ids.commit, ...queues.jobOptions('commit') },
    children: plan.spans.flatMap((span) => [spanJob('index', span.index), spanJob('extract', span.index)]),
  });
  return plan;
}

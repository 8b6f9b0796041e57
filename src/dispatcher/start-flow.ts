/**
 * From a recording to running work: the plan is stored once, and the BullMQ flow is derived
 * from the operators to run. Per span, an `extract` job (every span operator, one pass) and,
 * where its chunks have message indexes, an `index` job; an operator job for every attachment
 * operator; all under one `commit`, which adds the `convert` jobs and the table operators as
 * their inputs complete (workers/commit.ts).
 */
import { contentAddress } from '../domain/addresses.ts';
import { canonicalJson } from '../domain/canonical-json.ts';
import { sha256Hex } from '../domain/hash.ts';
import { objectKey, s3Uri } from '../domain/layout.ts';
import type { Manifest } from '../domain/manifest.ts';
import { buildPlan, PLAN_FORMAT, type RecordingPlan, type RecordingSource } from '../domain/plan.ts';
import type { RecordingIndex } from '../domain/recording.ts';
import { classifierFor } from '../decode/registry.ts';
import { InvalidRecordingError } from '../errors.ts';
import { chunkIndexOperator } from '../operators/builtin/chunk-index.ts';
import { isSpanOperator, operatorId } from '../operators/registry.ts';
import { planSpans } from '../domain/spans.ts';
import type { Operator } from '../sdk/operator.ts';
import type { CommitJobData, FileRef, OperatorJobData, ScanJobData, SpanJobData } from '../queue/jobs.ts';
import type { Services } from '../runtime/services.ts';
import { setSpanAttributes, traceCarrier } from '../observability/tracing.ts';

/**
 * Job ids of a recording's work. Each flow has ids of its own — the summary's, a scan's, a
 * backfill's (`flow`) — so one can hand over to another while its commit is still running.
 */
export function jobIds(recordingId: string, flow = '') {
  const prefix = flow === '' ? recordingId : `${recordingId}-${flow}`;
  return {
    scan: `${recordingId}-scan`,
    commit: `${prefix}-commit`,
    index: (span: number) => `${prefix}-index-${span}`,
    extract: (span: number) => `${prefix}-extract-${span}`,
    convert: (table: string) => `${prefix}-convert-${table}`,
    operator: (name: string) => `${prefix}-op-${name}`,
  };
}

/** The flow tag of a plan: none for a summary's, `scan` for a scan's, `u<hash>` for a backfill's. */
export function flowOf(plan: RecordingPlan): string {
  if (plan.update !== undefined) return `u${sha256Hex(canonicalJson(plan.update)).slice(0, 12)}`;
  return plan.planner === 'scan' ? 'scan' : '';
}

/** Queues the scan of a recording; a finished scan of it (a reprocess, a re-plan) is cleared first. */
export async function enqueueScan(services: Services, data: ScanJobData): Promise<void> {
  const queue = services.queues.queue('scan');
  const id = jobIds(data.recordingId).scan;
  const previous = await queue.getJob(id);
  if (previous !== undefined && ((await previous.isCompleted()) || (await previous.isFailed()))) await previous.remove();
  await queue.add('scan', data, { jobId: id });
}

async function storePlan(services: Services, plan: RecordingPlan): Promise<string> {
  const address = contentAddress({
    recordingId: plan.recordingId,
    operator: PLAN_FORMAT,
    slice: plan.update ?? {},
    params: { ...plan.params, planner: plan.planner, source: plan.source },
  });
  const planKey = objectKey('plans', address, 'json');
  await services.store.put(services.config.derivedBucket, planKey, canonicalJson(plan), { contentType: 'application/json' });
  return planKey;
}

/** The committed objects of every table that a table operator of `operators` reads (the commit's base inputs). */
function baseInputs(base: Manifest, operators: readonly Operator[]): Record<string, FileRef[]> {
  const tables: Record<string, FileRef[]> = {};
  for (const operator of operators) {
    if (operator.inputs.kind !== 'tables') continue;
    for (const table of operator.inputs.tables) tables[table] = (base.tables[table]?.objects ?? []).map((o) => ({ key: o.key, sha256: o.sha256 }));
  }
  return tables;
}

/** Adds the flow of `plan` running `operators`; the commit then drives the rest. */
async function addFlow(
  services: Services,
  plan: RecordingPlan,
  planKey: string,
  operators: readonly Operator[],
  eventTime: string,
  options: { replace?: boolean; base?: Manifest },
): Promise<void> {
  const { queues, status } = services;
  const { recordingId } = plan;
  const ids = jobIds(recordingId, flowOf(plan));
  const trace = traceCarrier();
  const spanOperators = operators.filter(isSpanOperator).map(operatorId);
  const indexing = operators.some((o) => o.name === chunkIndexOperator.name);
  const children = plan.spans.flatMap((span) => {
    const jobs = [];
    if (spanOperators.length > 0) {
      jobs.push({
        name: 'extract',
        queueName: 'extract',
        data: { recordingId, planKey, span: span.index, operators: spanOperators, trace } satisfies SpanJobData,
        opts: { jobId: ids.extract(span.index), failParentOnFailure: true, ...queues.jobOptions('extract') },
      });
    }
    if (indexing && span.segments.some((s) => s.messageIndex !== undefined)) {
      jobs.push({
        name: 'index',
        queueName: 'index',
        data: { recordingId, planKey, span: span.index, operators: [operatorId(chunkIndexOperator)], trace } satisfies SpanJobData,
        opts: { jobId: ids.index(span.index), failParentOnFailure: true, ...queues.jobOptions('index') },
      });
    }
    return jobs;
  });
  const operatorChild = (operator: Operator, inputs: OperatorJobData['inputs']) => ({
    name: 'operator',
    queueName: 'convert',
    data: { recordingId, planKey, operator: operatorId(operator), inputs, trace } satisfies OperatorJobData as never,
    opts: { jobId: ids.operator(operator.name), failParentOnFailure: true, ...queues.jobOptions('convert') },
  });
  for (const operator of operators.filter((o) => o.inputs.kind === 'attachments')) children.push(operatorChild(operator, {}));
  // A backfill of table operators only: the commit's first step would add the first wave of them
  // over the committed tables and wait; the same jobs are its children from the start instead.
  const baseTables = options.base ? baseInputs(options.base, operators) : undefined;
  const early = baseTables !== undefined && operators.every((o) => o.inputs.kind === 'tables') ? services.registry.nextTableWave(operators) : [];
  for (const operator of early) {
    const tables = operator.inputs.kind === 'tables' ? operator.inputs.tables : [];
    children.push(operatorChild(operator, Object.fromEntries(tables.map((t) => [t, baseTables![t] ?? []]))));
  }
  // A finished flow of the same plan (a re-run after its manifest was removed) would make this
  // add a no-op: clear it. A flow still running is left alone and the add below is a no-op.
  const previous = await queues.queue('commit').getJob(ids.commit);
  if (previous !== undefined && ((await previous.isFailed()) || (await previous.isCompleted()))) await previous.remove({ removeChildren: true });
  const tables = new Set(operators.filter(isSpanOperator).length > 0 ? plan.tables : []);
  // Jobs to count: the children, a convert per span table (estimated), the table operators, the commit and this planning job.
  const tableOperators = operators.filter((o) => o.inputs.kind === 'tables').length - early.length;
  await status.set(recordingId, 'processing', {
    source: s3Uri(plan.source.bucket, plan.source.key),
    reason: null,
    jobsTotal: children.length + tables.size + tableOperators + 4,
  });
  await queues.flowProducer().add({
    name: 'commit',
    queueName: 'commit',
    data: {
      recordingId,
      planKey,
      eventTime,
      operators: operators.map(operatorId),
      ...(options.replace ? { replace: true } : {}),
      ...(options.base ? { base: { manifestSha256: sha256Hex(canonicalJson(options.base)), tables: baseTables! } } : {}),
      trace,
    } satisfies CommitJobData,
    opts: { jobId: ids.commit, ...queues.jobOptions('commit') },
    children,
  });
}

export async function startRecordingFlow(
  services: Services,
  recordingId: string,
  source: RecordingSource,
  index: RecordingIndex,
  eventTime: string,
  options: { replace?: boolean } = {},
): Promise<RecordingPlan> {
  const { config, registry } = services;
  const plan = buildPlan({
    recordingId,
    source,
    index,
    spanMaxBytes: config.spanMaxBytes,
    spanMaxUncompressedBytes: config.maxChunkBytes,
    blobThresholdBytes: config.blobThresholdBytes,
    reservedTables: registry.reservedTableNames(),
    classify: classifierFor({ blobThresholdBytes: config.blobThresholdBytes, decodeSchemaless: true }),
  });
  if (plan.spans.length === 0 && plan.damage.length > 0) {
    throw new InvalidRecordingError('UNRECOVERABLE', `no complete chunk could be read: ${plan.damage.join('; ')}`);
  }
  const planKey = await storePlan(services, plan);
  setSpanAttributes({
    'mcapflow.recording.id': recordingId,
    'mcapflow.plan.key': planKey,
    'mcapflow.plan.spans': plan.spans.length,
    'mcapflow.plan.tables': plan.tables.length,
    'mcapflow.plan.topics': plan.topics.length,
  });
  await addFlow(services, plan, planKey, registry.all(), eventTime, options);
  return plan;
}

/**
 * A backfill over a committed recording: runs only `operators` (the stale ones), over only the
 * chunks their inputs are in (`chunkOffsets`; undefined: every chunk), and commits a manifest
 * that keeps every other table by reference.
 */
export async function startUpdateFlow(
  services: Services,
  base: { manifest: Manifest; plan: RecordingPlan },
  operators: readonly Operator[],
  chunkOffsets: ReadonlySet<number> | undefined,
  eventTime: string,
): Promise<RecordingPlan> {
  const { config } = services;
  const segments = base.plan.spans.flatMap((s) => s.segments).filter((s) => chunkOffsets === undefined || chunkOffsets.has(s.offset));
  const plan: RecordingPlan = {
    ...base.plan,
    spans: operators.some(isSpanOperator) ? planSpans(segments, config.spanMaxBytes, config.maxChunkBytes) : [],
    update: { basePlanKey: base.manifest.plan_key, operators: operators.map(operatorId) },
  };
  const planKey = await storePlan(services, plan);
  await addFlow(services, plan, planKey, operators, eventTime, { replace: true, base: base.manifest });
  return plan;
}

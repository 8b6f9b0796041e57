/**
 * The commit job, root of every recording's flow. It runs in two steps: once the span jobs
 * are done it adds one convert job per table as its own children and waits; when those are
 * done it builds the manifest from all children's results and writes it.
 */
import { UnrecoverableError, WaitingChildrenError, type Job } from 'bullmq';
import { buildManifest, spanReportsOf } from '../domain/manifest.ts';
import { manifestKey, s3Uri } from '../domain/layout.ts';
import { convertTables, type RecordingPlan } from '../domain/plan.ts';
import { InvalidRecordingError, ManifestConflictError } from '../errors.ts';
import { writeManifest } from '../operators/commit-op.ts';
import { OPERATOR_VERSIONS } from '../operators/versions.ts';
import type { CommitJobData, CommitOutcome, ConvertJobData, ConvertResult, ExtractResult, IndexResult, PartRef } from '../queue/jobs.ts';
import type { Services } from '../runtime/services.ts';
import { enqueueScan, jobIds } from '../dispatcher/start-flow.ts';
import { dataDisagreements } from '../domain/cross-check.ts';
import { quarantine } from '../dispatcher/ingest.ts';
import { recordCommitted } from '../observability/metrics.ts';
import { traceCarrier } from '../observability/tracing.ts';

type ChildResult = IndexResult | ExtractResult | ConvertResult;

/** The parts of each table in span order, as the converts receive them. */
export function partsByTable(index: IndexResult[], extract: ExtractResult[]): Map<string, PartRef[]> {
  const byTable = new Map<string, { span: number; part: PartRef }[]>();
  const add = (span: number, part: PartRef) => {
    const list = byTable.get(part.table) ?? [];
    list.push({ span, part });
    byTable.set(part.table, list);
  };
  for (const r of index) if (r.part) add(r.span, r.part);
  for (const r of extract) for (const p of r.parts) add(r.span, p);
  return new Map([...byTable].map(([table, list]) => [table, list.sort((a, b) => a.span - b.span).map((x) => x.part)]));
}

export async function processCommit(services: Services, job: Job<CommitJobData>, token: string | undefined): Promise<CommitOutcome> {
  const { operators, queues } = services;
  const { recordingId, planKey } = job.data;
  const plan = await operators.loadPlan(planKey);
  for (;;) {
    const results = Object.values(await job.getChildrenValues<ChildResult>());
    const index = results.filter((r): r is IndexResult => r.kind === 'index');
    const extract = results.filter((r): r is ExtractResult => r.kind === 'extract');
    const convert = results.filter((r): r is ConvertResult => r.kind === 'convert');
    const spansMissing = plan.spans.filter((s) => !index.some((r) => r.span === s.index) || !extract.some((r) => r.span === s.index));
    if (spansMissing.length > 0) {
      // A retried commit whose failed span job was retried with it: wait for that job again.
      if (token !== undefined && (await job.moveToWaitingChildren(token))) throw new WaitingChildrenError();
      throw new Error(`results of span(s) ${spansMissing.map((s) => s.index).join(', ')} are missing and none is pending; re-ingest the recording`);
    }
    if (plan.planner === 'summary') {
      const disagreements = dataDisagreements(plan, spanReportsOf(index));
      // The summary described other bytes than the file holds: plan again from the data itself.
      if (disagreements.length > 0) return replanByScan(services, plan, job.data, disagreements);
    }
    const tables = convertTables(plan);
    const missing = tables.filter((table) => !convert.some((c) => c.table === table));
    if (missing.length === 0) {
      return finalizeCommit(services, plan, planKey, { index, extract, convert }, job.data.replace === true, job.data.eventTime);
    }
    const parts = partsByTable(index, extract);
    const ids = jobIds(recordingId, plan.planner);
    for (const table of missing) {
      const data: ConvertJobData = { recordingId, planKey, table, parts: parts.get(table) ?? [], trace: traceCarrier() };
      await queues.queue('convert').add('convert', data, {
        jobId: ids.convert(table),
        parent: { id: job.id!, queue: job.queueQualifiedName },
        failParentOnFailure: true,
      });
    }
    if (token === undefined) throw new Error('commit job needs a worker token to wait for its converts');
    if (await job.moveToWaitingChildren(token)) throw new WaitingChildrenError();
    // The converts finished before we got here: read their results and go on.
  }
}

async function replanByScan(services: Services, plan: RecordingPlan, data: CommitJobData, disagreements: string[]): Promise<CommitOutcome> {
  const because = `the summary does not match the data section (${disagreements.join('; ')}), so the file was scanned`;
  await enqueueScan(services, {
    recordingId: plan.recordingId,
    source: plan.source,
    eventTime: data.eventTime,
    ...(data.replace ? { reprocess: true } : {}),
    because,
    trace: traceCarrier(),
  });
  return { status: 'replanned', reason: because };
}

async function finalizeCommit(
  services: Services,
  plan: RecordingPlan,
  planKey: string,
  results: { index: IndexResult[]; extract: ExtractResult[]; convert: ConvertResult[] },
  replace: boolean,
  eventTime?: string,
): Promise<CommitOutcome> {
  const { config, store, status } = services;
  const manifest = buildManifest({ plan, planKey, derivedBucket: config.derivedBucket, operators: { ...OPERATOR_VERSIONS }, ...results });
  const rows = Object.values(manifest.tables)
    .flat()
    .reduce((n, o) => n + o.rows, 0);
  if (manifest.recovered && rows === 0) {
    const reason = `nothing could be salvaged: ${manifest.damage.join('; ')}`;
    await quarantine(services, plan.recordingId, plan.source, new InvalidRecordingError('UNRECOVERABLE', reason));
    return { status: 'quarantined', reason };
  }
  let written: Awaited<ReturnType<typeof writeManifest>>;
  try {
    written = await writeManifest(store, config.derivedBucket, manifest, { replace });
  } catch (error) {
    if (error instanceof ManifestConflictError) throw new UnrecoverableError(error.message);
    throw error;
  }
  await status.set(plan.recordingId, 'committed', { source: s3Uri(plan.source.bucket, plan.source.key), reason: manifest.reason });
  // Counted once per manifest written (a re-run that finds it unchanged is not a new commit).
  if (written !== 'unchanged') recordCommitted({ recovered: manifest.recovered, eventTime });
  return { status: 'committed', manifestKey: manifestKey(plan.recordingId) };
}

/**
 * The commit job, root of every recording's flow, runs as a small state machine over its
 * children's results: once the span jobs (extract, index) and attachment operators are done it
 * checks the data against the summary, adds one convert job per span-operator table, then each
 * wave of table operators whose input tables are ready, and finally builds the manifest from
 * all results and writes it — the recording's single commit.
 */
import { UnrecoverableError, WaitingChildrenError, type Job } from 'bullmq';
import { canonicalJson } from '../domain/canonical-json.ts';
import { dataDisagreements } from '../domain/cross-check.ts';
import { sha256Hex } from '../domain/hash.ts';
import { manifestKey, s3Uri } from '../domain/layout.ts';
import { buildManifest, indexDisagreements, serializeManifest, spanReports, type Manifest } from '../domain/manifest.ts';
import type { RecordingPlan } from '../domain/plan.ts';
import type { ConvertResult, ExtractResult, IndexResult, OperatorResult, PartRef } from '../domain/work.ts';
import { InvalidRecordingError, ManifestConflictError, McapflowError } from '../errors.ts';
import { findSupersededManifest, readManifestText, writeManifest } from '../operators/commit-op.ts';
import { recordingInfo } from '../operators/recording-info.ts';
import { appliedId } from '../operators/currency.ts';
import { isSpanOperator, operatorId, paramsDigest, type OperatorRegistry } from '../operators/registry.ts';
import type { Operator, RecordingInfo } from '../sdk/operator.ts';
import type { CommitJobData, CommitOutcome, ConvertJobData, FileRef, OperatorJobData } from '../queue/jobs.ts';
import type { Services } from '../runtime/services.ts';
import { enqueueScan, flowOf, jobIds } from '../dispatcher/start-flow.ts';
import { quarantine } from '../dispatcher/ingest.ts';
import { recordCommitted } from '../observability/metrics.ts';
import { traceCarrier } from '../observability/tracing.ts';

type ChildResult = IndexResult | ExtractResult | ConvertResult | OperatorResult;

interface Results {
  extract: ExtractResult[];
  index: IndexResult[];
  /** Converted tables: from convert jobs and from operator jobs. */
  convert: ConvertResult[];
  operators: Set<string>;
}

function resultsOf(values: ChildResult[]): Results {
  const operatorResults = values.filter((r): r is OperatorResult => r.kind === 'operator');
  return {
    extract: values.filter((r): r is ExtractResult => r.kind === 'extract'),
    index: values.filter((r): r is IndexResult => r.kind === 'index'),
    convert: [...values.filter((r): r is ConvertResult => r.kind === 'convert'), ...operatorResults.flatMap((r) => r.tables)],
    operators: new Set(operatorResults.map((r) => r.operator)),
  };
}

/** The parts of each table in span order, as its convert receives them. */
export function partsByTable(extract: readonly ExtractResult[], index: readonly IndexResult[]): Map<string, PartRef[]> {
  const byTable = new Map<string, { span: number; part: PartRef }[]>();
  const add = (span: number, part: PartRef) => byTable.set(part.table, [...(byTable.get(part.table) ?? []), { span, part }]);
  for (const r of index) if (r.part) add(r.span, r.part);
  for (const r of extract) for (const p of r.parts) add(r.span, p);
  return new Map([...byTable].map(([table, list]) => [table, list.sort((a, b) => a.span - b.span).map((x) => x.part)]));
}

/** Every span operator's tables for this recording, with the operator that writes each. */
function spanTables(operators: readonly Operator[], registry: OperatorRegistry, recording: RecordingInfo): Map<string, Operator> {
  return new Map(operators.filter(isSpanOperator).flatMap((o) => registry.outputsOf(o, recording).map((s) => [s.name, o] as const)));
}

/** The Parquet files of each table a table operator reads: made by this flow, or committed before (`committed`). */
async function inputFiles(
  operator: Operator,
  convert: readonly ConvertResult[],
  committed: (table: string) => Promise<FileRef[]>,
): Promise<Record<string, FileRef[]>> {
  if (operator.inputs.kind !== 'tables') return {};
  const files: Record<string, FileRef[]> = {};
  for (const table of operator.inputs.tables) {
    const made = convert.find((c) => c.table === table);
    files[table] = made ? made.objects.map((o) => ({ key: o.key, sha256: o.sha256 })) : await committed(table);
  }
  return files;
}

interface BaseRead {
  /** The manifest the backfill was planned against. */
  manifest: Manifest;
  /** What is stored now: the base itself, or (`replacedBy`) the manifest an earlier attempt of this job wrote over it. */
  text: string;
  replacedBy?: 'earlier attempt';
}

const committedAgain = (recordingId: string) =>
  new UnrecoverableError(`recording ${recordingId} was committed again since this backfill was planned; run the backfill again`);

/**
 * The manifest a backfill builds on, read now and checked to be the one it was planned against
 * (with its stored text, which a replacing write keeps as the superseded manifest). When the
 * stored one is another, an earlier attempt of this job may have replaced the base and died
 * before it finished: the base is then among the superseded copies, and finalizeCommit accepts
 * the stored manifest only if it is exactly what this job writes.
 */
async function baseManifest(services: Services, data: CommitJobData): Promise<BaseRead | undefined> {
  const base = data.base;
  if (base === undefined) return undefined;
  const { store, config } = services;
  const isBase = (m: Manifest) => sha256Hex(canonicalJson(m)) === base.manifestSha256;
  const read = await readManifestText(store, config.derivedBucket, data.recordingId);
  if (read === undefined) throw committedAgain(data.recordingId);
  if (isBase(read.manifest)) return read;
  // The backfill was planned against the base; another commit since would be lost by replacing it.
  const superseded = await findSupersededManifest(store, config.derivedBucket, data.recordingId, isBase);
  if (superseded === undefined) throw committedAgain(data.recordingId);
  return { manifest: superseded, text: read.text, replacedBy: 'earlier attempt' };
}

/**
 * The committed files of a base table: from the job's data when the flow was planned with them
 * (they are the base manifest's, which the final write checks is still there), else read from
 * the manifest. None without a base.
 */
function committedFiles(services: Services, data: CommitJobData): (table: string) => Promise<FileRef[]> {
  let read: Promise<Manifest | undefined> | undefined;
  return async (table) => {
    if (data.base === undefined) return [];
    const planned = data.base.tables?.[table];
    if (planned !== undefined) return planned;
    const manifest = await (read ??= baseManifest(services, data).then((r) => r?.manifest));
    return manifest?.tables[table]?.objects.map((o) => ({ key: o.key, sha256: o.sha256 })) ?? [];
  };
}

export async function processCommit(services: Services, job: Job<CommitJobData>, token: string | undefined): Promise<CommitOutcome> {
  const { work, queues, registry } = services;
  const { recordingId, planKey } = job.data;
  const plan = await work.loadPlan(planKey);
  const operators = registry.resolve(job.data.operators);
  const recording = recordingInfo(plan);
  const committed = committedFiles(services, job.data);
  const ids = jobIds(recordingId, flowOf(plan));
  const waitForChildren = async (): Promise<never> => {
    if (token === undefined) throw new Error('the commit job needs a worker token to wait for its children');
    if (await job.moveToWaitingChildren(token)) throw new WaitingChildrenError();
    // The children finished before we got here: the caller reads their results again.
    throw new RetryNow();
  };
  for (;;) {
    try {
      const results = resultsOf(Object.values(await job.getChildrenValues<ChildResult>()));
      const spanOperators = operators.filter(isSpanOperator);
      const missing = plan.spans.filter(
        (s) =>
          (spanOperators.length > 0 && !results.extract.some((r) => r.span === s.index)) ||
          (operators.some((o) => o.name === 'chunk-index') &&
            s.segments.some((g) => g.messageIndex !== undefined) &&
            !results.index.some((r) => r.span === s.index)),
      );
      if (missing.length > 0) {
        // A retried commit whose failed span job was retried with it: wait for that job again.
        if (token !== undefined && (await job.moveToWaitingChildren(token))) throw new WaitingChildrenError();
        throw new Error(`results of span(s) ${missing.map((s) => s.index).join(', ')} are missing and none is pending; re-ingest the recording`);
      }
      if (plan.planner === 'summary' && job.data.base === undefined) {
        const disagreements = [...dataDisagreements(plan, spanReports(results.extract, results.index)), ...indexDisagreements(results.extract, results.index)];
        // The summary described other bytes than the file holds: plan again from the data itself.
        if (disagreements.length > 0) return await replanByScan(services, plan, job.data, disagreements);
      }
      // Span-operator tables: one convert each.
      const tables = spanTables(operators, registry, recording);
      const parts = partsByTable(results.extract, results.index);
      const unconverted = [...tables].filter(([table]) => !results.convert.some((c) => c.table === table));
      if (unconverted.length > 0) {
        for (const [table, operator] of unconverted) {
          const data: ConvertJobData = { recordingId, planKey, table, operator: operatorId(operator), parts: parts.get(table) ?? [], trace: traceCarrier() };
          await queues
            .queue('convert')
            .add('convert', data, { jobId: ids.convert(table), parent: { id: job.id!, queue: job.queueQualifiedName }, failParentOnFailure: true });
        }
        await waitForChildren();
      }
      // Table operators, wave by wave: each reads tables of span operators or of earlier waves.
      const pending = registry.nextTableWave(operators, (o) => results.operators.has(operatorId(o)));
      if (pending.length > 0) {
        for (const operator of pending) {
          const data: OperatorJobData = {
            recordingId,
            planKey,
            operator: operatorId(operator),
            inputs: await inputFiles(operator, results.convert, committed),
            trace: traceCarrier(),
          };
          await queues
            .queue('convert')
            .add('operator', data, { jobId: ids.operator(operator.name), parent: { id: job.id!, queue: job.queueQualifiedName }, failParentOnFailure: true });
        }
        await waitForChildren();
      }
      return await finalizeCommit(services, plan, planKey, operators, results, job.data);
    } catch (error) {
      if (error instanceof RetryNow) continue;
      throw error;
    }
  }
}

/** The children finished between adding them and waiting: read their results again. */
class RetryNow extends Error {}

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

/** sha256 of a table's column names and types. */
function fingerprint(schema: { fields: { name: string; type: unknown }[] }): string {
  return sha256Hex(canonicalJson(schema.fields.map((f) => [f.name, String(f.type)])));
}

async function finalizeCommit(
  services: Services,
  plan: RecordingPlan,
  planKey: string,
  operators: readonly Operator[],
  results: Results,
  data: CommitJobData,
): Promise<CommitOutcome> {
  const { config, store, status, registry } = services;
  const recording = recordingInfo(plan);
  // Read once, right before the write: checked against the plan's base, then kept as the superseded manifest.
  const read = await baseManifest(services, data);
  const base = read?.manifest;
  const manifest = buildManifest({
    plan: base === undefined ? plan : { ...plan, spans: [] },
    planKey: base?.plan_key ?? planKey,
    derivedBucket: config.derivedBucket,
    operators: Object.fromEntries(operators.map((o) => [o.name, appliedId(o)])),
    extract: results.extract,
    index: results.index,
    convert: results.convert,
    describe(table, id) {
      const [operator] = registry.resolve([id]);
      const spec = registry.outputsOf(operator!, recording).find((s) => s.name === table);
      if (spec === undefined) throw new McapflowError('OPERATOR_FAILED', `operator ${id} does not declare table ${table}`);
      return { operator: id, params: paramsDigest(operator!), fingerprint: fingerprint(spec.schema), sortKeys: spec.sortKeys ?? [] };
    },
    ...(base ? { base } : {}),
  });
  const rows = Object.values(manifest.tables).reduce((n, t) => n + t.rows, 0);
  if (manifest.recovered && rows === 0) {
    const reason = `nothing could be salvaged: ${manifest.damage.join('; ')}`;
    await quarantine(services, plan.recordingId, plan.source, new InvalidRecordingError('UNRECOVERABLE', reason));
    return { status: 'quarantined', reason };
  }
  // Only this job's own manifest may stand where its base was; anything else is a later commit.
  if (read?.replacedBy !== undefined && serializeManifest(manifest) !== read.text) throw committedAgain(plan.recordingId);
  let written: Awaited<ReturnType<typeof writeManifest>>;
  try {
    written = await writeManifest(store, config.derivedBucket, manifest, { replace: data.replace === true, ...(read ? { current: read.text } : {}) });
  } catch (error) {
    if (error instanceof ManifestConflictError) throw new UnrecoverableError(error.message);
    throw error;
  }
  // Noted even when the manifest was already there: the attempt that wrote it may have failed before noting it.
  await services.catalogChanges.noteCommitted(manifestKey(plan.recordingId));
  await status.set(plan.recordingId, 'committed', { source: s3Uri(plan.source.bucket, plan.source.key), reason: manifest.reason });
  // Counted once per manifest written (a re-run that finds it unchanged is not a new commit).
  if (written !== 'unchanged') recordCommitted({ recovered: manifest.recovered, eventTime: data.eventTime });
  return { status: 'committed', manifestKey: manifestKey(plan.recordingId) };
}

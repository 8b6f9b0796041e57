/**
 * The manifest: the single commit marker of a recording. It lists every table of the
 * recording — which operator (name@version and parameters) made it, its schema fingerprint and
 * sort keys, and every object it is made of with row counts, time ranges and byte hashes.
 * Built from job results only, so it is byte-identical however often or wherever the jobs ran.
 * A backfill's manifest keeps the tables of operators it did not rerun by reference.
 */
import { canonicalJson } from './canonical-json.ts';
import { dataDisagreements, recordCountDisagreements, type SpanReports } from './cross-check.ts';
import { s3Uri } from './layout.ts';
import type { RecordingPlan } from './plan.ts';
import type { ConvertResult, Damage, ExtractResult, IndexResult, StoredObject, TableObject } from './work.ts';

export const MANIFEST_FORMAT = 'mcapflow.manifest/2';

export interface ManifestTopic {
  topic: string;
  channel_id: number;
  schema: string;
  schema_encoding: string;
  message_encoding: string;
  messages: number;
  first_log_time: string | null;
  last_log_time: string | null;
  table: string | null;
  decode_errors: number;
  /** Messages logged earlier than the message before them on the topic (file order). */
  out_of_order: number;
  /** Intervals longer than 3× the topic's median period. */
  gaps: number;
  median_period_ns: string | null;
  max_gap_ns: string | null;
  status: 'ok' | 'undecodable';
  reason: string | null;
}

export interface ManifestObject {
  key: string;
  uri: string;
  rows: number;
  bytes: number;
  sha256: string;
  min_log_time: string | null;
  max_log_time: string | null;
  /** Topics whose rows the object holds (sorted); null when unknown or too many to list. */
  topics: string[] | null;
}

/** One table of the recording and what made it. */
export interface ManifestTable {
  /** `name@version` of the operator that wrote it. */
  operator: string;
  /** Digest of that operator's parameters. */
  params: string;
  /** sha256 of the table's column names and types: two recordings' tables union only when equal. */
  fingerprint: string;
  sort_keys: string[];
  rows: number;
  objects: ManifestObject[];
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  recording_id: string;
  source: { uri: string; bucket: string; key: string; size: number; etag: string | null; sha256: string | null };
  profile: string;
  library: string;
  planner: 'summary' | 'scan';
  /** Why the file was scanned instead of planned from its summary; null when the summary was used. */
  planner_note: string | null;
  recovered: boolean;
  reason: string | null;
  damage: string[];
  message_count: number;
  start_time: string | null;
  end_time: string | null;
  /** Every operator applied to the recording: name → `name@version#params digest`. */
  operators: Record<string, string>;
  params: Record<string, number>;
  plan_key: string;
  topics: ManifestTopic[];
  tables: Record<string, ManifestTable>;
  blobs: { key: string; uri: string; bytes: number; sha256: string }[];
}

/** What the engine says of each table a job wrote: its operator and shape. */
export interface TableDescription {
  operator: string;
  params: string;
  fingerprint: string;
  sortKeys: readonly string[];
}

export interface ManifestInputs {
  plan: RecordingPlan;
  planKey: string;
  derivedBucket: string;
  /** Operators this flow applied: name → `name@version#params digest`. */
  operators: Record<string, string>;
  extract: ExtractResult[];
  index: IndexResult[];
  convert: ConvertResult[];
  /** Shape and maker of every table in `convert`. */
  describe(table: string, operator: string): TableDescription;
  /** A backfill: the committed manifest whose other tables, topics and damage are kept. */
  base?: Manifest;
}

/** The span jobs' reports, as the cross-check with the summary reads them. */
export function spanReports(extract: readonly ExtractResult[], index: readonly IndexResult[]): SpanReports & { claimedByIndex: Map<number, number> } {
  const count = (results: readonly { channels: { channelId: number; count: number }[] }[]) => {
    const byChannel = new Map<number, number>();
    for (const r of results) for (const c of r.channels) byChannel.set(c.channelId, (byChannel.get(c.channelId) ?? 0) + c.count);
    return byChannel;
  };
  return {
    mismatches: extract.flatMap((r) => r.mismatches),
    messagesByChannel: count(extract),
    claimedByIndex: count(index),
    damaged: extract.some((r) => r.damaged.length > 0) || index.some((r) => r.damaged.length > 0),
  };
}

/**
 * Where the message indexes disagree with the chunks they index: per channel, the messages
 * the index jobs counted against those the extract pass read, over the spans that have both.
 */
export function indexDisagreements(extract: readonly ExtractResult[], index: readonly IndexResult[]): string[] {
  const spans = new Set(index.map((r) => r.span));
  // A damaged chunk explains fewer messages than indexed.
  if (extract.some((r) => spans.has(r.span) && r.damaged.length > 0) || index.some((r) => r.damaged.length > 0)) return [];
  const read = spanReports(
    extract.filter((r) => spans.has(r.span)),
    [],
  ).messagesByChannel;
  const claimed = spanReports([], index).claimedByIndex;
  const problems: string[] = [];
  for (const id of [...new Set([...read.keys(), ...claimed.keys()])].sort((a, b) => a - b)) {
    if ((read.get(id) ?? 0) !== (claimed.get(id) ?? 0))
      problems.push(`the message indexes count ${claimed.get(id) ?? 0} messages on channel ${id}, but its chunks hold ${read.get(id) ?? 0}`);
  }
  return problems;
}

function uniqueDamage(plan: RecordingPlan, extract: ExtractResult[], index: IndexResult[], convert: ConvertResult[]): string[] {
  const bySpan: Damage[] = [...extract.flatMap((r) => r.damaged), ...index.flatMap((r) => r.damaged)];
  const seen = new Set<number>();
  const fromSpans: string[] = [];
  for (const d of bySpan.sort((a, b) => a.offset - b.offset)) {
    if (seen.has(d.offset)) continue;
    seen.add(d.offset);
    fromSpans.push(d.reason.startsWith('the message index') ? d.reason : `skipped the chunk at offset ${d.offset}: ${d.reason}`);
  }
  const records = [...new Set(convert.flatMap((r) => (r.damaged ?? []).map((d) => d.reason)))];
  const planned = plan.damage.filter((text) => ![...seen].some((offset) => text.includes(`offset ${offset}:`)));
  return [...planned, ...fromSpans, ...records];
}

function damageSummary(damage: string[]): string | null {
  if (damage.length === 0) return null;
  return `recovered what was readable; ${damage.length} problem${damage.length === 1 ? '' : 's'}: ${damage.join('; ')}`;
}

function tableObject(bucket: string, o: TableObject): ManifestObject {
  return {
    key: o.key,
    uri: s3Uri(bucket, o.key),
    rows: o.rows,
    bytes: o.bytes,
    sha256: o.sha256,
    min_log_time: o.minLogTime,
    max_log_time: o.maxLogTime,
    topics: o.topics,
  };
}

function topicsOf(
  plan: RecordingPlan,
  extract: ExtractResult[],
  convert: ConvertResult[],
): { topics: ManifestTopic[]; messageCount: number; start: bigint | undefined; end: bigint | undefined } {
  const counts = new Map<number, { count: number; first: bigint; last: bigint }>();
  for (const c of extract.flatMap((r) => r.channels)) {
    const first = BigInt(c.firstLogTime);
    const last = BigInt(c.lastLogTime);
    const known = counts.get(c.channelId);
    if (known === undefined) counts.set(c.channelId, { count: c.count, first, last });
    else {
      known.count += c.count;
      if (first < known.first) known.first = first;
      if (last > known.last) known.last = last;
    }
  }
  const decodeErrors = new Map<number, number>();
  for (const e of extract.flatMap((r) => r.decodeErrors)) decodeErrors.set(e.channelId, (decodeErrors.get(e.channelId) ?? 0) + e.count);
  const timing = new Map(convert.flatMap((r) => r.timing ?? []).map((t) => [t.channelId, t]));
  const topics = plan.topics.map((t): ManifestTopic => {
    const c = counts.get(t.channelId);
    const time = timing.get(t.channelId);
    return {
      topic: t.topic,
      channel_id: t.channelId,
      schema: t.schemaName,
      schema_encoding: t.schemaEncoding,
      message_encoding: t.messageEncoding,
      messages: c?.count ?? 0,
      first_log_time: c ? c.first.toString() : null,
      last_log_time: c ? c.last.toString() : null,
      table: t.table,
      decode_errors: decodeErrors.get(t.channelId) ?? 0,
      out_of_order: time?.outOfOrder ?? 0,
      gaps: time?.gaps ?? 0,
      median_period_ns: time?.medianPeriodNs ?? null,
      max_gap_ns: time?.maxGapNs ?? null,
      status: t.status,
      reason: t.reason,
    };
  });
  let start: bigint | undefined;
  let end: bigint | undefined;
  let messageCount = 0;
  for (const c of counts.values()) {
    messageCount += c.count;
    if (start === undefined || c.first < start) start = c.first;
    if (end === undefined || c.last > end) end = c.last;
  }
  return { topics, messageCount, start, end };
}

function tablesOf(inputs: ManifestInputs): Record<string, ManifestTable> {
  const tables: Record<string, ManifestTable> = { ...inputs.base?.tables };
  for (const result of [...inputs.convert].sort((a, b) => a.table.localeCompare(b.table))) {
    const d = inputs.describe(result.table, result.operator);
    const objects = result.objects.map((o) => tableObject(inputs.derivedBucket, o));
    tables[result.table] = {
      operator: d.operator,
      params: d.params,
      fingerprint: d.fingerprint,
      sort_keys: [...d.sortKeys],
      rows: objects.reduce((n, o) => n + o.rows, 0),
      objects,
    };
  }
  return Object.fromEntries(Object.entries(tables).sort(([a], [b]) => a.localeCompare(b)));
}

export function buildManifest(inputs: ManifestInputs): Manifest {
  const { plan, derivedBucket, base } = inputs;
  const blobs = [
    ...(base?.blobs ?? []),
    ...inputs.extract.flatMap((r) => r.blobs).map((b: StoredObject) => ({ key: b.key, uri: s3Uri(derivedBucket, b.key), bytes: b.bytes, sha256: b.sha256 })),
  ]
    .filter((b, i, all) => all.findIndex((o) => o.key === b.key) === i)
    .sort((a, b) => a.key.localeCompare(b.key));
  const operators = Object.fromEntries(Object.entries({ ...base?.operators, ...inputs.operators }).sort(([a], [b]) => a.localeCompare(b)));
  const tables = tablesOf(inputs);
  if (base !== undefined) {
    // A backfill reran some operators over a committed recording: what it read stays as committed.
    return { ...base, operators, tables, blobs };
  }
  const { topics, messageCount, start, end } = topicsOf(plan, inputs.extract, inputs.convert);
  // A scan's plan is the data itself: what still disagrees with the summary is reported.
  const disagreements =
    plan.planner === 'scan' ? [...dataDisagreements(plan, spanReports(inputs.extract, inputs.index)), ...indexDisagreements(inputs.extract, inputs.index)] : [];
  const damage = [...uniqueDamage(plan, inputs.extract, inputs.index, inputs.convert), ...disagreements, ...recordCountDisagreements(plan)];
  return {
    format: MANIFEST_FORMAT,
    recording_id: plan.recordingId,
    source: {
      uri: s3Uri(plan.source.bucket, plan.source.key),
      bucket: plan.source.bucket,
      key: plan.source.key,
      size: plan.source.size,
      etag: plan.source.etag ?? null,
      sha256: plan.source.sha256 ?? null,
    },
    profile: plan.profile,
    library: plan.library,
    planner: plan.planner,
    planner_note: plan.plannerNote ?? null,
    recovered: damage.length > 0,
    reason: damageSummary(damage),
    damage,
    message_count: messageCount,
    start_time: start?.toString() ?? null,
    end_time: end?.toString() ?? null,
    operators,
    params: plan.params,
    plan_key: inputs.planKey,
    topics,
    tables,
    blobs,
  };
}

export function serializeManifest(manifest: Manifest): string {
  return `${canonicalJson(manifest, 2)}\n`;
}

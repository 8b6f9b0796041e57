/**
 * The manifest: the single commit marker of a recording. It lists every object the
 * recording's tables are made of, with row counts, time ranges, byte hashes and the operator
 * versions that produced them. Built from job results only, so it is byte-identical however
 * often or wherever the jobs ran.
 */
import type { ConvertResult, Damage, ExtractResult, IndexResult, StoredObject, TableObject } from '../queue/jobs.ts';
import { canonicalJson } from './canonical-json.ts';
import { s3Uri } from './layout.ts';
import type { RecordingPlan } from './plan.ts';
import { dataDisagreements, recordCountDisagreements, type SpanReports } from './cross-check.ts';

/** The span jobs' reports, as the cross-check with the summary reads them. */
export function spanReportsOf(index: readonly IndexResult[]): SpanReports {
  const messagesByChannel = new Map<number, number>();
  for (const r of index) for (const c of r.channels) messagesByChannel.set(c.channelId, (messagesByChannel.get(c.channelId) ?? 0) + c.count);
  return { mismatches: index.flatMap((r) => r.mismatches ?? []), messagesByChannel, damaged: index.some((r) => r.damaged.length > 0) };
}

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
}

export interface Manifest {
  format: 'mcapflow.manifest/1';
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
  operators: Record<string, string>;
  params: Record<string, number>;
  plan_key: string;
  topics: ManifestTopic[];
  tables: Record<string, ManifestObject[]>;
  blobs: { key: string; uri: string; bytes: number; sha256: string }[];
}

export interface ManifestInputs {
  plan: RecordingPlan;
  planKey: string;
  derivedBucket: string;
  operators: Record<string, string>;
  index: IndexResult[];
  extract: ExtractResult[];
  convert: ConvertResult[];
}

function uniqueDamage(plan: RecordingPlan, index: IndexResult[], convert: ConvertResult[]): string[] {
  const bySpan: Damage[] = index.flatMap((r) => r.damaged);
  const records = convert.flatMap((r) =>
    (r.damaged ?? []).map((d) => `skipped the ${r.table === 'attachments' ? 'attachment' : 'metadata'} record at offset ${d.offset}: ${d.reason}`),
  );
  const seen = new Set<number>();
  const fromSpans: string[] = [];
  for (const d of bySpan.sort((a, b) => a.offset - b.offset)) {
    if (seen.has(d.offset)) continue;
    seen.add(d.offset);
    fromSpans.push(`skipped the chunk at offset ${d.offset}: ${d.reason}`);
  }
  const planned = plan.damage.filter((text) => ![...seen].some((offset) => text.includes(`offset ${offset}:`)));
  return [...planned, ...fromSpans, ...records];
}

function damageSummary(damage: string[]): string | null {
  if (damage.length === 0) return null;
  return `recovered what was readable; ${damage.length} problem${damage.length === 1 ? '' : 's'}: ${damage.join('; ')}`;
}

function tableObject(bucket: string, o: TableObject): ManifestObject {
  return { key: o.key, uri: s3Uri(bucket, o.key), rows: o.rows, bytes: o.bytes, sha256: o.sha256, min_log_time: o.minLogTime, max_log_time: o.maxLogTime };
}

export function buildManifest(inputs: ManifestInputs): Manifest {
  const { plan, derivedBucket } = inputs;
  const counts = new Map<number, { count: number; first: bigint; last: bigint }>();
  for (const result of inputs.index) {
    for (const c of result.channels) {
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
  }
  const decodeErrors = new Map<number, number>();
  for (const result of inputs.extract) for (const e of result.decodeErrors) decodeErrors.set(e.channelId, (decodeErrors.get(e.channelId) ?? 0) + e.count);

  const timing = new Map(inputs.convert.flatMap((r) => r.timing ?? []).map((t) => [t.channelId, t]));
  const topics: ManifestTopic[] = plan.topics.map((t) => {
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

  const tables: Record<string, ManifestObject[]> = {};
  for (const result of [...inputs.convert].sort((a, b) => a.table.localeCompare(b.table))) {
    tables[result.table] = result.objects.map((o) => tableObject(derivedBucket, o));
  }
  const blobs = inputs.extract
    .flatMap((r) => r.blobs)
    .sort((a: StoredObject, b: StoredObject) => a.key.localeCompare(b.key))
    .map((b) => ({ key: b.key, uri: s3Uri(derivedBucket, b.key), bytes: b.bytes, sha256: b.sha256 }));
  // A scan's plan is the data itself: what still disagrees with the summary is reported.
  const disagreements = plan.planner === 'scan' ? dataDisagreements(plan, spanReportsOf(inputs.index)) : [];
  const damage = [...uniqueDamage(plan, inputs.index, inputs.convert), ...disagreements, ...recordCountDisagreements(plan)];

  return {
    format: 'mcapflow.manifest/1',
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
    operators: inputs.operators,
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

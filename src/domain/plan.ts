/**
 * The plan of one recording: what the dispatcher decided from the summary (or scan), stored
 * once as an immutable object so every job carries only its key and a span index.
 */
import type { AttachmentRef, ChannelInfo, MetadataRef, SchemaInfo, SummaryStatistics } from './recording.ts';
import { planSpans, type Span } from './spans.ts';
import { tableNameForSchema } from './table-names.ts';

export interface RecordingSource {
  bucket: string;
  key: string;
  size: number;
  etag?: string | undefined;
  sha256?: string | undefined;
}

export interface TopicPlan {
  channelId: number;
  topic: string;
  schemaId: number;
  schemaName: string;
  schemaEncoding: string;
  messageEncoding: string;
  /** Schema table the topic's decoded messages go to; null when undecodable. */
  table: string | null;
  status: 'ok' | 'undecodable';
  reason: string | null;
}

export interface RecordingPlan {
  format: typeof PLAN_FORMAT;
  recordingId: string;
  source: RecordingSource;
  profile: string;
  library: string;
  planner: 'summary' | 'scan';
  schemas: SchemaInfo[];
  channels: ChannelInfo[];
  topics: TopicPlan[];
  spans: Span[];
  /** Schema tables that will receive rows, sorted. */
  tables: string[];
  damage: string[];
  params: { spanMaxBytes: number; spanMaxUncompressedBytes?: number; blobThresholdBytes: number };
  /** Top-level attachment and metadata records, read by the `attachments` and `metadata` converts. */
  attachments?: AttachmentRef[];
  metadata?: MetadataRef[];
  /** The summary's Statistics, checked against what the spans read (domain/cross-check.ts). */
  statistics?: SummaryStatistics;
  /** Why the planner scanned the file instead of planning from its summary. */
  plannerNote?: string;
  /**
   * A backfill's plan: the committed recording's plan with only the spans its operators need.
   * `basePlanKey` is the plan the recording was committed with.
   */
  update?: { basePlanKey: string; operators: string[] };
}

/** Whether a channel's messages can be decoded, and why not. */
/** `table` overrides the schema-derived table name (schemaless channels are named by topic). */
export type ClassifyChannel = (
  schema: SchemaInfo | undefined,
  channel: ChannelInfo,
) => { ok: true; fingerprint: string; table?: string } | { ok: false; reason: string };

export interface PlanInputs {
  recordingId: string;
  source: RecordingSource;
  index: {
    profile: string;
    library: string;
    planner: 'summary' | 'scan';
    schemas: SchemaInfo[];
    channels: ChannelInfo[];
    segments: import('./spans.ts').Segment[];
    damage: string[];
    attachments?: AttachmentRef[];
    metadata?: MetadataRef[];
    statistics?: SummaryStatistics;
    plannerNote?: string;
  };
  spanMaxBytes: number;
  /** Most bytes a span's segments decompress to (default: unbounded). */
  spanMaxUncompressedBytes?: number;
  blobThresholdBytes: number;
  /** Table names operators write (lowercased): a schema table never takes one. */
  reservedTables?: ReadonlySet<string>;
  classify: ClassifyChannel;
}

/** The stored format of a plan, its version in the name: read back only by this version. */
export const PLAN_FORMAT = 'mcapflow.plan/2';

export function buildPlan(inputs: PlanInputs): RecordingPlan {
  const { index } = inputs;
  const schemasById = new Map(index.schemas.map((s) => [s.id, s]));
  // One table per schema name; a second, different definition under the same name cannot
  // share its columns, so its topics are reported instead of mixed in.
  const tableFingerprints = new Map<string, string>();
  const topics: TopicPlan[] = [...index.channels]
    .sort((a, b) => a.id - b.id)
    .map((channel) => {
      const schema = schemasById.get(channel.schemaId);
      const base = {
        channelId: channel.id,
        topic: channel.topic,
        schemaId: channel.schemaId,
        schemaName: schema?.name ?? '',
        schemaEncoding: schema?.encoding ?? '',
        messageEncoding: channel.messageEncoding,
      };
      const verdict = inputs.classify(schema, channel);
      if (!verdict.ok) return { ...base, table: null, status: 'undecodable' as const, reason: verdict.reason };
      const table = verdict.table ?? tableNameForSchema(base.schemaName, inputs.reservedTables);
      const known = tableFingerprints.get(table);
      if (known !== undefined && known !== verdict.fingerprint) {
        return {
          ...base,
          table: null,
          status: 'undecodable' as const,
          reason: `schema ${base.schemaName} appears with two different definitions in this recording; only the first is decoded`,
        };
      }
      tableFingerprints.set(table, verdict.fingerprint);
      return { ...base, table, status: 'ok' as const, reason: null };
    });
  return {
    format: PLAN_FORMAT,
    recordingId: inputs.recordingId,
    source: inputs.source,
    profile: index.profile,
    library: index.library,
    planner: index.planner,
    schemas: index.schemas,
    channels: index.channels,
    topics,
    spans: planSpans(index.segments, inputs.spanMaxBytes, inputs.spanMaxUncompressedBytes),
    tables: [...tableFingerprints.keys()].sort(),
    damage: index.damage,
    params: {
      spanMaxBytes: inputs.spanMaxBytes,
      ...(inputs.spanMaxUncompressedBytes === undefined ? {} : { spanMaxUncompressedBytes: inputs.spanMaxUncompressedBytes }),
      blobThresholdBytes: inputs.blobThresholdBytes,
    },
    ...(index.attachments?.length ? { attachments: index.attachments } : {}),
    ...(index.metadata?.length ? { metadata: index.metadata } : {}),
    ...(index.statistics ? { statistics: index.statistics } : {}),
    ...(index.plannerNote ? { plannerNote: index.plannerNote } : {}),
  };
}

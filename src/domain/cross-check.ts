/**
 * What a recording's summary claimed against what its data section held. The summary's
 * Statistics count messages per channel, attachments and metadata; once every span is read
 * those counts can be checked. A summary-made plan that disagrees with the data is replaced
 * by a scan; a disagreement that remains is reported, never dropped.
 */
import type { RecordingPlan } from './plan.ts';

export interface DataCounts {
  /** Messages read per channel id. */
  messagesByChannel: ReadonlyMap<number, number>;
  /** True when chunks were skipped as damaged: then fewer messages than claimed is explained. */
  damaged: boolean;
}

/** Message counts that disagree with the statistics: grounds for re-planning a summary-made plan. */
export function messageCountDisagreements(plan: RecordingPlan, counts: DataCounts): string[] {
  const stats = plan.statistics;
  if (stats === undefined || counts.damaged) return [];
  const problems: string[] = [];
  const topicOf = new Map(plan.channels.map((c) => [c.id, c.topic]));
  // Statistics without per-channel counts say nothing per channel.
  const perChannel = Object.keys(stats.channelMessageCounts).length > 0;
  const channelIds = perChannel ? new Set([...Object.keys(stats.channelMessageCounts).map(Number), ...counts.messagesByChannel.keys()]) : new Set<number>();
  for (const id of [...channelIds].sort((a, b) => a - b)) {
    const claimed = BigInt(stats.channelMessageCounts[String(id)] ?? '0');
    const read = BigInt(counts.messagesByChannel.get(id) ?? 0);
    if (claimed !== read) {
      const name = topicOf.has(id) ? `${topicOf.get(id)} (channel ${id})` : `channel ${id}`;
      problems.push(`the summary's statistics count ${claimed} messages on ${name}, but the data section holds ${read}`);
    }
  }
  let total = 0n;
  for (const n of counts.messagesByChannel.values()) total += BigInt(n);
  if (BigInt(stats.messageCount) !== total && problems.length === 0) {
    problems.push(`the summary's statistics count ${stats.messageCount} messages, but the data section holds ${total}`);
  }
  return problems;
}

/** Attachment and metadata counts that disagree with the statistics: reported as they are. */
export function recordCountDisagreements(plan: RecordingPlan): string[] {
  const stats = plan.statistics;
  if (stats === undefined) return [];
  const problems: string[] = [];
  const attachments = plan.attachments?.length ?? 0;
  const metadata = plan.metadata?.length ?? 0;
  if (stats.attachmentCount !== attachments) {
    problems.push(`the summary's statistics count ${stats.attachmentCount} attachments, but the data section holds ${attachments}`);
  }
  if (stats.metadataCount !== metadata) {
    problems.push(`the summary's statistics count ${stats.metadataCount} metadata records, but the data section holds ${metadata}`);
  }
  return problems;
}

/** What the span jobs reported of one recording, as the cross-check needs it. */
export interface SpanReports {
  /** Mismatches between the bytes and the plan, per span (see mcap/span-reader.ts). */
  mismatches: readonly string[];
  messagesByChannel: ReadonlyMap<number, number>;
  damaged: boolean;
}

/** Every way the data section disagrees with the plan's summary, each named once. */
export function dataDisagreements(plan: RecordingPlan, reports: SpanReports): string[] {
  return [
    ...new Set(reports.mismatches),
    ...messageCountDisagreements(plan, { messagesByChannel: reports.messagesByChannel, damaged: reports.damaged || plan.damage.length > 0 }),
  ];
}

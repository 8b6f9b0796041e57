/**
 * Timing quality of one topic from its log times in file order: how many messages arrived
 * earlier than the one before them, and how many gaps exceed 3× the median period.
 */
export interface TopicTiming {
  outOfOrder: number;
  /** Intervals (in time order) longer than 3× the median period. */
  gaps: number;
  /** Nanoseconds as decimal strings; null with fewer than two messages. */
  medianPeriodNs: string | null;
  maxGapNs: string | null;
}

export const GAP_FACTOR = 3n;

export function topicTiming(logTimesInFileOrder: BigInt64Array): TopicTiming {
  let outOfOrder = 0;
  for (let i = 1; i < logTimesInFileOrder.length; i++) if (logTimesInFileOrder[i]! < logTimesInFileOrder[i - 1]!) outOfOrder += 1;
  if (logTimesInFileOrder.length < 2) return { outOfOrder, gaps: 0, medianPeriodNs: null, maxGapNs: null };
  const sorted = BigInt64Array.from(logTimesInFileOrder).sort();
  const periods = new BigInt64Array(sorted.length - 1);
  for (let i = 1; i < sorted.length; i++) periods[i - 1] = sorted[i]! - sorted[i - 1]!;
  const ordered = BigInt64Array.from(periods).sort();
  const median = ordered[Math.floor((ordered.length - 1) / 2)]!;
  let gaps = 0;
  for (const p of periods) if (median > 0n ? p > GAP_FACTOR * median : p > 0n) gaps += 1;
  return { outOfOrder, gaps, medianPeriodNs: median.toString(), maxGapNs: ordered[ordered.length - 1]!.toString() };
}

/**
 * Size bounds of dead-letter entries. An entry is kept in Redis until someone retries or
 * discards it, so its size must not depend on how big the job's input or its errors were:
 * the input is replaced by a preview when it is over a quarter of the entry budget, error
 * messages and stacks are clipped, and the oldest attempts are left out when the rest
 * would not fit. What was cut is said in the entry, never silently. Pure: no Redis. The
 * budget must hold ids, timestamps, a preview and one attempt: the config allows no less
 * than 2048 bytes.
 */

/** The input of a job too big to keep whole in its dead-letter entry. */
export interface TruncatedData {
  truncated: true;
  /** Size of the input's JSON. */
  bytes: number;
  /** Its JSON, clipped. */
  preview: string;
}

export interface BoundedAttempt {
  error: string;
  stack: string | null;
}

export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? 'null');
}

/** `text`, clipped so its JSON encoding takes at most `maxBytes`, with a note saying how long it was. */
export function clip(text: string, maxBytes: number): string {
  if (jsonBytes(text) <= maxBytes) return text;
  const note = ` … [clipped, ${Buffer.byteLength(text)} bytes in all]`;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (jsonBytes(text.slice(0, mid) + note) <= maxBytes) lo = mid;
    else hi = mid - 1;
  }
  return lo === 0 && jsonBytes(note) > maxBytes ? '' : text.slice(0, lo) + note;
}

/** The job input as the entry keeps it: whole when it fits in a quarter of the budget. */
export function boundData(data: unknown, maxEntryBytes: number): unknown {
  const budget = Math.floor(maxEntryBytes / 4);
  if (jsonBytes(data) <= budget) return data;
  const json = JSON.stringify(data) ?? 'null';
  // The preview's share: the budget minus the marker's own fields.
  return { truncated: true, bytes: Buffer.byteLength(json), preview: clip(json, budget - 64) } satisfies TruncatedData;
}

/** An attempt's error and stack as stored (the attempt history and the entry use the same limits). */
export function boundAttempt<T extends BoundedAttempt>(attempt: T, maxEntryBytes: number): T {
  return {
    ...attempt,
    error: clip(attempt.error, Math.floor(maxEntryBytes / 16)),
    stack: attempt.stack === null ? null : clip(attempt.stack, Math.floor(maxEntryBytes / 8)),
  };
}

/**
 * `entry` with its input, failure reason and attempts bounded so that its JSON takes at
 * most `maxEntryBytes`. The newest attempts are kept; `attemptsOmitted` counts the rest.
 */
export function boundEntry<A extends BoundedAttempt, T extends { data: unknown; failedReason: string; attempts: A[] }>(
  entry: T,
  maxEntryBytes: number,
): T & { attemptsOmitted?: number } {
  const base = { ...entry, data: boundData(entry.data, maxEntryBytes), failedReason: clip(entry.failedReason, Math.floor(maxEntryBytes / 16)), attempts: [] };
  // Room for the attempts, less what `attemptsOmitted` takes if it is needed.
  let room = maxEntryBytes - jsonBytes(base) - 32;
  const kept: A[] = [];
  for (const attempt of [...entry.attempts].reverse()) {
    let bounded = boundAttempt(attempt, maxEntryBytes);
    // The newest attempt is kept even when only its error fits.
    if (jsonBytes(bounded) + 1 > room && kept.length === 0) bounded = { ...bounded, stack: null };
    const size = jsonBytes(bounded) + 1;
    if (size > room) break;
    kept.unshift(bounded);
    room -= size;
  }
  const omitted = entry.attempts.length - kept.length;
  return { ...base, attempts: kept, ...(omitted > 0 ? { attemptsOmitted: omitted } : {}) };
}

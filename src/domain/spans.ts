/**
 * Chunk-span planning: which byte ranges of a recording one index/extract job handles.
 * A span is a run of neighbouring segments fetched with a single ranged GET, so its byte
 * length (gaps such as message indexes included) is what the size limit bounds.
 */

/** A piece of the data section one job can read on its own. */
export interface Segment {
  /** `chunk`: one Chunk record. `records`: top-level Schema/Channel/Message records (unchunked files). */
  kind: 'chunk' | 'records';
  /** File offset of the first byte. */
  offset: number;
  /** Byte length, whole records included. */
  length: number;
  compression: string;
  compressedSize: number;
  uncompressedSize: number;
  /** Nanoseconds, as decimal strings so plans survive JSON. */
  messageStartTime: string;
  messageEndTime: string;
  /** The chunk's MessageIndex records, right after it: `[offset, offset + length)` of the file. */
  messageIndex?: { offset: number; length: number };
}

export interface Span {
  index: number;
  /** First byte, inclusive. */
  start: number;
  /** Last byte, exclusive. */
  end: number;
  segments: Segment[];
  messageStartTime: string;
  messageEndTime: string;
}

function minTime(a: string, b: string): string {
  return BigInt(a) <= BigInt(b) ? a : b;
}

function maxTime(a: string, b: string): string {
  return BigInt(a) >= BigInt(b) ? a : b;
}

/**
 * Groups segments in file order into spans whose byte range stays within `maxBytes` and whose
 * segments decompress to at most `maxUncompressedBytes` (what one job holds in memory). A
 * segment larger than a limit gets a span of its own rather than being split.
 */
export function planSpans(segments: readonly Segment[], maxBytes: number, maxUncompressedBytes = Number.POSITIVE_INFINITY): Span[] {
  if (!(maxBytes > 0)) throw new RangeError(`span size limit must be positive, got ${maxBytes}`);
  const sorted = [...segments].sort((a, b) => a.offset - b.offset);
  const spans: Span[] = [];
  let current: Span | undefined;
  let uncompressed = 0;
  for (const segment of sorted) {
    const segmentEnd = segment.offset + segment.length;
    if (current !== undefined && segmentEnd - current.start <= maxBytes && uncompressed + segment.uncompressedSize <= maxUncompressedBytes) {
      uncompressed += segment.uncompressedSize;
      current.end = segmentEnd;
      current.segments.push(segment);
      current.messageStartTime = minTime(current.messageStartTime, segment.messageStartTime);
      current.messageEndTime = maxTime(current.messageEndTime, segment.messageEndTime);
      continue;
    }
    current = {
      index: spans.length,
      start: segment.offset,
      end: segmentEnd,
      segments: [segment],
      messageStartTime: segment.messageStartTime,
      messageEndTime: segment.messageEndTime,
    };
    uncompressed = segment.uncompressedSize;
    spans.push(current);
  }
  return spans;
}

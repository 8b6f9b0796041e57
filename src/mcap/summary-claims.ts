/**
 * A summary section is a claim about the data section, not proof of it. This module checks
 * what a summary says against itself and against the object's shape, without reading any
 * data: chunk index entries must describe chunk records inside the data section that do not
 * overlap; message-index offsets must sit right after their chunk and name defined channels;
 * Statistics counts must agree with the indexes. What it cannot settle from the summary alone
 * (records the summary leaves out) it lists, so the planner reads exactly those bytes.
 */

/** One ChunkIndex entry, as the summary states it. */
export interface ClaimedChunk {
  offset: number;
  /** Whole Chunk record: opcode, length prefix and content (the spec's `chunk_length`). */
  length: number;
  compression: string;
  compressedSize: number;
  uncompressedSize: number;
  messageStartTime: bigint;
  messageEndTime: bigint;
  /** Channel id → file offset of that channel's MessageIndex record. */
  messageIndexOffsets: ReadonlyMap<number, bigint>;
  messageIndexLength: number;
}

export interface ClaimedStatistics {
  messageCount: bigint;
  schemaCount: number;
  channelCount: number;
  attachmentCount: number;
  metadataCount: number;
  chunkCount: number;
  channelMessageCounts: ReadonlyMap<number, bigint>;
}

export interface ByteRange {
  start: number;
  end: number;
}

export interface SummaryClaims {
  /** First byte after the Header record. */
  dataStart: number;
  /** Offset of the DataEnd record: the data section is `[dataStart, dataEnd)`. */
  dataEnd: number;
  chunks: readonly ClaimedChunk[];
  schemaIds: ReadonlySet<number>;
  /** Channel id → its schema id (0: schemaless). */
  channels: ReadonlyMap<number, number>;
  /** Indexed Attachment and Metadata records (whole records). */
  attachments: readonly ByteRange[];
  metadata: readonly ByteRange[];
  statistics: ClaimedStatistics | undefined;
}

export interface SummaryCheck {
  /**
   * Why the summary cannot be planned from (claims that contradict each other or the object,
   * or omissions only reading the whole data section can fill): the file is scanned instead.
   */
  scanBecause: string[];
  /**
   * Channels that hold messages (by message index or statistics) but are not defined in the
   * summary, with the offset of the first chunk holding them when the message index says so.
   */
  missingChannels: Map<number, number | undefined>;
  /** Schemas that defined channels use but the summary does not define. */
  missingSchemas: Set<number>;
  /** Chunks to leave out, with why: they declare more memory than a worker may spend on one. */
  oversizedChunks: { offset: number; reason: string }[];
  /** Data-section bytes no index accounts for: they hold records the summary does not list. */
  gaps: ByteRange[];
}

/** Fixed fields of a Chunk record before the compression string's bytes and the records. */
const CHUNK_FIXED_BYTES = 9 + 8 + 8 + 8 + 4 + 4 + 8;

export interface CheckLimits {
  /** Largest uncompressed chunk a worker decompresses. */
  maxChunkBytes: number;
}

function chunkProblems(chunk: ClaimedChunk, claims: SummaryClaims): string | undefined {
  const at = `the chunk index entry for offset ${chunk.offset}`;
  if (!Number.isSafeInteger(chunk.offset) || !Number.isSafeInteger(chunk.length)) return `${at} has an offset or length beyond 2^53`;
  if (chunk.offset < claims.dataStart) return `${at} points before the data section (which starts at ${claims.dataStart})`;
  if (chunk.offset + chunk.length > claims.dataEnd) {
    return `${at} declares ${chunk.length} bytes, past the end of the data section at ${claims.dataEnd}`;
  }
  const minimum = CHUNK_FIXED_BYTES + Buffer.byteLength(chunk.compression) + chunk.compressedSize;
  if (chunk.length < minimum) return `${at} declares a ${chunk.length}-byte record, too short for ${chunk.compressedSize} compressed bytes`;
  if (chunk.messageStartTime > chunk.messageEndTime) return `${at} has a message start time after its end time`;
  if (chunk.compression === '' && chunk.compressedSize !== chunk.uncompressedSize) {
    return `${at} declares an uncompressed chunk of ${chunk.compressedSize} bytes that holds ${chunk.uncompressedSize}`;
  }
  const messageIndexStart = chunk.offset + chunk.length;
  for (const [channelId, offset] of chunk.messageIndexOffsets) {
    if (offset < BigInt(messageIndexStart) || offset >= BigInt(messageIndexStart + chunk.messageIndexLength)) {
      return `${at} places the message index of channel ${channelId} at ${offset}, outside the ${chunk.messageIndexLength} bytes after the chunk`;
    }
  }
  return undefined;
}

/** `[dataStart, dataEnd)` minus every range the summary accounts for, in file order. */
function uncovered(claims: SummaryClaims): ByteRange[] {
  const covered: ByteRange[] = [
    ...claims.chunks.map((c) => ({ start: c.offset, end: c.offset + c.length + c.messageIndexLength })),
    ...claims.attachments.map((a) => ({ start: a.start, end: a.end })),
    ...claims.metadata.map((m) => ({ start: m.start, end: m.end })),
  ].sort((a, b) => a.start - b.start);
  const gaps: ByteRange[] = [];
  let position = claims.dataStart;
  for (const range of covered) {
    if (range.start > position) gaps.push({ start: position, end: Math.min(range.start, claims.dataEnd) });
    position = Math.max(position, range.end);
  }
  if (position < claims.dataEnd) gaps.push({ start: position, end: claims.dataEnd });
  return gaps.filter((g) => g.end > g.start);
}

function overlaps(ranges: ByteRange[]): ByteRange | undefined {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  for (let i = 1; i < sorted.length; i++) if (sorted[i]!.start < sorted[i - 1]!.end) return sorted[i];
  return undefined;
}

function statisticsProblems(stats: ClaimedStatistics, claims: SummaryClaims): string[] {
  const problems: string[] = [];
  if (stats.chunkCount !== claims.chunks.length && !(stats.chunkCount === 0 && claims.chunks.length === 0)) {
    problems.push(`the summary lists ${claims.chunks.length} chunk indexes but its statistics count ${stats.chunkCount} chunks`);
  }
  let perChannel = 0n;
  for (const count of stats.channelMessageCounts.values()) perChannel += count;
  if (stats.channelMessageCounts.size > 0 && perChannel !== stats.messageCount) {
    problems.push(`the statistics count ${stats.messageCount} messages in all but ${perChannel} channel by channel`);
  }
  if (stats.attachmentCount < claims.attachments.length) {
    problems.push(`the summary indexes ${claims.attachments.length} attachments but its statistics count ${stats.attachmentCount}`);
  }
  if (stats.metadataCount < claims.metadata.length) {
    problems.push(`the summary indexes ${claims.metadata.length} metadata records but its statistics count ${stats.metadataCount}`);
  }
  if (stats.messageCount > 0n && claims.chunks.length > 0 && claims.chunks.every((c) => c.uncompressedSize === 0)) {
    problems.push(`the statistics count ${stats.messageCount} messages but every indexed chunk is empty`);
  }
  return problems;
}

export function checkSummary(claims: SummaryClaims, limits: CheckLimits): SummaryCheck {
  const scanBecause: string[] = [];
  const oversizedChunks: SummaryCheck['oversizedChunks'] = [];
  for (const chunk of claims.chunks) {
    const problem = chunkProblems(chunk, claims);
    if (problem !== undefined) scanBecause.push(problem);
    else if (chunk.uncompressedSize > limits.maxChunkBytes) {
      oversizedChunks.push({
        offset: chunk.offset,
        reason: `the chunk declares ${chunk.uncompressedSize} uncompressed bytes, over the ${limits.maxChunkBytes}-byte limit (MCAPFLOW_MAX_CHUNK_BYTES)`,
      });
    }
  }
  const overlap = overlaps([
    ...claims.chunks.map((c) => ({ start: c.offset, end: c.offset + c.length + c.messageIndexLength })),
    ...claims.attachments,
    ...claims.metadata,
  ]);
  if (scanBecause.length === 0 && overlap !== undefined) scanBecause.push(`the summary's indexes overlap at offset ${overlap.start}`);
  if (claims.statistics !== undefined) scanBecause.push(...statisticsProblems(claims.statistics, claims));

  // Channels that certainly hold messages: named by a message index or counted by the statistics.
  const missingChannels = new Map<number, number | undefined>();
  for (const chunk of [...claims.chunks].sort((a, b) => a.offset - b.offset)) {
    for (const channelId of chunk.messageIndexOffsets.keys()) {
      if (!claims.channels.has(channelId) && missingChannels.get(channelId) === undefined) missingChannels.set(channelId, chunk.offset);
    }
  }
  for (const [channelId, count] of claims.statistics?.channelMessageCounts ?? []) {
    if (count > 0n && !claims.channels.has(channelId) && !missingChannels.has(channelId)) missingChannels.set(channelId, undefined);
  }
  const missingSchemas = new Set([...claims.channels.values()].filter((id) => id !== 0 && !claims.schemaIds.has(id)));
  const holdsData = claims.chunks.some((c) => c.uncompressedSize > 0);
  if (claims.channels.size === 0 && missingChannels.size === 0 && holdsData) {
    // Nothing names the channels the chunks hold, so only reading every chunk finds them.
    scanBecause.push('the summary defines no channels and no message index or statistics names them');
  }
  return {
    scanBecause,
    missingChannels,
    missingSchemas,
    oversizedChunks,
    gaps: scanBecause.length > 0 ? [] : uncovered(claims),
  };
}

/**
 * True when nothing the summary leaves out could hold data: no channel or schema is missing
 * and no data-section byte is unaccounted for.
 */
export function summaryIsComplete(check: SummaryCheck): boolean {
  return check.scanBecause.length === 0 && check.missingChannels.size === 0 && check.missingSchemas.size === 0 && check.gaps.length === 0;
}

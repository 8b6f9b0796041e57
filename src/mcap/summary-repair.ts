/**
 * Completes a summary from the data section when `checkSummary` found it incomplete: reads
 * the data-section bytes no index accounts for (unindexed attachments, metadata, top-level
 * messages, chunks missing from the chunk index) and the first chunk holding each channel
 * whose Channel or Schema record the summary leaves out. Reads only those bytes; when the
 * omission cannot be located without reading everything, it answers "scan" instead.
 */
import type { IReadable } from '@mcap/core';
import type { Segment } from '../domain/spans.ts';
import { describeError, InvalidRecordingError } from '../errors.ts';
import { checkCrc, decompressChunk } from './decompress.ts';
import { channelInfo, readIndexFromSummary, schemaInfo, type AttachmentRef, type MetadataRef, type RecordingIndex } from './recording-index.ts';
import { ByteCursor, forEachRecord, Opcode, parseChannel, parseChunkHeader, parseSchema, RECORD_PREFIX_BYTES } from './records.ts';
import { checkSummary, type ByteRange, type SummaryCheck, type SummaryClaims } from './summary-claims.ts';

export interface RepairLimits {
  maxRecordBytes: number;
  maxChunkBytes: number;
  /** Walking more unindexed bytes than this record by record costs more than one streaming scan. */
  maxGapBytes: number;
}

/** More unindexed bytes than this are read by one streaming scan rather than record by record. */
const MAX_GAP_WALK_BYTES = 64 * 1024 * 1024;

/** Bounds of planning reads: records and chunks it may allocate, unindexed bytes it may walk. */
export function planningLimits(config: { maxRecordBytes: number; maxChunkBytes: number }): RepairLimits {
  return { maxRecordBytes: config.maxRecordBytes, maxChunkBytes: config.maxChunkBytes, maxGapBytes: MAX_GAP_WALK_BYTES };
}

export type Repaired = { index: RecordingIndex; read: string[] } | { unusable: string };

/** Bytes of an Attachment record read to learn its fields; its data is never needed here. */
const ATTACHMENT_HEAD_BYTES = 64 * 1024;
/** Bytes of an unindexed Chunk record read to learn its header. */
const CHUNK_HEAD_BYTES = 4096;
const MESSAGE_FIXED_BYTES = 22;

class Unplannable extends Error {}

async function readBytes(readable: IReadable, offset: number, length: number): Promise<Uint8Array> {
  return readable.read(BigInt(offset), BigInt(length));
}

/** Top-level records found outside the indexed chunks. */
interface GapFindings {
  segments: Segment[];
  attachments: AttachmentRef[];
  metadata: MetadataRef[];
  damage: string[];
}

function timesOf(run: { start?: bigint; end?: bigint }): { messageStartTime: string; messageEndTime: string } {
  return { messageStartTime: (run.start ?? 0n).toString(), messageEndTime: (run.end ?? 0n).toString() };
}

/** Walks the records of one unindexed range; every byte must belong to a whole record. */
async function walkGap(readable: IReadable, gap: ByteRange, index: RecordingIndex, limits: RepairLimits, found: GapFindings): Promise<void> {
  let run: { offset: number; end: number; start?: bigint; endTime?: bigint } | undefined;
  const closeRun = () => {
    if (run !== undefined) {
      const length = run.end - run.offset;
      found.segments.push({
        kind: 'records',
        offset: run.offset,
        length,
        compression: '',
        compressedSize: length,
        uncompressedSize: length,
        ...timesOf({ start: run.start, end: run.endTime }),
      });
    }
    run = undefined;
  };
  let offset = gap.start;
  while (offset < gap.end) {
    if (gap.end - offset < RECORD_PREFIX_BYTES) throw new Unplannable(`${gap.end - offset} stray bytes at offset ${offset}, between indexed records`);
    const prefix = await readBytes(readable, offset, RECORD_PREFIX_BYTES);
    const opcode = prefix[0]!;
    const length = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength).getBigUint64(1, true);
    const contentStart = offset + RECORD_PREFIX_BYTES;
    if (length > BigInt(gap.end - contentStart)) throw new Unplannable(`the record at offset ${offset} runs into an indexed record at ${gap.end}`);
    const end = contentStart + Number(length);
    switch (opcode) {
      case Opcode.Message: {
        if (end - contentStart < MESSAGE_FIXED_BYTES) throw new Unplannable(`the message record at offset ${offset} is shorter than its fixed fields`);
        const fixed = await readBytes(readable, contentStart, MESSAGE_FIXED_BYTES);
        const logTime = new DataView(fixed.buffer, fixed.byteOffset, fixed.byteLength).getBigUint64(6, true);
        run ??= { offset, end };
        run.end = end;
        if (run.start === undefined || logTime < run.start) run.start = logTime;
        if (run.endTime === undefined || logTime > run.endTime) run.endTime = logTime;
        break;
      }
      case Opcode.Schema:
      case Opcode.Channel: {
        const record = await readBytes(readable, offset, end - offset);
        learnDefinitions(index, record, limits.maxRecordBytes);
        if (run !== undefined) run.end = end;
        break;
      }
      case Opcode.Attachment: {
        closeRun();
        const head = await readBytes(readable, contentStart, Math.min(end - contentStart, ATTACHMENT_HEAD_BYTES));
        const c = new ByteCursor(head);
        const logTime = c.uint64();
        const createTime = c.uint64();
        const name = c.string();
        const mediaType = c.string();
        const dataSize = Number(c.uint64());
        found.attachments.push({ offset, length: end - offset, name, mediaType, logTime: logTime.toString(), createTime: createTime.toString(), dataSize });
        break;
      }
      case Opcode.Metadata: {
        closeRun();
        const content = await readBytes(readable, contentStart, Math.min(end - contentStart, limits.maxRecordBytes));
        found.metadata.push({ offset, length: end - offset, name: new ByteCursor(content).string() });
        break;
      }
      case Opcode.Chunk: {
        closeRun();
        // A chunk the chunk index does not list: plan it like any other.
        const head = await readBytes(readable, contentStart, Math.min(end - contentStart, CHUNK_HEAD_BYTES));
        const c = new ByteCursor(head);
        const messageStartTime = c.uint64();
        const messageEndTime = c.uint64();
        const uncompressedSize = c.uint64();
        c.uint32();
        const compression = c.string();
        const compressedSize = c.uint64();
        if (uncompressedSize > BigInt(limits.maxChunkBytes)) {
          found.damage.push(
            `skipped the chunk at offset ${offset}: it declares ${uncompressedSize} uncompressed bytes, over the ${limits.maxChunkBytes}-byte limit (MCAPFLOW_MAX_CHUNK_BYTES)`,
          );
          break;
        }
        found.segments.push({
          kind: 'chunk',
          offset,
          length: end - offset,
          compression,
          compressedSize: Number(compressedSize),
          uncompressedSize: Number(uncompressedSize),
          messageStartTime: messageStartTime.toString(),
          messageEndTime: messageEndTime.toString(),
        });
        break;
      }
      case Opcode.Header:
      case Opcode.Footer:
      case Opcode.DataEnd:
        throw new Unplannable(
          `a ${opcode === Opcode.Header ? 'Header' : opcode === Opcode.Footer ? 'Footer' : 'DataEnd'} record sits inside the data section at offset ${offset}`,
        );
      default:
        // Message indexes of unindexed chunks, unknown opcodes: nothing to plan, and a run of
        // top-level messages may continue past them.
        if (run !== undefined) run.end = end;
        break;
    }
    offset = end;
  }
  closeRun();
}

/** Adds the Schema and Channel records in `bytes` that the index does not have yet. */
function learnDefinitions(index: RecordingIndex, bytes: Uint8Array, maxRecordBytes: number): void {
  forEachRecord(bytes, 0, bytes.length, maxRecordBytes, (slot) => {
    if (slot.opcode === Opcode.Schema) {
      const schema = parseSchema(bytes, slot.contentStart, slot.contentEnd);
      if (!index.schemas.some((s) => s.id === schema.id)) index.schemas.push(schemaInfo(schema));
    } else if (slot.opcode === Opcode.Channel) {
      const channel = parseChannel(bytes, slot.contentStart, slot.contentEnd);
      if (!index.channels.some((c) => c.id === channel.id)) index.channels.push(channelInfo(channel));
    }
  });
}

/** Decompresses the chunk at `segment` and learns the definitions it holds. */
async function learnFromChunk(readable: IReadable, segment: Segment, index: RecordingIndex, limits: RepairLimits): Promise<void> {
  const record = await readBytes(readable, segment.offset, segment.length);
  if (record[0] !== Opcode.Chunk) throw new Unplannable(`the chunk index points at offset ${segment.offset}, where there is no chunk record`);
  const header = parseChunkHeader(record, RECORD_PREFIX_BYTES, record.length);
  const records = decompressChunk(header.compression, header.records, header.uncompressedSize, limits.maxChunkBytes);
  checkCrc(records, header.uncompressedCrc, `chunk at offset ${segment.offset}`);
  learnDefinitions(index, records, limits.maxRecordBytes);
}

function missingDefinitions(index: RecordingIndex, check: SummaryCheck): { channels: number[]; schemas: number[] } {
  const channels = [...check.missingChannels.keys()].filter((id) => !index.channels.some((c) => c.id === id));
  const schemaIds = new Set(index.channels.map((c) => c.schemaId).filter((id) => id !== 0));
  const schemas = [...schemaIds].filter((id) => !index.schemas.some((s) => s.id === id));
  return { channels, schemas };
}

/**
 * Chunks that must hold the missing definitions: a Channel (and its Schema) record comes no
 * later than the first message on the channel, so the first chunk holding that message.
 */
function chunksToSearch(
  claims: SummaryClaims,
  check: SummaryCheck,
  missing: { channels: number[]; schemas: number[] },
  index: RecordingIndex,
): number[] | string {
  const firstChunkOf = new Map<number, number>();
  for (const chunk of [...claims.chunks].sort((a, b) => a.offset - b.offset)) {
    for (const channelId of chunk.messageIndexOffsets.keys()) if (!firstChunkOf.has(channelId)) firstChunkOf.set(channelId, chunk.offset);
  }
  const offsets = new Set<number>();
  for (const id of missing.channels) {
    const offset = check.missingChannels.get(id) ?? firstChunkOf.get(id);
    if (offset === undefined) return `channel ${id} has messages but neither the summary nor a message index says where it is defined`;
    offsets.add(offset);
  }
  for (const schemaId of missing.schemas) {
    const users = index.channels.filter((c) => c.schemaId === schemaId).map((c) => firstChunkOf.get(c.id));
    const known = users.filter((o): o is number => o !== undefined);
    if (known.length === 0) return `schema ${schemaId} is used by channels the message index does not locate, and the summary leaves it out`;
    offsets.add(Math.min(...known));
  }
  return [...offsets].sort((a, b) => a - b);
}

export async function completeFromDataSection(
  readable: IReadable,
  base: RecordingIndex,
  claims: SummaryClaims,
  check: SummaryCheck,
  limits: RepairLimits,
): Promise<Repaired> {
  if (check.scanBecause.length > 0) return { unusable: check.scanBecause.join('; ') };
  const index: RecordingIndex = {
    ...base,
    schemas: [...base.schemas],
    channels: [...base.channels],
    segments: base.segments.filter((s) => !check.oversizedChunks.some((o) => o.offset === s.offset)),
    damage: [...base.damage, ...check.oversizedChunks.map((o) => `skipped the chunk at offset ${o.offset}: ${o.reason}`)],
    attachments: [...(base.attachments ?? [])],
    metadata: [...(base.metadata ?? [])],
  };
  const read: string[] = [];
  try {
    const gapBytes = check.gaps.reduce((n, g) => n + g.end - g.start, 0);
    if (gapBytes > limits.maxGapBytes) return { unusable: `${gapBytes} bytes of the data section lie outside the indexed chunks and attachments` };
    if (gapBytes > 0) {
      const found: GapFindings = { segments: [], attachments: [], metadata: [], damage: [] };
      for (const gap of check.gaps) await walkGap(readable, gap, index, limits, found);
      index.segments.push(...found.segments);
      index.attachments!.push(...found.attachments);
      index.metadata!.push(...found.metadata);
      index.damage.push(...found.damage);
      read.push(`${gapBytes} unindexed bytes in ${check.gaps.length} range(s)`);
    }
    let missing = missingDefinitions(index, check);
    if (missing.channels.length + missing.schemas.length > 0) {
      const offsets = chunksToSearch(claims, check, missing, index);
      if (typeof offsets === 'string') return { unusable: offsets };
      for (const offset of offsets) {
        const segment = index.segments.find((s) => s.offset === offset);
        if (segment !== undefined) await learnFromChunk(readable, segment, index, limits);
      }
      read.push(`${offsets.length} chunk(s) for channel and schema definitions the summary leaves out`);
      missing = missingDefinitions(index, check);
      if (missing.channels.length > 0)
        return {
          unusable: `channel(s) ${missing.channels.join(', ')} hold messages but are defined neither in the summary nor where their first messages are`,
        };
      if (missing.schemas.length > 0)
        return { unusable: `schema(s) ${missing.schemas.join(', ')} are defined neither in the summary nor next to their channels` };
    }
  } catch (error) {
    if (error instanceof Unplannable || error instanceof InvalidRecordingError) return { unusable: describeError(error) };
    throw error;
  }
  index.segments.sort((a, b) => a.offset - b.offset);
  // Counts the statistics claim and the data section does not hold are reported at commit (domain/cross-check.ts).
  return { index, read };
}

/**
 * Plans from the summary when it holds up: reads it, checks its claims, and completes it
 * from the data section. `unusable` says why the file has to be scanned instead.
 */
export async function indexFromSummary(readable: IReadable, limits: RepairLimits): Promise<Repaired> {
  const summary = await readIndexFromSummary(readable);
  if ('unusable' in summary) return summary;
  const check = checkSummary(summary.claims, { maxChunkBytes: limits.maxChunkBytes });
  return completeFromDataSection(readable, summary.index, summary.claims, check, limits);
}

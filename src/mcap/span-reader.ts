/**
 * Reads the records of one chunk span from the bytes of a single ranged GET. Each chunk is
 * decompressed once; a damaged chunk (bad CRC, undecodable compression, corrupt records) is
 * skipped whole and reported by offset, so every operator sees exactly the same messages.
 * Where the bytes contradict the plan's summary, that is reported apart from damage.
 */
import type { Segment, Span } from '../domain/spans.ts';
import type { Damage, MessageLocation } from '../domain/work.ts';
import { InvalidRecordingError, isMcapflowError, StorageError } from '../errors.ts';
import { checkCrc, decompressChunk } from './decompress.ts';
import {
  forEachRecord,
  Opcode,
  parseChannel,
  parseChunkHeader,
  parseMessage,
  parseSchema,
  RECORD_PREFIX_BYTES,
  type ChannelRecord,
  type ChunkHeader,
  type MessageRecord,
  type SchemaRecord,
} from './records.ts';

/** The records of one segment as the walk sees them, before its messages are visited. */
export interface SegmentRecords {
  /** File offset of the Chunk record, or of the first top-level record. */
  offset: number;
  kind: Segment['kind'];
  /** The chunk's records (decompressed), or the file bytes holding the top-level records. */
  records: Uint8Array;
  /** File offset of `records[0]` when the records are stored as they are (top-level, or an uncompressed chunk); null when decompressed. */
  recordsFileOffset: number | null;
}

export interface SpanVisitor {
  /** Called before the messages of each readable segment (blob references point into `records`). */
  segment?(records: SegmentRecords): void;
  schema?(schema: SchemaRecord): void;
  channel?(channel: ChannelRecord): void;
  message(message: MessageRecord, location: MessageLocation): void;
}

export interface SpanReadOptions {
  maxRecordBytes: number;
  /** Largest uncompressed chunk decompressed; a chunk declaring more is damaged. */
  maxChunkBytes?: number;
  validateCrc: boolean;
  /**
   * The channels the plan knows (id → topic and schema id). When given, records that
   * contradict the plan are reported as mismatches: the plan's summary was wrong.
   */
  plannedChannels?: ReadonlyMap<number, { topic: string; schemaId: number }>;
}

export interface SpanReadReport {
  /** Segments skipped whole: damaged data (bad CRC, undecodable compression, broken records). */
  damaged: Damage[];
  /**
   * Where the bytes contradict the plan (no chunk record where the index says, a channel the
   * plan does not define, messages on a channel defined nowhere). A plan made from a summary
   * is then replaced by a scan; for a scan's own plan these describe what the file lacks.
   */
  mismatches: string[];
}

const MESSAGE_FIXED_BYTES = 22;

/** The plan's summary does not describe the bytes at a segment. */
class PlanMismatch extends Error {}

/** Records of one segment, validated before any is visited so a corrupt tail visits nothing. */
interface Prepared {
  bytes: Uint8Array;
  start: number;
  end: number;
  /** File offset of `bytes[0]` for error messages (0 inside chunk records). */
  baseOffset: number;
  /** Schema and Channel records, first definition of each id. Bounded: ids are 16-bit. */
  schemas: Map<number, SchemaRecord>;
  channels: Map<number, ChannelRecord>;
  locate: (recordOffset: number) => MessageLocation;
  /** File offset of `bytes[0]` when the bytes are the file's own (not decompressed). */
  fileOffset: number | null;
}

/**
 * Checks the framing of every record and parses the definitions, keeping nothing per
 * message: memory stays bounded however many records a chunk holds.
 */
function prepare(
  bytes: Uint8Array,
  start: number,
  end: number,
  maxRecordBytes: number,
  baseOffset: number,
  locate: Prepared['locate'],
  fileOffset: number | null,
): Prepared {
  const schemas = new Map<number, SchemaRecord>();
  const channels = new Map<number, ChannelRecord>();
  forEachRecord(
    bytes,
    start,
    end,
    maxRecordBytes,
    (slot) => {
      if (slot.opcode === Opcode.Message) {
        if (slot.contentEnd - slot.contentStart < MESSAGE_FIXED_BYTES)
          throw new Error(`message record at offset ${baseOffset + slot.offset} is shorter than its fixed fields`);
      } else if (slot.opcode === Opcode.Schema) {
        const schema = parseSchema(bytes, slot.contentStart, slot.contentEnd);
        if (!schemas.has(schema.id)) schemas.set(schema.id, schema);
      } else if (slot.opcode === Opcode.Channel) {
        const channel = parseChannel(bytes, slot.contentStart, slot.contentEnd);
        if (!channels.has(channel.id)) channels.set(channel.id, channel);
      }
    },
    baseOffset,
  );
  return { bytes, start, end, baseOffset, schemas, channels, locate, fileOffset };
}

function visit(
  prepared: Prepared,
  visitor: SpanVisitor,
  options: SpanReadOptions,
  state: { defined: Set<number>; undefinedMessages: Map<number, number> },
): void {
  const { bytes, schemas, channels, locate } = prepared;
  for (const schema of schemas.values()) visitor.schema?.(schema);
  for (const channel of channels.values()) {
    state.defined.add(channel.id);
    visitor.channel?.(channel);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const planned = options.plannedChannels;
  forEachRecord(bytes, prepared.start, prepared.end, options.maxRecordBytes, (slot) => {
    if (slot.opcode !== Opcode.Message) return;
    const message = parseMessage(view, bytes, slot.contentStart, slot.contentEnd);
    if (planned !== undefined && !planned.has(message.channelId) && !state.defined.has(message.channelId)) {
      state.undefinedMessages.set(message.channelId, (state.undefinedMessages.get(message.channelId) ?? 0) + 1);
    }
    visitor.message(message, locate(slot.offset));
  });
}

/** Definitions in the bytes that the plan lacks or states differently. */
function definitionMismatches(prepared: Prepared, where: string, planned: SpanReadOptions['plannedChannels']): string[] {
  if (planned === undefined) return [];
  const problems: string[] = [];
  for (const channel of prepared.channels.values()) {
    const known = planned.get(channel.id);
    if (known === undefined) problems.push(`channel ${channel.id} (${channel.topic}) is defined in the ${where} but not in the plan`);
    else if (known.topic !== channel.topic || known.schemaId !== channel.schemaId) {
      problems.push(
        `channel ${channel.id} is defined in the ${where} as ${channel.topic} (schema ${channel.schemaId}), unlike the summary's ${known.topic} (schema ${known.schemaId})`,
      );
    }
  }
  return problems;
}

function describe(error: unknown): string {
  if (isMcapflowError(error) || error instanceof Error) return error.message;
  return String(error);
}

/**
 * Walks the segments of one span, in file order, whatever the bytes arrive in: per segment,
 * first its Schema and Channel records, then its messages. Collects damage and mismatches.
 */
class SpanWalk {
  readonly damaged: Damage[] = [];
  readonly mismatches: string[] = [];
  readonly #state = { defined: new Set<number>(), undefinedMessages: new Map<number, number>() };
  readonly #span: Span;
  readonly #options: SpanReadOptions;
  readonly #visitor: SpanVisitor;

  constructor(span: Span, options: SpanReadOptions, visitor: SpanVisitor) {
    this.#span = span;
    this.#options = options;
    this.#visitor = visitor;
  }

  /** `bytes[start]` is the first byte of `segment`; `bytesOffset` is the file offset of `bytes[0]`. */
  segment(bytes: Uint8Array, start: number, segment: Segment, bytesOffset: number): void {
    let prepared: Prepared;
    try {
      prepared = prepareSegment(bytes, start, segment, bytesOffset, this.#options);
    } catch (error) {
      if (error instanceof PlanMismatch) this.mismatches.push(error.message);
      else this.damaged.push({ offset: segment.offset, reason: describe(error) });
      return;
    }
    const where = segment.kind === 'chunk' ? `chunk at offset ${segment.offset}` : `records at offset ${segment.offset}`;
    this.mismatches.push(...definitionMismatches(prepared, where, this.#options.plannedChannels));
    this.#visitor.segment?.({ offset: segment.offset, kind: segment.kind, records: prepared.bytes, recordsFileOffset: prepared.fileOffset });
    visit(prepared, this.#visitor, this.#options, this.#state);
  }

  report(): SpanReadReport {
    const mismatches = [...this.mismatches];
    for (const [channelId, count] of this.#state.undefinedMessages) {
      mismatches.push(`${count} message(s) in span ${this.#span.index} are on channel ${channelId}, which neither the plan nor the records before them define`);
    }
    return { damaged: this.damaged, mismatches };
  }
}

/** Visits every record of `span`, whose bytes `[span.start, span.end)` are `bytes`. */
export function readSpan(bytes: Uint8Array, span: Span, options: SpanReadOptions, visitor: SpanVisitor): SpanReadReport {
  const walk = new SpanWalk(span, options, visitor);
  for (const segment of span.segments) walk.segment(bytes, segment.offset - span.start, segment, span.start);
  return walk.report();
}

/**
 * Visits every record of `span` from a stream of its bytes `[span.start, span.end)`, as they
 * arrive: each segment is handled once its last byte is in, so decoding overlaps the transfer
 * and only one segment's bytes are held at a time.
 */
export async function readSpanStream(pieces: AsyncIterable<Uint8Array>, span: Span, options: SpanReadOptions, visitor: SpanVisitor): Promise<SpanReadReport> {
  const walk = new SpanWalk(span, options, visitor);
  const segments = [...span.segments].sort((a, b) => a.offset - b.offset);
  const pending = new PieceQueue(span.start);
  let next = 0;
  const drain = () => {
    while (next < segments.length) {
      const segment = segments[next]!;
      const bytes = pending.take(segment.offset, segment.length);
      if (bytes === undefined) return;
      walk.segment(bytes, 0, segment, segment.offset);
      next += 1;
    }
  };
  for await (const piece of pieces) {
    pending.push(piece);
    drain();
  }
  drain();
  if (next < segments.length) {
    const missing = segments.slice(next);
    throw new StorageError(
      `the stream of span ${span.index} ended at offset ${pending.end} before the segment at ${missing[0]!.offset} was complete`,
      undefined,
      true,
    );
  }
  return walk.report();
}

/** Stream pieces in file order; hands out whole byte ranges, copying only when they span pieces. */
class PieceQueue {
  #pieces: Uint8Array[] = [];
  /** File offset of the first byte of the first held piece. */
  #start: number;
  #length = 0;

  constructor(start: number) {
    this.#start = start;
  }

  get end(): number {
    return this.#start + this.#length;
  }

  push(piece: Uint8Array): void {
    this.#pieces.push(piece);
    this.#length += piece.length;
  }

  /** `[offset, offset + length)` once it has all arrived, dropping everything before its end. */
  take(offset: number, length: number): Uint8Array | undefined {
    if (offset + length > this.end) return undefined;
    this.#drop(offset - this.#start);
    const first = this.#pieces[0];
    let bytes: Uint8Array;
    if (first !== undefined && first.length >= length) bytes = first.subarray(0, length);
    else bytes = Buffer.concat(this.#pieces, length);
    this.#drop(length);
    return bytes;
  }

  #drop(n: number): void {
    this.#start += n;
    this.#length -= n;
    while (n > 0) {
      const first = this.#pieces[0]!;
      if (first.length <= n) {
        n -= first.length;
        this.#pieces.shift();
      } else {
        this.#pieces[0] = first.subarray(n);
        n = 0;
      }
    }
  }
}

/** Differences between the chunk header and the chunk index entry that claims to describe it. */
function headerDifferences(segment: Segment, header: ChunkHeader): { claimed: unknown[]; actual: unknown[] } | undefined {
  const claimed = [segment.compression, segment.compressedSize, segment.uncompressedSize, segment.messageStartTime, segment.messageEndTime];
  const actual = [
    header.compression,
    header.records.length,
    Number(header.uncompressedSize),
    header.messageStartTime.toString(),
    header.messageEndTime.toString(),
  ];
  return claimed.some((value, i) => value !== actual[i]) ? { claimed, actual } : undefined;
}

/**
 * The chunk record at a segment must be the one the chunk index describes. When only the
 * record's own length field disagrees while its header matches the index, the index is right
 * and the record is damaged; anything else means the index points at other bytes.
 */
function chunkAt(bytes: Uint8Array, start: number, segment: Segment): ChunkHeader {
  const at = `the chunk index entry for offset ${segment.offset}`;
  if (segment.length < RECORD_PREFIX_BYTES || bytes[start] !== Opcode.Chunk) throw new PlanMismatch(`${at} points where there is no chunk record`);
  const declared = BigInt(RECORD_PREFIX_BYTES) + new DataView(bytes.buffer, bytes.byteOffset + start + 1, 8).getBigUint64(0, true);
  let header: ChunkHeader;
  try {
    header = parseChunkHeader(bytes, start + RECORD_PREFIX_BYTES, start + segment.length);
  } catch {
    throw new PlanMismatch(`${at} says ${segment.length} bytes, but no chunk header fits there`);
  }
  const differences = headerDifferences(segment, header);
  if (differences !== undefined)
    throw new PlanMismatch(`${at} describes the chunk as ${JSON.stringify(differences.claimed)}, but its record says ${JSON.stringify(differences.actual)}`);
  if (declared !== BigInt(segment.length)) {
    throw new InvalidRecordingError(
      'CORRUPT_RECORD',
      `record at offset ${segment.offset} declares ${declared - BigInt(RECORD_PREFIX_BYTES)} bytes, where the chunk index and the chunk's own header say ${segment.length - RECORD_PREFIX_BYTES}`,
    );
  }
  return header;
}

function prepareSegment(bytes: Uint8Array, start: number, segment: Segment, bytesOffset: number, options: SpanReadOptions): Prepared {
  const end = start + segment.length;
  if (segment.kind === 'records') {
    return prepare(
      bytes,
      start,
      end,
      options.maxRecordBytes,
      bytesOffset,
      (recordOffset) => ({ chunkOffset: bytesOffset + recordOffset, offsetInChunk: 0 }),
      bytesOffset,
    );
  }
  const header = chunkAt(bytes, start, segment);
  const records = decompressChunk(header.compression, header.records, header.uncompressedSize, options.maxChunkBytes ?? options.maxRecordBytes);
  if (options.validateCrc) checkCrc(records, header.uncompressedCrc, `chunk at offset ${segment.offset}`);
  // Offsets inside decompressed records are relative to the chunk's records, not the file.
  // An uncompressed chunk's records are the file's own bytes: blobs in it can be read back by plain range.
  const fileOffset = header.compression === '' ? bytesOffset + (header.records.byteOffset - bytes.byteOffset) : null;
  return prepare(
    records,
    0,
    records.length,
    options.maxRecordBytes,
    0,
    (recordOffset) => ({ chunkOffset: segment.offset, offsetInChunk: recordOffset }),
    fileOffset,
  );
}

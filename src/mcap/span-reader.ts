/**
 * Reads the records of one chunk span from the bytes of a single ranged GET. Each chunk is
 * decompressed once; a damaged chunk (bad CRC, undecodable compression, corrupt records) is
 * skipped whole and reported by offset, so every operator sees exactly the same messages.
 */
import type { Segment, Span } from '../domain/spans.ts';
import { isMcapflowError } from '../errors.ts';
import { checkCrc, decompressChunk } from './decompress.ts';
import {
  forEachRecord,
  Opcode,
  parseChannel,
  parseChunkHeader,
  parseMessage,
  parseSchema,
  type ChannelRecord,
  type MessageRecord,
  type RecordSlot,
  type SchemaRecord,
} from './records.ts';

/** Where a message lives, so it can be fetched again by range. */
export interface MessageLocation {
  /** File offset of the Chunk record (or of the Message record itself when unchunked). */
  chunkOffset: number;
  /** Offset of the Message record inside the decompressed chunk records (0 when unchunked). */
  offsetInChunk: number;
}

export interface SpanVisitor {
  schema?(schema: SchemaRecord): void;
  channel?(channel: ChannelRecord): void;
  message(message: MessageRecord, location: MessageLocation): void;
}

export interface DamagedSegment {
  offset: number;
  reason: string;
}

export interface SpanReadOptions {
  maxRecordBytes: number;
  validateCrc: boolean;
}

const MESSAGE_FIXED_BYTES = 22;

/** Record slots of a buffer, collected before any is visited so a corrupt tail visits nothing. */
function collectSlots(bytes: Uint8Array, start: number, end: number, maxRecordBytes: number, baseOffset: number): RecordSlot[] {
  const slots: RecordSlot[] = [];
  forEachRecord(
    bytes,
    start,
    end,
    maxRecordBytes,
    (slot) => {
      if (slot.opcode === Opcode.Message && slot.contentEnd - slot.contentStart < MESSAGE_FIXED_BYTES) {
        throw new Error(`message record at offset ${baseOffset + slot.offset} is shorter than its fixed fields`);
      }
      slots.push(slot);
    },
    baseOffset,
  );
  return slots;
}

type Prepared = {
  bytes: Uint8Array;
  slots: RecordSlot[];
  parsed: Map<RecordSlot, SchemaRecord | ChannelRecord>;
  locate: (slot: RecordSlot) => MessageLocation;
};

/** Parses schema and channel records up front, so visiting cannot fail on bad data. */
function prepare(bytes: Uint8Array, slots: RecordSlot[], locate: Prepared['locate']): Prepared {
  const parsed = new Map<RecordSlot, SchemaRecord | ChannelRecord>();
  for (const slot of slots) {
    if (slot.opcode === Opcode.Schema) parsed.set(slot, parseSchema(bytes, slot.contentStart, slot.contentEnd));
    else if (slot.opcode === Opcode.Channel) parsed.set(slot, parseChannel(bytes, slot.contentStart, slot.contentEnd));
  }
  return { bytes, slots, parsed, locate };
}

function visit({ bytes, slots, parsed, locate }: Prepared, visitor: SpanVisitor): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const slot of slots) {
    switch (slot.opcode) {
      case Opcode.Message:
        visitor.message(parseMessage(view, bytes, slot.contentStart, slot.contentEnd), locate(slot));
        break;
      case Opcode.Schema:
        visitor.schema?.(parsed.get(slot) as SchemaRecord);
        break;
      case Opcode.Channel:
        visitor.channel?.(parsed.get(slot) as ChannelRecord);
        break;
      default:
        // Message indexes, attachments, metadata and unknown opcodes carry no messages.
        break;
    }
  }
}

function describe(error: unknown): string {
  if (isMcapflowError(error) || error instanceof Error) return error.message;
  return String(error);
}

/**
 * Visits every record of `span`, whose bytes `[span.start, span.end)` are `bytes`.
 * Returns the segments that were skipped as damaged.
 */
export function readSpan(bytes: Uint8Array, span: Span, options: SpanReadOptions, visitor: SpanVisitor): DamagedSegment[] {
  const damaged: DamagedSegment[] = [];
  for (const segment of span.segments) {
    let prepared: Prepared;
    try {
      prepared = prepareSegment(bytes, segment.offset - span.start, segment, span.start, options);
    } catch (error) {
      damaged.push({ offset: segment.offset, reason: describe(error) });
      continue;
    }
    visit(prepared, visitor);
  }
  return damaged;
}

function prepareSegment(bytes: Uint8Array, start: number, segment: Segment, spanStart: number, options: SpanReadOptions): Prepared {
  const end = start + segment.length;
  if (segment.kind === 'records') {
    const slots = collectSlots(bytes, start, end, options.maxRecordBytes, spanStart);
    return prepare(bytes, slots, (slot) => ({ chunkOffset: spanStart + slot.offset, offsetInChunk: 0 }));
  }
  const [chunkSlot] = collectSlots(bytes, start, end, options.maxRecordBytes, spanStart);
  if (chunkSlot?.opcode !== Opcode.Chunk) throw new Error(`expected a Chunk record at offset ${segment.offset}`);
  const header = parseChunkHeader(bytes, chunkSlot.contentStart, chunkSlot.contentEnd);
  const records = decompressChunk(header.compression, header.records, header.uncompressedSize, options.maxRecordBytes);
  if (options.validateCrc) checkCrc(records, header.uncompressedCrc, `chunk at offset ${segment.offset}`);
  // Offsets inside decompressed records are relative to the chunk's records, not the file.
  const slots = collectSlots(records, 0, records.length, options.maxRecordBytes, 0);
  return prepare(records, slots, (slot) => ({ chunkOffset: segment.offset, offsetInChunk: slot.offset }));
}

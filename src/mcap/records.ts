/**
 * Minimal zero-copy parsing of the MCAP records the data path touches (Chunk, Schema, Channel,
 * Message). @mcap/core reads the summary; the hot path parses records itself so it can keep
 * file offsets, borrow message bytes without copying and bound every declared length.
 */
import { InvalidRecordingError } from '../errors.ts';

export const MCAP_MAGIC = new Uint8Array([0x89, 0x4d, 0x43, 0x41, 0x50, 0x30, 0x0d, 0x0a]);

export const Opcode = {
  Header: 0x01,
  Footer: 0x02,
  Schema: 0x03,
  Channel: 0x04,
  Message: 0x05,
  Chunk: 0x06,
  MessageIndex: 0x07,
  ChunkIndex: 0x08,
  Attachment: 0x09,
  AttachmentIndex: 0x0a,
  Statistics: 0x0b,
  Metadata: 0x0c,
  MetadataIndex: 0x0d,
  SummaryOffset: 0x0e,
  DataEnd: 0x0f,
} as const;

/** opcode (1) + record length (8). */
export const RECORD_PREFIX_BYTES = 9;

export function hasMagic(bytes: Uint8Array, offset = 0): boolean {
  if (bytes.length - offset < MCAP_MAGIC.length) return false;
  for (let i = 0; i < MCAP_MAGIC.length; i++) if (bytes[offset + i] !== MCAP_MAGIC[i]) return false;
  return true;
}

export interface SchemaRecord {
  id: number;
  name: string;
  encoding: string;
  data: Uint8Array;
}

export interface ChannelRecord {
  id: number;
  schemaId: number;
  topic: string;
  messageEncoding: string;
  metadata: Record<string, string>;
}

export interface MessageRecord {
  channelId: number;
  sequence: number;
  logTime: bigint;
  publishTime: bigint;
  /** Borrowed view into the chunk buffer: copy it to keep it past the visit. */
  data: Uint8Array;
}

export interface ChunkHeader {
  messageStartTime: bigint;
  messageEndTime: bigint;
  uncompressedSize: bigint;
  uncompressedCrc: number;
  compression: string;
  /** The (compressed) records bytes, borrowed. */
  records: Uint8Array;
}

const textDecoder = new TextDecoder('utf-8', { fatal: false });

/** Cursor over a byte range that throws a CORRUPT_RECORD error on any overrun. */
export class ByteCursor {
  readonly view: DataView;
  readonly bytes: Uint8Array;
  offset: number;
  readonly end: number;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.offset = start;
    this.end = end;
  }

  #need(n: number, what: string): void {
    if (this.offset + n > this.end) {
      throw new InvalidRecordingError(
        'CORRUPT_RECORD',
        `record field ${what} runs past the end of its record (needs ${n} bytes, ${this.end - this.offset} left)`,
      );
    }
  }

  uint8(): number {
    this.#need(1, 'uint8');
    return this.view.getUint8(this.offset++);
  }

  uint16(): number {
    this.#need(2, 'uint16');
    const v = this.view.getUint16(this.offset, true);
    this.offset += 2;
    return v;
  }

  uint32(): number {
    this.#need(4, 'uint32');
    const v = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return v;
  }

  uint64(): bigint {
    this.#need(8, 'uint64');
    const v = this.view.getBigUint64(this.offset, true);
    this.offset += 8;
    return v;
  }

  /** A uint64 length that must fit in what is left of the record. */
  length64(what: string): number {
    const v = this.uint64();
    if (v > BigInt(this.end - this.offset)) {
      throw new InvalidRecordingError('CORRUPT_RECORD', `${what} declares ${v} bytes but only ${this.end - this.offset} remain in its record`);
    }
    return Number(v);
  }

  string(): string {
    const length = this.uint32();
    this.#need(length, 'string');
    const s = textDecoder.decode(this.bytes.subarray(this.offset, this.offset + length));
    this.offset += length;
    return s;
  }

  bytes32(): Uint8Array {
    const length = this.uint32();
    this.#need(length, 'bytes');
    const b = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return b;
  }

  stringMap(): Record<string, string> {
    const byteLength = this.uint32();
    this.#need(byteLength, 'map');
    const end = this.offset + byteLength;
    const map: Record<string, string> = {};
    while (this.offset < end) {
      const key = this.string();
      map[key] = this.string();
    }
    return map;
  }
}

export function parseSchema(bytes: Uint8Array, start: number, end: number): SchemaRecord {
  const c = new ByteCursor(bytes, start, end);
  return { id: c.uint16(), name: c.string(), encoding: c.string(), data: c.bytes32() };
}

export function parseChannel(bytes: Uint8Array, start: number, end: number): ChannelRecord {
  const c = new ByteCursor(bytes, start, end);
  return { id: c.uint16(), schemaId: c.uint16(), topic: c.string(), messageEncoding: c.string(), metadata: c.stringMap() };
}

export function parseChunkHeader(bytes: Uint8Array, start: number, end: number): ChunkHeader {
  const c = new ByteCursor(bytes, start, end);
  const messageStartTime = c.uint64();
  const messageEndTime = c.uint64();
  const uncompressedSize = c.uint64();
  const uncompressedCrc = c.uint32();
  const compression = c.string();
  const recordsLength = c.length64('chunk records');
  return { messageStartTime, messageEndTime, uncompressedSize, uncompressedCrc, compression, records: bytes.subarray(c.offset, c.offset + recordsLength) };
}

export interface StatisticsRecord {
  messageCount: bigint;
  schemaCount: number;
  channelCount: number;
  attachmentCount: number;
  metadataCount: number;
  chunkCount: number;
  messageStartTime: bigint;
  messageEndTime: bigint;
  channelMessageCounts: Map<number, bigint>;
}

export function parseStatistics(bytes: Uint8Array, start: number, end: number): StatisticsRecord {
  const c = new ByteCursor(bytes, start, end);
  const messageCount = c.uint64();
  const schemaCount = c.uint16();
  const channelCount = c.uint32();
  const attachmentCount = c.uint32();
  const metadataCount = c.uint32();
  const chunkCount = c.uint32();
  const messageStartTime = c.uint64();
  const messageEndTime = c.uint64();
  const mapEnd = c.offset + 4 + c.uint32();
  if (mapEnd > end) throw new InvalidRecordingError('CORRUPT_RECORD', 'statistics channel counts run past the end of their record');
  const channelMessageCounts = new Map<number, bigint>();
  while (c.offset < mapEnd) channelMessageCounts.set(c.uint16(), c.uint64());
  return { messageCount, schemaCount, channelCount, attachmentCount, metadataCount, chunkCount, messageStartTime, messageEndTime, channelMessageCounts };
}

/** Message fields without the data copy; `data` borrows from `bytes`. */
export function parseMessage(view: DataView, bytes: Uint8Array, start: number, end: number): MessageRecord {
  if (end - start < 22) throw new InvalidRecordingError('CORRUPT_RECORD', `message record of ${end - start} bytes is shorter than its 22-byte fixed part`);
  return {
    channelId: view.getUint16(start, true),
    sequence: view.getUint32(start + 2, true),
    logTime: view.getBigUint64(start + 6, true),
    publishTime: view.getBigUint64(start + 14, true),
    data: bytes.subarray(start + 22, end),
  };
}

/** One record within a buffer: its opcode and content bounds. */
export interface RecordSlot {
  opcode: number;
  /** Offset of the opcode byte. */
  offset: number;
  contentStart: number;
  contentEnd: number;
}

/**
 * Walks the records in `bytes[start, end)` calling `visit` for each. A record whose declared
 * length runs past the end, or beyond `maxRecordBytes`, is reported as corrupt before anything
 * is allocated for it.
 */
export function forEachRecord(
  bytes: Uint8Array,
  start: number,
  end: number,
  maxRecordBytes: number,
  visit: (slot: RecordSlot) => void,
  /** Where `bytes[0]` sits in the file, so errors name file offsets (0 inside chunk records). */
  baseOffset = 0,
): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = start;
  while (offset < end) {
    const at = baseOffset + offset;
    if (end - offset < RECORD_PREFIX_BYTES) {
      throw new InvalidRecordingError('CORRUPT_RECORD', `truncated record header at offset ${at}`, { offset: at });
    }
    const opcode = view.getUint8(offset);
    const length = view.getBigUint64(offset + 1, true);
    if (length > BigInt(maxRecordBytes)) {
      throw new InvalidRecordingError('RECORD_TOO_LARGE', `record at offset ${at} declares ${length} bytes, over the ${maxRecordBytes}-byte limit`, {
        offset: at,
      });
    }
    const contentStart = offset + RECORD_PREFIX_BYTES;
    const contentEnd = contentStart + Number(length);
    if (contentEnd > end) {
      throw new InvalidRecordingError(
        'CORRUPT_RECORD',
        `record at offset ${at} declares ${length} bytes, past the end of the data (${end - contentStart} left)`,
        { offset: at },
      );
    }
    visit({ opcode, offset, contentStart, contentEnd });
    offset = contentEnd;
  }
}

/**
 * The writer-option matrix, in the manner of the MCAP conformance suite: one MCAP file for
 * every combination of writer options with each content kind, plus a record of exactly what
 * was written so a test can compare a reader's (or the pipeline's) output field by field.
 *
 * Options, named by the conformance suite's short codes (a variant's name is its content kind
 * followed by the codes of the options that are on, sorted, e.g. `TenMessages-ch-chx-st`):
 *   ch   chunked                 chx  chunk index          mx   message index
 *   st   statistics              sum  summary offsets      rsh  repeated schemas
 *   rch  repeated channels       pad  padding              ax   attachment index
 *   mdx  metadata index
 * Chunk index and message index need chunks, so without `ch` they collapse away. Files whose
 * bytes are identical (an option with nothing to act on, e.g. `ax` without attachments) are
 * written once, under the name with the fewest options, with the other names as aliases.
 *
 * Files come from @mcap/core's McapWriter (uncompressed chunks; compression has its own
 * tests). McapWriter cannot pad, so `pad` rewrites its output with `padRecords`: every record
 * that may carry extra trailing bytes gets them (the spec's forward compatibility: readers skip
 * what follows the fields they know), with every offset, length and CRC recomputed. Message
 * records cannot be padded (their data runs to the record end). Neither are the Footer (found
 * at a fixed distance from the end of the file) and DataEnd (indexed readers, @mcap/core's
 * among them, find it at a fixed distance before the summary start).
 */
import { crc32 } from 'node:zlib';
import { McapWriter } from '@mcap/core';
import { cdrEncoder, COUNTER_SCHEMA, MemoryWritable, STRING_SCHEMA } from './mcap-builders.ts';

export const FEATURES = {
  ch: 'chunked',
  chx: 'chunk index',
  mx: 'message index',
  st: 'statistics',
  sum: 'summary offsets',
  rsh: 'repeated schemas',
  rch: 'repeated channels',
  pad: 'padding',
  ax: 'attachment index',
  mdx: 'metadata index',
} as const;
export type Feature = keyof typeof FEATURES;
const ALL_FEATURES = Object.keys(FEATURES) as Feature[];

export const CONTENT_KINDS = ['NoData', 'OneMessage', 'TenMessages', 'SchemalessMessage', 'OneAttachment', 'OneMetadata'] as const;
export type ContentKind = (typeof CONTENT_KINDS)[number];

export interface WrittenSchema {
  id: number;
  name: string;
  encoding: string;
  data: Uint8Array;
}
export interface WrittenChannel {
  id: number;
  topic: string;
  /** 0 for a schemaless channel. */
  schemaId: number;
  /** '' for a schemaless channel. */
  schemaName: string;
  messageEncoding: string;
}
export interface WrittenMessage {
  channelId: number;
  topic: string;
  sequence: number;
  logTime: bigint;
  publishTime: bigint;
  data: Uint8Array;
}
export interface WrittenAttachment {
  name: string;
  mediaType: string;
  logTime: bigint;
  createTime: bigint;
  data: Uint8Array;
}
export interface WrittenMetadata {
  name: string;
  /** Entries in the order written. */
  metadata: [string, string][];
}
/** What a content kind writes, in write order. */
export interface Written {
  schemas: WrittenSchema[];
  channels: WrittenChannel[];
  messages: WrittenMessage[];
  attachments: WrittenAttachment[];
  metadata: WrittenMetadata[];
}

export interface MatrixFile {
  /** Content kind and the options that are on, e.g. `OneMessage-ch-chx-mx`. */
  name: string;
  kind: ContentKind;
  features: Feature[];
  /** Names of the other variants whose bytes are identical to this file's. */
  aliases: string[];
  bytes: Uint8Array;
  written: Written;
}

// --- What each content kind writes ------------------------------------------------------

const T0 = 1_700_000_000_000_000_000n;
const MS = 1_000_000n;
const utf8 = (text: string) => new TextEncoder().encode(text);

interface ContentPlan {
  written: Written;
  /** Uncompressed chunk size for McapWriter: small for TenMessages, so it spans several chunks. */
  chunkSize: number;
}

/** Log-time slots of the ten messages in write order: neither increasing nor decreasing. */
const TEN_ORDER = [3, 0, 7, 1, 9, 2, 8, 4, 6, 5];

function contentOf(kind: ContentKind): ContentPlan {
  const empty: Written = { schemas: [], channels: [], messages: [], attachments: [], metadata: [] };
  const stringSchema: WrittenSchema = { id: 1, name: STRING_SCHEMA.name, encoding: 'ros2msg', data: utf8(STRING_SCHEMA.text) };
  const counterSchema: WrittenSchema = { id: 2, name: COUNTER_SCHEMA.name, encoding: 'ros2msg', data: utf8(COUNTER_SCHEMA.text) };
  const chatter: WrittenChannel = { id: 0, topic: '/chatter', schemaId: 1, schemaName: STRING_SCHEMA.name, messageEncoding: 'cdr' };
  const encodeString = cdrEncoder(STRING_SCHEMA.text);
  switch (kind) {
    case 'NoData':
      return { written: empty, chunkSize: 1024 };
    case 'OneMessage':
      return {
        written: {
          ...empty,
          schemas: [stringSchema],
          channels: [chatter],
          messages: [{ channelId: 0, topic: '/chatter', sequence: 7, logTime: T0 + 2n, publishTime: T0 + 1n, data: encodeString({ data: 'hello' }) }],
        },
        chunkSize: 1024,
      };
    case 'TenMessages': {
      const counter: WrittenChannel = { id: 1, topic: '/counter', schemaId: 2, schemaName: COUNTER_SCHEMA.name, messageEncoding: 'cdr' };
      const encodeCounter = cdrEncoder(COUNTER_SCHEMA.text);
      const messages = TEN_ORDER.map((slot, i): WrittenMessage => {
        const channel = i % 2 === 0 ? chatter : counter;
        const logTime = T0 + BigInt(slot) * MS;
        const data = channel === chatter ? encodeString({ data: `line ${i}` }) : encodeCounter({ count: BigInt(100 + i), value: i / 4 });
        return { channelId: channel.id, topic: channel.topic, sequence: i, logTime, publishTime: logTime - BigInt(i + 1) * 1000n, data };
      });
      return { written: { ...empty, schemas: [stringSchema, counterSchema], channels: [chatter, counter], messages }, chunkSize: 160 };
    }
    case 'SchemalessMessage':
      return {
        written: {
          ...empty,
          channels: [{ id: 0, topic: '/events', schemaId: 0, schemaName: '', messageEncoding: 'json' }],
          messages: [{ channelId: 0, topic: '/events', sequence: 1, logTime: T0 + 5n, publishTime: T0 + 4n, data: utf8('{"event":"dock","battery":0.5}') }],
        },
        chunkSize: 1024,
      };
    case 'OneAttachment':
      return {
        written: {
          ...empty,
          attachments: [
            { name: 'calibration.yaml', mediaType: 'application/yaml', logTime: T0 + 10n, createTime: T0 - 3n, data: utf8('camera_matrix: [1, 0, 0]\n') },
          ],
        },
        chunkSize: 1024,
      };
    case 'OneMetadata':
      return {
        written: {
          ...empty,
          metadata: [
            {
              name: 'robot',
              metadata: [
                ['id', 'r7'],
                ['firmware', '2.3.1'],
              ],
            },
          ],
        },
        chunkSize: 1024,
      };
  }
}

/** What a content kind writes (the same for every option combination). */
export function writtenBy(kind: ContentKind): Written {
  return contentOf(kind).written;
}

// --- Option combinations and names ------------------------------------------------------

/**
 * Every combination of the options, chunk index and message index only with chunks: 512
 * chunked + 128 unchunked. Fewest options first, so the first name of a set of identical files
 * is the simplest.
 */
export function featureCombinations(): Feature[][] {
  const out: Feature[][] = [];
  for (let mask = 0; mask < 1 << ALL_FEATURES.length; mask++) {
    const features = ALL_FEATURES.filter((_, i) => (mask & (1 << i)) !== 0);
    if (!features.includes('ch') && (features.includes('chx') || features.includes('mx'))) continue;
    out.push(features);
  }
  return out.sort((a, b) => a.length - b.length || variantName('NoData', a).localeCompare(variantName('NoData', b)));
}

export function variantName(kind: ContentKind, features: readonly Feature[]): string {
  return [kind, ...[...features].sort()].join('-');
}

/** "chunked, chunk index, …" for a failure message. */
export function describeFeatures(features: readonly Feature[]): string {
  return features.length === 0 ? 'no options' : features.map((f) => FEATURES[f]).join(', ');
}

// --- Writing ----------------------------------------------------------------------------

/** The bytes of one variant: McapWriter with these options, padded when `pad` is on. */
export async function writeVariant(kind: ContentKind, features: readonly Feature[]): Promise<Uint8Array> {
  const { written, chunkSize } = contentOf(kind);
  const on = (f: Feature) => features.includes(f);
  const writable = new MemoryWritable();
  const writer = new McapWriter({
    writable,
    chunkSize,
    useChunks: on('ch'),
    useChunkIndex: on('chx'),
    useMessageIndex: on('mx'),
    useStatistics: on('st'),
    useSummaryOffsets: on('sum'),
    repeatSchemas: on('rsh'),
    repeatChannels: on('rch'),
    useAttachmentIndex: on('ax'),
    useMetadataIndex: on('mdx'),
  });
  await writer.start({ profile: '', library: 'mcapflow writer-matrix' });
  for (const schema of written.schemas) {
    const id = await writer.registerSchema({ name: schema.name, encoding: schema.encoding, data: schema.data });
    if (id !== schema.id) throw new Error(`schema ${schema.name} got id ${id}, expected ${schema.id}`);
  }
  for (const channel of written.channels) {
    const id = await writer.registerChannel({
      topic: channel.topic,
      schemaId: channel.schemaId,
      messageEncoding: channel.messageEncoding,
      metadata: new Map(),
    });
    if (id !== channel.id) throw new Error(`channel ${channel.topic} got id ${id}, expected ${channel.id}`);
  }
  for (const m of written.messages) {
    await writer.addMessage({ channelId: m.channelId, sequence: m.sequence, logTime: m.logTime, publishTime: m.publishTime, data: m.data });
  }
  for (const a of written.attachments) await writer.addAttachment(a);
  for (const m of written.metadata) await writer.addMetadata({ name: m.name, metadata: new Map(m.metadata) });
  await writer.end();
  const bytes = writable.bytes();
  return on('pad') ? padRecords(bytes) : bytes;
}

/**
 * Every unique file of the matrix for `kinds`: 640 combinations per kind, identical bytes
 * written once (see MatrixFile.aliases).
 */
export async function writerMatrix(kinds: readonly ContentKind[] = CONTENT_KINDS): Promise<MatrixFile[]> {
  const byContent = new Map<string, MatrixFile>();
  for (const kind of kinds) {
    for (const features of featureCombinations()) {
      const bytes = await writeVariant(kind, features);
      const key = Buffer.from(bytes).toString('base64');
      const name = variantName(kind, features);
      const known = byContent.get(key);
      if (known) known.aliases.push(name);
      else byContent.set(key, { name, kind, features, aliases: [], bytes, written: writtenBy(kind) });
    }
  }
  return [...byContent.values()];
}

// --- Padding: McapWriter output rewritten with extra bytes after every paddable record ----

/** Seven bytes, so nothing stays aligned by accident. */
export const PADDING = Uint8Array.from([0x70, 0x61, 0x64, 0xde, 0xad, 0xbe, 0xef]);

const Op = {
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

/** Records whose fields are all self-delimiting, so extra bytes after them are skippable. */
const PADDABLE = new Set<number>([
  Op.Header,
  Op.Schema,
  Op.Channel,
  Op.Chunk,
  Op.MessageIndex,
  Op.ChunkIndex,
  Op.Attachment,
  Op.AttachmentIndex,
  Op.Statistics,
  Op.Metadata,
  Op.MetadataIndex,
  Op.SummaryOffset,
]);

const MAGIC_BYTES = 8;
const PREFIX = 9; // opcode + uint64 content length

interface RawRecord {
  offset: number;
  opcode: number;
  /** A copy of the record's content, safe to patch. */
  body: Uint8Array;
}

function* records(bytes: Uint8Array, from: number, to: number): Generator<RawRecord> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let offset = from; offset < to;) {
    const length = Number(view.getBigUint64(offset + 1, true));
    if (offset + PREFIX + length > to) throw new Error(`record at ${offset} runs past ${to}`);
    yield { offset, opcode: bytes[offset]!, body: bytes.slice(offset + PREFIX, offset + PREFIX + length) };
    offset += PREFIX + length;
  }
}

function record(opcode: number, body: Uint8Array, padding: Uint8Array): Uint8Array {
  const extra = PADDABLE.has(opcode) ? padding : new Uint8Array(0);
  const out = new Uint8Array(PREFIX + body.length + extra.length);
  out[0] = opcode;
  new DataView(out.buffer).setBigUint64(1, BigInt(body.length + extra.length), true);
  out.set(body, PREFIX);
  out.set(extra, PREFIX + body.length);
  return out;
}

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const u64 = (b: Uint8Array, at: number) => Number(view(b).getBigUint64(at, true));
const setU64 = (b: Uint8Array, at: number, value: number) => view(b).setBigUint64(at, BigInt(value), true);

class Sink {
  parts: Uint8Array[] = [];
  length = 0;
  push(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.length += bytes.length;
  }
  bytes(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.parts));
  }
}

/** A chunk's records re-emitted with padding; `moved` maps old to new offsets inside the chunk. */
function padChunk(body: Uint8Array, padding: Uint8Array) {
  const compressionLength = view(body).getUint32(28, true);
  const compression = Buffer.from(body.subarray(32, 32 + compressionLength)).toString();
  if (compression !== '') throw new Error(`padRecords handles uncompressed chunks only, not ${compression}`);
  const recordsAt = 32 + compressionLength + 8;
  const inner = body.subarray(recordsAt, recordsAt + u64(body, recordsAt - 8));
  const sink = new Sink();
  const moved = new Map<number, number>();
  for (const r of records(inner, 0, inner.length)) {
    moved.set(r.offset, sink.length);
    sink.push(record(r.opcode, r.body, padding));
  }
  moved.set(inner.length, sink.length);
  const newRecords = sink.bytes();
  const head = body.slice(0, recordsAt);
  setU64(head, 16, newRecords.length);
  if (view(head).getUint32(24, true) !== 0) view(head).setUint32(24, crc32(newRecords) >>> 0, true);
  setU64(head, recordsAt - 8, newRecords.length);
  return { body: new Uint8Array(Buffer.concat([head, newRecords])), moved, size: newRecords.length };
}

/**
 * Rewrites an MCAP file so every paddable record carries `padding` after its fields, fixing
 * every offset and length that points into the file (message indexes, chunk indexes,
 * attachment and metadata indexes, summary offsets, footer) and every CRC (chunk, data
 * section, summary). With empty padding it returns the same bytes, which the unit test uses to
 * check the bookkeeping. Handles files with uncompressed chunks.
 */
export function padRecords(bytes: Uint8Array, padding: Uint8Array = PADDING): Uint8Array {
  const footerAt = bytes.length - MAGIC_BYTES - PREFIX - 20;
  const out = new Sink();
  out.push(bytes.subarray(0, MAGIC_BYTES));
  /** Old → new offset of every top-level record, and of the footer. */
  const moved = new Map<number, number>();
  const at = (old: number) => {
    const found = moved.get(old);
    if (found === undefined) throw new Error(`no record starts at offset ${old}`);
    return found;
  };
  const chunks = new Map<number, { size: number }>();
  let chunkMoved = new Map<number, number>();
  let summaryCrcFrom = 0;
  for (const r of records(bytes, MAGIC_BYTES, footerAt)) {
    moved.set(r.offset, out.length);
    let body = r.body;
    switch (r.opcode) {
      case Op.Chunk: {
        const padded = padChunk(body, padding);
        body = padded.body;
        chunkMoved = padded.moved;
        chunks.set(r.offset, { size: padded.size });
        break;
      }
      case Op.MessageIndex: {
        // Entries of the chunk just before: (log time, offset in the uncompressed chunk).
        const entriesEnd = 6 + view(body).getUint32(2, true);
        for (let e = 6; e < entriesEnd; e += 16) {
          const inner = chunkMoved.get(u64(body, e + 8));
          if (inner === undefined) throw new Error(`message index entry points at no record (${u64(body, e + 8)})`);
          setU64(body, e + 8, inner);
        }
        break;
      }
      case Op.ChunkIndex: {
        const chunkStart = u64(body, 16);
        const chunkEnd = chunkStart + u64(body, 24);
        setU64(body, 16, at(chunkStart));
        setU64(body, 24, at(chunkEnd) - at(chunkStart));
        const mapEnd = 36 + view(body).getUint32(32, true);
        for (let e = 36; e < mapEnd; e += 10) setU64(body, e + 2, at(u64(body, e + 2)));
        const indexLength = u64(body, mapEnd);
        setU64(body, mapEnd, at(chunkEnd + indexLength) - at(chunkEnd));
        const sizesAt = mapEnd + 8 + 4 + view(body).getUint32(mapEnd + 8, true);
        const size = chunks.get(chunkStart)?.size;
        if (size === undefined) throw new Error(`chunk index points at no chunk (${chunkStart})`);
        setU64(body, sizesAt, size);
        setU64(body, sizesAt + 8, size);
        break;
      }
      case Op.AttachmentIndex:
      case Op.MetadataIndex:
      case Op.SummaryOffset: {
        // (offset, length) of the record or group, at 0 (indexes) or 1 (after the group opcode).
        const first = r.opcode === Op.SummaryOffset ? 1 : 0;
        const start = u64(body, first);
        const end = start + u64(body, first + 8);
        setU64(body, first, at(start));
        setU64(body, first + 8, at(end) - at(start));
        break;
      }
      case Op.DataEnd:
        if (view(body).getUint32(0, true) !== 0) view(body).setUint32(0, crc32(out.bytes()) >>> 0, true);
        summaryCrcFrom = out.length + PREFIX + body.length;
        break;
    }
    out.push(record(r.opcode, body, padding));
  }
  moved.set(footerAt, out.length);
  const footer = bytes.slice(footerAt, footerAt + PREFIX + 20);
  for (const field of [PREFIX, PREFIX + 8]) if (u64(footer, field) !== 0) setU64(footer, field, at(u64(footer, field)));
  if (view(footer).getUint32(PREFIX + 16, true) !== 0) {
    const summary = out.bytes().subarray(summaryCrcFrom);
    view(footer).setUint32(PREFIX + 16, crc32(footer.subarray(0, PREFIX + 16), crc32(summary)) >>> 0, true);
  }
  out.push(footer);
  out.push(bytes.subarray(bytes.length - MAGIC_BYTES));
  return out.bytes();
}

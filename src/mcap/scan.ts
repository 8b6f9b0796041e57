/**
 * Builds a RecordingIndex by streaming a file once, for files without a usable summary:
 * unindexed, unchunked, or truncated by a crash. Memory stays bounded by the largest record.
 * Damage does not stop the scan where it can be stepped over (a chunk that fails to
 * decompress); it ends it where record boundaries are lost (a cut-off or absurd length).
 */
import type { Segment } from '../domain/spans.ts';
import { InvalidRecordingError } from '../errors.ts';
import { checkCrc, decompressChunk, loadDecompressors } from './decompress.ts';
import {
  channelInfo,
  schemaInfo,
  summaryStatistics,
  type AttachmentRef,
  type ChannelInfo,
  type MetadataRef,
  type RecordingIndex,
  type SchemaInfo,
  type SummaryStatistics,
} from './recording-index.ts';
import {
  ByteCursor,
  forEachRecord,
  hasMagic,
  MCAP_MAGIC,
  Opcode,
  parseChannel,
  parseChunkHeader,
  parseSchema,
  parseStatistics,
  RECORD_PREFIX_BYTES,
} from './records.ts';

/** Accumulates stream pieces and hands out whole records without quadratic copying. */
class RecordBuffer {
  #pieces: Buffer[] = [];
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(piece: Buffer): void {
    this.#pieces.push(piece);
    this.#length += piece.length;
  }

  /** The first `n` bytes as one buffer (copies only when they span pieces). */
  peek(n: number): Buffer {
    const first = this.#pieces[0];
    if (first !== undefined && first.length >= n) return first.subarray(0, n);
    const joined = Buffer.concat(this.#pieces, this.#length);
    this.#pieces = [joined];
    return joined.subarray(0, n);
  }

  consume(n: number): void {
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

interface ScanState {
  profile: string;
  library: string;
  schemas: Map<number, SchemaInfo>;
  channels: Map<number, ChannelInfo>;
  segments: Segment[];
  damage: string[];
  /** Open run of top-level message records (unchunked files). */
  run: Segment | undefined;
  /** Past DataEnd: only schema and channel records are still of interest. */
  inSummary: boolean;
  attachments: AttachmentRef[];
  metadata: MetadataRef[];
  statistics: SummaryStatistics | undefined;
}

function extendRun(state: ScanState, offset: number, length: number, logTime?: bigint): void {
  const run = (state.run ??= {
    kind: 'records',
    offset,
    length: 0,
    compression: '',
    compressedSize: 0,
    uncompressedSize: 0,
    messageStartTime: '',
    messageEndTime: '',
  });
  run.length = offset + length - run.offset;
  run.compressedSize = run.length;
  run.uncompressedSize = run.length;
  if (logTime !== undefined) {
    // '' until the run's first message: a log time of 0 is a real time (simulation clocks).
    if (run.messageStartTime === '' || logTime < BigInt(run.messageStartTime)) run.messageStartTime = logTime.toString();
    if (run.messageEndTime === '' || logTime > BigInt(run.messageEndTime)) run.messageEndTime = logTime.toString();
  }
}

function closeRun(state: ScanState): void {
  if (state.run) {
    if (state.run.messageStartTime === '') state.run.messageStartTime = state.run.messageEndTime = '0';
    state.segments.push(state.run);
  }
  state.run = undefined;
}

function learnRecords(state: ScanState, bytes: Uint8Array, maxRecordBytes: number): void {
  forEachRecord(bytes, 0, bytes.length, maxRecordBytes, (slot) => {
    if (slot.opcode === Opcode.Schema) {
      const schema = parseSchema(bytes, slot.contentStart, slot.contentEnd);
      if (!state.schemas.has(schema.id)) state.schemas.set(schema.id, schemaInfo(schema));
    } else if (slot.opcode === Opcode.Channel) {
      const channel = parseChannel(bytes, slot.contentStart, slot.contentEnd);
      if (!state.channels.has(channel.id)) state.channels.set(channel.id, channelInfo(channel));
    }
  });
}

function handleRecord(state: ScanState, opcode: number, offset: number, record: Buffer, options: ScanOptions): 'continue' | 'end' {
  const { maxRecordBytes, validateCrc } = options;
  const content = record.subarray(RECORD_PREFIX_BYTES);
  if (state.inSummary) {
    // The summary repeats schemas and channels, including those of topics without messages.
    if (opcode === Opcode.Schema || opcode === Opcode.Channel) learnRecords(state, record, maxRecordBytes);
    // Its counts are checked against what the spans read (domain/cross-check.ts).
    else if (opcode === Opcode.Statistics) state.statistics ??= summaryStatistics(parseStatistics(record, RECORD_PREFIX_BYTES, record.length));
    return opcode === Opcode.Footer ? 'end' : 'continue';
  }
  switch (opcode) {
    case Opcode.Header: {
      const c = new ByteCursor(content);
      state.profile = c.string();
      state.library = c.string();
      return 'continue';
    }
    case Opcode.Schema:
    case Opcode.Channel:
      learnRecords(state, record, maxRecordBytes);
      if (state.run) extendRun(state, offset, record.length);
      return 'continue';
    case Opcode.Message: {
      const logTime = content.length >= 22 ? content.readBigUInt64LE(6) : undefined;
      extendRun(state, offset, record.length, logTime);
      return 'continue';
    }
    case Opcode.Chunk: {
      closeRun(state);
      try {
        const header = parseChunkHeader(content, 0, content.length);
        const records = decompressChunk(header.compression, header.records, header.uncompressedSize, options.maxChunkBytes);
        if (validateCrc) checkCrc(records, header.uncompressedCrc, `chunk at offset ${offset}`);
        learnRecords(state, records, maxRecordBytes);
        state.segments.push({
          kind: 'chunk',
          offset,
          length: record.length,
          compression: header.compression,
          compressedSize: header.records.length,
          uncompressedSize: Number(header.uncompressedSize),
          messageStartTime: header.messageStartTime.toString(),
          messageEndTime: header.messageEndTime.toString(),
        });
      } catch (error) {
        state.damage.push(`skipped the chunk at offset ${offset}: ${error instanceof Error ? error.message : String(error)}`);
      }
      return 'continue';
    }
    case Opcode.Attachment: {
      closeRun(state);
      const c = new ByteCursor(content);
      const logTime = c.uint64();
      const createTime = c.uint64();
      const name = c.string();
      const mediaType = c.string();
      const dataSize = c.length64('attachment data');
      state.attachments.push({ offset, length: record.length, name, mediaType, logTime: logTime.toString(), createTime: createTime.toString(), dataSize });
      return 'continue';
    }
    case Opcode.Metadata: {
      closeRun(state);
      state.metadata.push({ offset, length: record.length, name: new ByteCursor(content).string() });
      return 'continue';
    }
    case Opcode.MessageIndex: {
      closeRun(state);
      // A chunk's message indexes follow it: the index job reads them instead of the chunk.
      const chunk = state.segments.at(-1);
      const indexEnd = chunk === undefined ? -1 : chunk.offset + chunk.length + (chunk.messageIndex?.length ?? 0);
      if (chunk?.kind === 'chunk' && indexEnd === offset)
        chunk.messageIndex = { offset: chunk.offset + chunk.length, length: indexEnd + record.length - chunk.offset - chunk.length };
      return 'continue';
    }
    case Opcode.DataEnd:
      closeRun(state);
      state.inSummary = true;
      return 'continue';
    case Opcode.Footer:
      closeRun(state);
      return 'end';
    default:
      // Indexes, attachments, metadata: a run of top-level messages ends here.
      closeRun(state);
      return 'continue';
  }
}

export interface ScanOptions {
  maxRecordBytes: number;
  /** Largest uncompressed chunk decompressed; a chunk declaring more is skipped as damaged. */
  maxChunkBytes: number;
  validateCrc: boolean;
}

/** Scans the byte stream of a whole file whose head was already validated. */
export async function scanRecording(stream: AsyncIterable<Buffer>, options: ScanOptions): Promise<RecordingIndex> {
  await loadDecompressors();
  const state: ScanState = {
    profile: '',
    library: '',
    schemas: new Map(),
    channels: new Map(),
    segments: [],
    damage: [],
    run: undefined,
    inSummary: false,
    attachments: [],
    metadata: [],
    statistics: undefined,
  };
  const buffer = new RecordBuffer();
  let offset = 0;
  let magicChecked = false;
  let ended = false;
  let needed = MCAP_MAGIC.length;

  for await (const piece of stream) {
    if (ended) continue; // drain the stream so the connection is released
    buffer.push(piece);
    while (!ended && buffer.length >= needed) {
      if (!magicChecked) {
        if (!hasMagic(buffer.peek(MCAP_MAGIC.length))) throw new InvalidRecordingError('NOT_MCAP', 'not an MCAP file: bad magic');
        buffer.consume(MCAP_MAGIC.length);
        offset += MCAP_MAGIC.length;
        magicChecked = true;
        needed = RECORD_PREFIX_BYTES;
        continue;
      }
      const prefix = buffer.peek(RECORD_PREFIX_BYTES);
      const length = prefix.readBigUInt64LE(1);
      if (length > BigInt(options.maxRecordBytes)) {
        closeRun(state);
        // A damaged summary loses no data: the data section before it was read whole.
        if (!state.inSummary)
          state.damage.push(
            `stopped at offset ${offset}: a record declares ${length} bytes, over the ${options.maxRecordBytes}-byte limit, so the rest of the file could not be read`,
          );
        ended = true;
        break;
      }
      const total = RECORD_PREFIX_BYTES + Number(length);
      if (buffer.length < total) {
        needed = total;
        break;
      }
      const record = buffer.peek(total);
      const outcome = handleRecord(state, prefix[0]!, offset, record, options);
      buffer.consume(total);
      offset += total;
      needed = RECORD_PREFIX_BYTES;
      if (outcome === 'end') ended = true;
    }
  }
  if (!ended && !state.inSummary) {
    closeRun(state);
    const lost = buffer.length;
    state.damage.push(
      lost > 0
        ? `the file is truncated: it ends inside a record at offset ${offset}, losing the last ${lost} bytes (no footer or summary)`
        : `the file is truncated: it ends at offset ${offset} without a footer or summary`,
    );
  }
  return {
    profile: state.profile,
    library: state.library,
    planner: 'scan',
    schemas: [...state.schemas.values()],
    channels: [...state.channels.values()],
    segments: state.segments,
    damage: state.damage,
    attachments: state.attachments,
    metadata: state.metadata,
    ...(state.statistics ? { statistics: state.statistics } : {}),
  };
}

/**
 * Extraction: the messages of some topics of a committed recording in a time window, read
 * from object storage chunk by chunk (only the chunks planExtraction chose) and written as a
 * new indexed MCAP — or, decoded, as the rows of their schema tables in Parquet. Used by
 * `mcapflow extract` and the admin API's streamed download; both report what was read.
 *
 * The MCAP is written as it is read: each chunk's selected messages go to McapWriter, whose
 * output goes to a Node Writable with backpressure, so memory holds about one source chunk
 * and one output chunk whatever the size of the selection.
 */
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { McapWriter, type IWritable, type McapTypes } from '@mcap/core';
import type * as arrow from 'apache-arrow';
import { encodeParquet } from '../columnar/parquet.ts';
import { withHeaderStamp } from '../columnar/derived-columns.ts';
import type { TopicPlan } from '../domain/plan.ts';
import type { Span } from '../domain/spans.ts';
import { decoderFor } from '../decode/registry.ts';
import type { MessageTableBuilder } from '../decode/table-builder.ts';
import { loadDecompressors } from '../mcap/decompress.ts';
import type { MessageRecord } from '../mcap/records.ts';
import { readSpanStream } from '../mcap/span-reader.ts';
import { sorted } from '../operators/table-files.ts';
import { loadChunkCompressor } from '../synth/compression.ts';
import type { ExtractFormat, ExtractionPlan } from './extraction-plan.ts';

export {
  EXTRACT_FORMATS,
  parseFormat,
  parseTimeArgument,
  planExtraction,
  type ExtractionPlan,
  type ExtractionRequest,
  type ExtractionSource,
  type ExtractFormat,
} from './extraction-plan.ts';

/** The output's chunk size before compression (what one chunk of output holds in memory). */
export const EXTRACT_CHUNK_BYTES = 1024 * 1024;
const EXTRACT_LIBRARY = 'mcapflow extract';

/** What an extraction read and wrote (the `--json` output of `mcapflow extract`). */
export interface ExtractionReport {
  recording_id: string;
  format: ExtractFormat;
  start: string | null;
  end: string | null;
  topics: { topic: string; channel_id: number; schema: string; messages: number; decode_errors: number }[];
  /** Topics left out (Parquet of every topic: those that cannot be decoded), with why. */
  skipped_topics: { topic: string; reason: string }[];
  messages: number;
  /** `chunk-index`: chosen by the chunks table (channels and times); `chunk-times`: by chunk time range alone. */
  selected_by: ExtractionPlan['selectedBy'];
  chunks_read: number;
  chunks_total: number;
  /** Bytes of the chunks read. */
  chunk_bytes: number;
  /** Bytes between neighbouring chunks read in the same GET (their message indexes). */
  gap_bytes: number;
  /** Bytes of manifest, plan and chunks table fetched (cached objects cost nothing). */
  metadata_bytes: number;
  /** Everything fetched from object storage: metadata_bytes + chunk_bytes + gap_bytes. */
  bytes_read: number;
  requests: number;
  recording_bytes: number;
  bytes_written: number;
  /** Chunks that could not be read (damage); their messages are missing from the output. */
  damaged: string[];
}

/** McapWriter's output into a Node stream: waits for `drain` so a slow reader slows the extraction, not memory. */
class StreamWritable implements IWritable {
  readonly #out: Writable;
  #position = 0n;

  constructor(out: Writable) {
    this.#out = out;
  }

  position(): bigint {
    return this.#position;
  }

  async write(buffer: Uint8Array): Promise<void> {
    const out = this.#out;
    if (out.destroyed || out.writableEnded) throw new Error('the output was closed before the extraction finished');
    // McapWriter reuses its buffer once this resolves; the stream may still hold it.
    const ok = out.write(Buffer.from(buffer));
    this.#position += BigInt(buffer.byteLength);
    if (!ok) await drained(out);
  }
}

function drained(out: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      out.off('drain', onDrain);
      out.off('close', onClose);
      out.off('error', onError);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new Error('the output was closed before the extraction finished'));
    const onError = (error: Error) => done(error);
    out.on('drain', onDrain);
    out.on('close', onClose);
    out.on('error', onError);
  });
}

/**
 * Reads every run of the plan, one streamed GET each, and hands each selected message (its
 * channel wanted, its log time in the window) to `take`. `flush` runs between pieces of the
 * stream: an async consumer catches up there before more bytes are read.
 */
async function walk(x: ExtractionPlan, take: (message: MessageRecord, topic: TopicPlan) => void, flush: () => Promise<void>): Promise<string[]> {
  await loadDecompressors();
  const wanted = new Map(x.channels.map((c) => [c.channelId, c]));
  const { start, end } = x;
  const { bucket, key } = x.plan.source;
  const damaged: string[] = [];
  for (const [index, run] of x.runs.entries()) {
    const body = await x.counting.stream(bucket, key, 'span', { start: run.start, end: run.end });
    const pieces = async function* (): AsyncGenerator<Uint8Array> {
      try {
        for await (const piece of body) {
          yield piece as Uint8Array;
          await flush();
        }
      } finally {
        body.destroy();
      }
    };
    const span: Span = {
      index,
      start: run.start,
      end: run.end,
      segments: run.segments,
      messageStartTime: run.segments[0]!.messageStartTime,
      messageEndTime: run.segments.at(-1)!.messageEndTime,
    };
    const report = await readSpanStream(
      pieces(),
      span,
      { maxRecordBytes: x.source.maxRecordBytes, maxChunkBytes: x.source.maxChunkBytes, validateCrc: true },
      {
        message(message) {
          const topic = wanted.get(message.channelId);
          if (topic === undefined || (start !== undefined && message.logTime < start) || (end !== undefined && message.logTime >= end)) return;
          take(message, topic);
        },
      },
    );
    await flush();
    damaged.push(...report.damaged.map((d) => `skipped the chunk at offset ${d.offset}: ${d.reason}`), ...report.mismatches);
  }
  return damaged;
}

function baseReport(x: ExtractionPlan, format: ExtractFormat, counts: Map<number, number>, decodeErrors: Map<number, number>, damaged: string[]) {
  const schemaName = (t: TopicPlan) => t.schemaName;
  const topics = x.channels.map((t) => ({
    topic: t.topic,
    channel_id: t.channelId,
    schema: schemaName(t),
    messages: counts.get(t.channelId) ?? 0,
    decode_errors: decodeErrors.get(t.channelId) ?? 0,
  }));
  const read = x.counting.snapshot();
  return {
    recording_id: x.recordingId,
    format,
    start: x.start?.toString() ?? null,
    end: x.end?.toString() ?? null,
    topics,
    skipped_topics: x.skipped.map((t) => ({ topic: t.topic, reason: t.reason ?? 'cannot be decoded' })),
    messages: topics.reduce((n, t) => n + t.messages, 0),
    selected_by: x.selectedBy,
    chunks_read: x.segments.length,
    chunks_total: x.segmentsTotal,
    chunk_bytes: x.segmentBytes,
    gap_bytes: x.gapBytes,
    metadata_bytes: x.metadataRead.bytes,
    bytes_read: read.bytes,
    requests: read.requests,
    recording_bytes: x.plan.source.size,
    damaged,
  };
}

/** Registers the selected channels and their schemas with the writer; returns source channel id → output channel id. */
async function registerChannels(writer: McapWriter, x: ExtractionPlan): Promise<Map<number, number>> {
  const schemaIds = new Map<number, number>();
  const channelIds = new Map<number, number>();
  const schemas = new Map(x.plan.schemas.map((s) => [s.id, s]));
  const channels = new Map(x.plan.channels.map((c) => [c.id, c]));
  for (const topic of x.channels) {
    const channel = channels.get(topic.channelId);
    let schemaId = 0;
    const schema = schemas.get(topic.schemaId);
    if (topic.schemaId !== 0 && schema !== undefined) {
      schemaId =
        schemaIds.get(schema.id) ?? (await writer.registerSchema({ name: schema.name, encoding: schema.encoding, data: Buffer.from(schema.data, 'base64') }));
      schemaIds.set(schema.id, schemaId);
    }
    const id = await writer.registerChannel({
      topic: topic.topic,
      schemaId,
      messageEncoding: topic.messageEncoding,
      metadata: new Map(Object.entries(channel?.metadata ?? {})),
    });
    channelIds.set(topic.channelId, id);
  }
  return channelIds;
}

/**
 * Writes the selected messages to `out` as an indexed MCAP (zstd chunks, message indexes, chunk
 * indexes, statistics, summary offsets), in the order the recording holds them, then ends `out`.
 * Channels and schemas are renumbered from 0 and 1; every selected channel is in the summary,
 * with or without messages. On failure `out` is destroyed with the error.
 */
export async function extractMcap(x: ExtractionPlan, out: Writable, options: { chunkSize?: number } = {}): Promise<ExtractionReport> {
  try {
    const writable = new StreamWritable(out);
    const writer = new McapWriter({ writable, chunkSize: options.chunkSize ?? EXTRACT_CHUNK_BYTES, compressChunk: await loadChunkCompressor('zstd') });
    await writer.start({ profile: x.plan.profile, library: EXTRACT_LIBRARY });
    const ids = await registerChannels(writer, x);
    const counts = new Map<number, number>();
    let pending: McapTypes.Message[] = [];
    const damaged = await walk(
      x,
      (message) => {
        counts.set(message.channelId, (counts.get(message.channelId) ?? 0) + 1);
        const { sequence, logTime, publishTime } = message;
        // The message is a view of the chunk being walked: keep a copy until it is written.
        pending.push({ channelId: ids.get(message.channelId)!, sequence, logTime, publishTime, data: message.data.slice() });
      },
      async () => {
        const batch = pending;
        pending = [];
        for (const message of batch) await writer.addMessage(message);
      },
    );
    await writer.end();
    out.end();
    await finished(out, { readable: false });
    return { ...baseReport(x, 'mcap', counts, new Map(), damaged), bytes_written: Number(writable.position()) };
  } catch (error) {
    out.destroy(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
}

export interface ParquetFile {
  table: string;
  topics: string[];
  rows: number;
  bytes: Uint8Array;
}

/** A sink that is never used: every byte array is kept inline (threshold unbounded). */
const NO_BLOBS = {
  put(): never {
    throw new Error('extraction keeps byte arrays inline');
  },
};

/**
 * The selected messages decoded into the rows of their schema tables (the catalog's columns,
 * sorted by log_time, with `header_stamp`), one Parquet file per table. Large byte arrays are
 * kept inline rather than as references, so the file stands alone. A message that does not
 * decode is counted in its topic's `decode_errors` and left out, as in the catalog.
 */
export async function extractParquet(x: ExtractionPlan, options: { rowGroupRows: number }): Promise<{ files: ParquetFile[]; report: ExtractionReport }> {
  const threshold = { blobThresholdBytes: Number.MAX_SAFE_INTEGER };
  const builders = new Map<string, MessageTableBuilder>();
  const builderOf = new Map<number, MessageTableBuilder>();
  for (const [table, topics] of x.tables) {
    const first = topics[0]!;
    const schema = x.plan.schemas.find((s) => s.id === first.schemaId);
    const builder = decoderFor(first.schemaId === 0 ? undefined : schema, threshold, first.messageEncoding).tableBuilder({ ...threshold, blobs: NO_BLOBS });
    builders.set(table, builder);
    for (const t of topics) builderOf.set(t.channelId, builder);
  }
  const counts = new Map<number, number>();
  const decodeErrors = new Map<number, number>();
  const damaged = await walk(
    x,
    (message, topic) => {
      try {
        builderOf.get(topic.channelId)!.append(x.recordingId, topic.topic, message.logTime, message.publishTime, message.data);
        counts.set(topic.channelId, (counts.get(topic.channelId) ?? 0) + 1);
      } catch {
        decodeErrors.set(topic.channelId, (decodeErrors.get(topic.channelId) ?? 0) + 1);
      }
    },
    async () => {},
  );
  const files: ParquetFile[] = [];
  for (const [table, builder] of builders) {
    const rows: arrow.Table = sorted(withHeaderStamp(builder.finish()), 'log_time');
    files.push({ table, topics: [...new Set(x.tables.get(table)!.map((t) => t.topic))].sort(), rows: rows.numRows, bytes: encodeParquet(rows, options) });
  }
  const report = { ...baseReport(x, 'parquet', counts, decodeErrors, damaged), bytes_written: files.reduce((n, f) => n + f.bytes.length, 0) };
  return { files, report };
}

/** Media types of the outputs: MCAP's (as uploads use) and Parquet's registered one. */
export const EXTRACT_CONTENT_TYPES: Record<ExtractFormat, string> = { mcap: 'application/x-mcap', parquet: 'application/vnd.apache.parquet' };

/** A download's file name: the recording id, then the topics (or the table) it holds, made safe for a header. */
export function extractFilename(x: ExtractionPlan, format: ExtractFormat, requestedTopics: readonly string[]): string {
  const what = format === 'parquet' ? [...x.tables.keys()] : [...new Set(requestedTopics)];
  const slug = what
    .join('+')
    .replace(/[^A-Za-z0-9+._-]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 80);
  return `${x.recordingId}${slug === '' ? '' : `-${slug}`}.${format}`;
}

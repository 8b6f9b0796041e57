/**
 * The floor of the pipeline's work: the same recording turned into the same tables in one
 * process with no queue, no network and no intermediate objects.
 *
 *   npx tsx bench/floor.ts --file PATH --variant floor|operators [--out DIR]
 *
 * Prints one JSON line: `{variant, seconds, bytes, messages, rows, outputs}`.
 *
 * `floor` — the least work that produces the outputs: read each span of the local file with one
 * read, decompress every chunk once (CRC checked), feed every message both to the `messages`
 * columns (as the index operator builds them) and to its schema's decoder table builder (the
 * columnar CDR path the extract operator uses, blobs copied and hashed into packs), keep the
 * Arrow tables in memory, and at the end write one Parquet file per table with
 * `encodeParquet` (same parquet-wasm settings as the convert operator) and the blob packs into
 * `--out`. The plan (spans, topics, tables) comes from the same summary reader and planner as
 * the dispatcher's.
 *
 * `operators` — the real operators (`runIndex`, `runExtract`, `runConvert`) one after another
 * against an in-memory object store (the raw recording read from the local file): everything
 * the pipeline does except Redis, S3 over HTTP and job scheduling. The gap between the two
 * variants is the cost of the operator design itself (two passes over each span, Arrow IPC parts
 * written and read back, a sha256 of every object written).
 *
 * Each variant is meant to run in a fresh process (bench/run.ts spawns one per round), like
 * the worker process it is compared with.
 */
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import * as arrow from 'apache-arrow';
import { MessagesBuilder } from '../src/columnar/messages-builder.ts';
import { MESSAGES_TABLE } from '../src/columnar/messages-table.ts';
import { encodeParquet } from '../src/columnar/parquet.ts';
import { loadConfig } from '../src/config/config.ts';
import { canonicalJson } from '../src/domain/canonical-json.ts';
import { sha256Hex } from '../src/domain/hash.ts';
import { recordingIdFor } from '../src/domain/identity.ts';
import { buildPlan, type RecordingPlan } from '../src/domain/plan.ts';
import { classifierFor, decoderFor } from '../src/decode/registry.ts';
import type { BlobRef, BlobSink, MessageTableBuilder } from '../src/decode/table-builder.ts';
import { loadDecompressors } from '../src/mcap/decompress.ts';
import { FileReadable } from '../src/mcap/file-readable.ts';
import { indexFromSummary, planningLimits } from '../src/mcap/summary-repair.ts';
import { readSpan } from '../src/mcap/span-reader.ts';
import { createOperatorContext, type OperatorContext } from '../src/operators/context.ts';
import { runConvert } from '../src/operators/convert-op.ts';
import { runExtract } from '../src/operators/extract-op.ts';
import { runIndex } from '../src/operators/index-op.ts';
import type { ExtractResult, IndexResult } from '../src/queue/jobs.ts';
import { partsByTable } from '../src/workers/commit.ts';
import type { ObjectInfo, ObjectStore, PutOptions, PutResult, ReadPurpose } from '../src/storage/object-store.ts';

const RAW_BUCKET = 'raw';
const RAW_KEY = 'bench/recording.mcap';
/** Same as the extract operator's pack size. */
const BLOB_PACK_BYTES = 64 * 1024 * 1024;

interface FloorResult {
  variant: 'floor' | 'operators';
  seconds: number;
  bytes: number;
  messages: number;
  /** Rows written per table. */
  rows: Record<string, number>;
  /** Bytes written: Parquet files, blob packs (and, for `operators`, parts and plan). */
  outputBytes: number;
  spans: number;
}

/** Settings exactly as a worker with the default configuration uses them. */
function settings() {
  const config = loadConfig({ MCAPFLOW_HOME: tmpdir() });
  return {
    spanMaxBytes: config.spanMaxBytes,
    blobThresholdBytes: config.blobThresholdBytes,
    maxRecordBytes: config.maxRecordBytes,
    maxChunkBytes: config.maxChunkBytes,
    parquetTargetBytes: config.parquetTargetBytes,
    parquetRowGroupRows: config.parquetRowGroupRows,
    derivedBucket: config.derivedBucket,
  };
}

/** The plan the dispatcher would make for this file (summary reader, same planner and classifier). */
async function planFile(path: string, size: number): Promise<RecordingPlan> {
  const { spanMaxBytes, blobThresholdBytes } = settings();
  const readable = await FileReadable.open(path);
  try {
    const summary = await indexFromSummary(readable, planningLimits(settings()));
    if ('unusable' in summary) throw new Error(`${path}: no usable summary (${summary.unusable})`);
    const source = { bucket: RAW_BUCKET, key: RAW_KEY, size };
    return buildPlan({
      recordingId: recordingIdFor(source),
      source,
      index: summary.index,
      spanMaxBytes,
      spanMaxUncompressedBytes: settings().maxChunkBytes,
      blobThresholdBytes,
      classify: classifierFor({ blobThresholdBytes, decodeSchemaless: true }),
    });
  } finally {
    await readable.close();
  }
}

/** Blob packs as the extract operator makes them (a copy and a sha256 per blob), written to disk when full. */
class LocalBlobPacks implements BlobSink {
  #pieces: Uint8Array[] = [];
  #bytes = 0;
  #packs = 0;
  written = 0;
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  put(bytes: Uint8Array): BlobRef {
    if (this.#bytes + bytes.length > BLOB_PACK_BYTES && this.#bytes > 0) this.flush();
    const offset = this.#bytes;
    this.#pieces.push(bytes.slice());
    this.#bytes += bytes.length;
    return { uri: `file://${this.#dir}/blobs-${this.#packs}.bin`, offset, length: bytes.length, sha256: sha256Hex(bytes), chunkOffset: null };
  }

  flush(): void {
    if (this.#bytes === 0) return;
    writeFileSync(join(this.#dir, `blobs-${this.#packs}.bin`), Buffer.concat(this.#pieces, this.#bytes));
    this.written += this.#bytes;
    this.#packs += 1;
    this.#pieces = [];
    this.#bytes = 0;
  }
}

/** Splits batches, in order, into groups of about `targetBytes` (the convert operator's file size). */
function groupBatches(batches: arrow.RecordBatch[], targetBytes: number): arrow.RecordBatch[][] {
  const groups: arrow.RecordBatch[][] = [];
  let current: arrow.RecordBatch[] = [];
  let bytes = 0;
  for (const batch of batches) {
    const size = batch.data.byteLength;
    if (current.length > 0 && bytes + size > targetBytes) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(batch);
    bytes += size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

async function runFloor(path: string, size: number, out: string): Promise<Omit<FloorResult, 'variant' | 'seconds'>> {
  const s = settings();
  await loadDecompressors();
  const plan = await planFile(path, size);
  const schemasById = new Map(plan.schemas.map((schema) => [schema.id, schema]));
  const blobs = new LocalBlobPacks(out);
  const batches = new Map<string, arrow.RecordBatch[]>();
  const addTable = (table: string, t: arrow.Table) => {
    const list = batches.get(table) ?? [];
    list.push(...t.batches);
    batches.set(table, list);
  };
  const file = await open(path, 'r');
  let messages = 0;
  try {
    for (const span of plan.spans) {
      const bytes = Buffer.allocUnsafe(span.end - span.start);
      const { bytesRead } = await file.read(bytes, 0, bytes.length, span.start);
      if (bytesRead !== bytes.length) throw new Error(`short read of span ${span.index}`);

      // Extract: one table builder per schema table, per span (as the extract operator).
      const builders = new Map<string, MessageTableBuilder>();
      const byChannel = new Map<number, { topic: string; builder: MessageTableBuilder }>();
      for (const topic of plan.topics) {
        if (topic.status !== 'ok' || topic.table === null) continue;
        let builder = builders.get(topic.table);
        if (builder === undefined) {
          builder = decoderFor(schemasById.get(topic.schemaId), { blobThresholdBytes: s.blobThresholdBytes }, topic.messageEncoding).tableBuilder({
            blobThresholdBytes: s.blobThresholdBytes,
            blobs,
          });
          builders.set(topic.table, builder);
        }
        byChannel.set(topic.channelId, { topic: topic.topic, builder });
      }
      // Index: the `messages` columns, built by the index operator's own builder.
      const index = new MessagesBuilder(new Map(plan.channels.map((c) => [c.id, c.topic])));

      // One pass: each chunk decompressed and CRC-checked once, each message visited once.
      readSpan(
        bytes,
        span,
        { maxRecordBytes: s.maxRecordBytes, validateCrc: true },
        {
          channel: (record) => index.learnChannel(record.id, record.topic),
          message(message, where) {
            index.add(message, where);
            const target = byChannel.get(message.channelId);
            if (target !== undefined) target.builder.append(plan.recordingId, target.topic, message.logTime, message.publishTime, message.data);
          },
        },
      );
      messages += index.rowCount;
      if (index.rowCount > 0) addTable(MESSAGES_TABLE, index.finish(plan.recordingId));
      for (const [table, builder] of builders) if (builder.rowCount > 0) addTable(table, builder.finish());
    }
  } finally {
    await file.close();
  }
  blobs.flush();

  // Convert: one Parquet file per table (per ~target bytes), same writer settings.
  let outputBytes = blobs.written;
  const rows: Record<string, number> = {};
  for (const [table, list] of [...batches].sort(([a], [b]) => a.localeCompare(b))) {
    for (const [i, group] of groupBatches(list, s.parquetTargetBytes).entries()) {
      const merged = new arrow.Table(group);
      const parquet = encodeParquet(merged, { rowGroupRows: s.parquetRowGroupRows });
      writeFileSync(join(out, `${table}-${i}.parquet`), parquet);
      outputBytes += parquet.length;
      rows[table] = (rows[table] ?? 0) + merged.numRows;
    }
  }
  return { bytes: size, messages, rows, outputBytes, spans: plan.spans.length };
}

/** An object store in memory; the raw recording is read by range from the local file. */
class MemoryStore implements ObjectStore {
  readonly objects = new Map<string, Uint8Array>();
  readonly #file: Awaited<ReturnType<typeof open>>;
  readonly #size: number;
  written = 0;

  constructor(file: Awaited<ReturnType<typeof open>>, size: number) {
    this.#file = file;
    this.#size = size;
  }

  async head(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    if (bucket === RAW_BUCKET && key === RAW_KEY) return { bucket, key, size: this.#size, metadata: {} };
    const body = this.objects.get(`${bucket}/${key}`);
    return body === undefined ? undefined : { bucket, key, size: body.length, metadata: {} };
  }

  async getRange(bucket: string, key: string, start: number, end: number, _purpose: ReadPurpose): Promise<Uint8Array> {
    if (bucket === RAW_BUCKET && key === RAW_KEY) {
      const bytes = Buffer.allocUnsafe(end - start);
      const { bytesRead } = await this.#file.read(bytes, 0, bytes.length, start);
      if (bytesRead !== bytes.length) throw new Error(`short read at ${start}`);
      return bytes;
    }
    const body = this.objects.get(`${bucket}/${key}`);
    if (body === undefined) throw new Error(`no object ${bucket}/${key}`);
    return body.subarray(start, end);
  }

  async get(bucket: string, key: string, _purpose: ReadPurpose): Promise<Uint8Array | undefined> {
    return this.objects.get(`${bucket}/${key}`);
  }

  async stream(bucket: string, key: string, purpose: ReadPurpose, range?: { start: number; end: number }): Promise<Readable> {
    const info = await this.head(bucket, key);
    if (info === undefined) throw new Error(`no object ${bucket}/${key}`);
    return Readable.from([await this.getRange(bucket, key, range?.start ?? 0, range?.end ?? info.size, purpose)]);
  }

  async put(bucket: string, key: string, body: Uint8Array | string, _options?: PutOptions): Promise<PutResult> {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    this.objects.set(`${bucket}/${key}`, bytes);
    this.written += bytes.length;
    return { created: true };
  }

  async createMultipartUpload(): Promise<string> {
    throw new Error('not used by the operators');
  }

  async uploadPart(): Promise<string> {
    throw new Error('not used by the operators');
  }

  async completeMultipartUpload(): Promise<PutResult> {
    throw new Error('not used by the operators');
  }

  async abortMultipartUpload(): Promise<void> {}

  async delete(bucket: string, key: string): Promise<void> {
    this.objects.delete(`${bucket}/${key}`);
  }

  async *list(bucket: string, prefix: string): AsyncIterable<ObjectInfo> {
    for (const [name, body] of [...this.objects].sort(([a], [b]) => a.localeCompare(b))) {
      if (name.startsWith(`${bucket}/${prefix}`)) yield { bucket, key: name.slice(bucket.length + 1), size: body.length, metadata: {} };
    }
  }

  async ensureBucket(): Promise<void> {}

  async ping(): Promise<void> {}

  close(): void {}
}

async function runOperators(path: string, size: number): Promise<Omit<FloorResult, 'variant' | 'seconds'>> {
  const s = settings();
  const plan = await planFile(path, size);
  const file = await open(path, 'r');
  try {
    const store = new MemoryStore(file, size);
    const ctx: OperatorContext = createOperatorContext(store, {
      derivedBucket: s.derivedBucket,
      maxRecordBytes: s.maxRecordBytes,
      maxChunkBytes: s.maxChunkBytes,
      blobThresholdBytes: s.blobThresholdBytes,
      parquetTargetBytes: s.parquetTargetBytes,
      parquetRowGroupRows: s.parquetRowGroupRows,
    });
    const planKey = 'objects/plans/bench.json';
    await store.put(s.derivedBucket, planKey, canonicalJson(plan));
    const loaded = await ctx.loadPlan(planKey);
    const index: IndexResult[] = [];
    const extract: ExtractResult[] = [];
    for (const span of loaded.spans) {
      index.push(await runIndex(ctx, loaded, span.index));
      extract.push(await runExtract(ctx, loaded, span.index));
    }
    const parts = partsByTable(index, extract);
    const rows: Record<string, number> = {};
    for (const table of [MESSAGES_TABLE, ...loaded.tables]) {
      const result = await runConvert(ctx, loaded, table, parts.get(table) ?? []);
      rows[table] = result.objects.reduce((n, o) => n + o.rows, 0);
    }
    return { bytes: size, messages: index.reduce((n, r) => n + r.messages, 0), rows, outputBytes: store.written, spans: loaded.spans.length };
  } finally {
    await file.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { file: { type: 'string' }, variant: { type: 'string', default: 'floor' }, out: { type: 'string' } } });
  if (values.file === undefined) throw new Error('--file is required');
  const variant = values.variant as FloorResult['variant'];
  if (variant !== 'floor' && variant !== 'operators') throw new Error(`unknown --variant ${values.variant}`);
  const size = statSync(values.file).size;
  const out = values.out ?? join(tmpdir(), `mcapflow-bench-floor-${process.pid}`);
  mkdirSync(out, { recursive: true });
  try {
    const started = performance.now();
    const result = variant === 'floor' ? await runFloor(values.file, size, out) : await runOperators(values.file, size);
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(`${JSON.stringify({ variant, seconds, ...result } satisfies FloorResult)}\n`);
  } finally {
    if (values.out === undefined) rmSync(out, { recursive: true, force: true });
  }
}

await main();

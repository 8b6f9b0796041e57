/**
 * The floor of the pipeline's work: the same recording turned into the same tables in one
 * process, with no queue, no network and no intermediate objects — and the upstream reader's
 * time to read every message, as context.
 *
 *   npx tsx bench/floor.ts --file PATH --variant floor|operators|reference [--out DIR]
 *
 * Prints one JSON line: `{variant, seconds, bytes, messages, rows, outputBytes, spans}`.
 *
 * `floor` — exactly the new work, by the engine's own code: the dispatcher's planner makes the
 * plan; each span is streamed once from the local file into `runSpanPass` with every span
 * operator (messages, chunk index, schema tables, odometry events; blobs left in place, their
 * sha256 computed); each table's span outputs are sorted and written as Parquet with the same
 * settings as convert; the recording operators run over those files (metadata, attachments,
 * and imu_windows through DuckDB).
 *
 * `operators` — the real jobs (`runExtract`, `runIndex`, `runConvert`, `runRecordingOperator`)
 * one after another against an in-memory object store: everything the pipeline does but Redis,
 * S3 over HTTP and scheduling. Against `floor` it shows what the job boundaries cost (parts
 * written and read back as Arrow IPC, a sha256 of every object written).
 *
 * `reference` — @mcap/core's indexed reader reading every message of the file (CRCs checked),
 * nothing decoded or written: the upstream library's own read.
 *
 * Each variant is meant to run in a fresh process (bench/run.ts spawns one per round).
 */
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { McapIndexedReader } from '@mcap/core';
import * as arrow from 'apache-arrow';
import { encodeParquet } from '../src/columnar/parquet.ts';
import { loadConfig } from '../src/config/config.ts';
import { canonicalJson } from '../src/domain/canonical-json.ts';
import { recordingIdFor } from '../src/domain/identity.ts';
import { s3Uri } from '../src/domain/layout.ts';
import { buildPlan, type RecordingPlan } from '../src/domain/plan.ts';
import type { ConvertResult, ExtractResult, IndexResult } from '../src/domain/work.ts';
import { classifierFor } from '../src/decode/registry.ts';
import { loadDecompressors } from '../src/mcap/decompress.ts';
import { FileReadable } from '../src/mcap/file-readable.ts';
import { indexFromSummary, planningLimits } from '../src/mcap/summary-repair.ts';
import { attachmentBatch } from '../src/operators/attachment-batch.ts';
import { tableBatch } from '../src/operators/batches.ts';
import { InPlaceBlobs, PackedBlobs } from '../src/operators/blobs.ts';
import { BUILTIN_OPERATORS } from '../src/operators/builtin/index.ts';
import { ChunkRows, CHUNKS_TABLE, chunkIndexOperator } from '../src/operators/builtin/chunk-index.ts';
import { readMessageIndexes } from '../src/mcap/message-index.ts';
import { createWorkContext, type WorkContext } from '../src/operators/context.ts';
import { recordingInfo } from '../src/operators/recording-info.ts';
import { isSpanOperator, OperatorRegistry, operatorId } from '../src/operators/registry.ts';
import { runSpanPass } from '../src/operators/span-pass.ts';
import { sorted, sortColumn } from '../src/operators/table-files.ts';
import { plannedChannels } from '../src/workers/extract.ts';
import { runConvert, runRecordingOperator } from '../src/workers/convert.ts';
import { runExtract } from '../src/workers/extract.ts';
import { runIndex } from '../src/workers/index-job.ts';
import { partsByTable } from '../src/workers/commit.ts';
import type { ObjectInfo, ObjectStore, PutOptions, PutResult, ReadPurpose } from '../src/storage/object-store.ts';
import type { AttachmentOperator, TableOperator, TableSpec } from '../src/sdk/operator.ts';

const RAW_BUCKET = 'raw';
const RAW_KEY = 'bench/recording.mcap';

export interface FloorResult {
  variant: 'floor' | 'operators' | 'reference';
  seconds: number;
  bytes: number;
  messages: number;
  /** Rows written per table. */
  rows: Record<string, number>;
  /** Bytes written: Parquet files (and, for `operators`, parts and plan). */
  outputBytes: number;
  spans: number;
}

/** Settings exactly as a worker with the default configuration uses them. */
function settings(home: string) {
  const config = loadConfig({ MCAPFLOW_HOME: home });
  return { config, registry: new OperatorRegistry(BUILTIN_OPERATORS) };
}

/** The plan the dispatcher would make for this file (summary reader, same planner and classifier). */
async function planFile(path: string, size: number, home: string): Promise<RecordingPlan> {
  const { config, registry } = settings(home);
  const readable = await FileReadable.open(path);
  try {
    const summary = await indexFromSummary(readable, planningLimits(config));
    if ('unusable' in summary) throw new Error(`${path}: no usable summary (${summary.unusable})`);
    const source = { bucket: RAW_BUCKET, key: RAW_KEY, size };
    return buildPlan({
      recordingId: recordingIdFor(source),
      source,
      index: summary.index,
      spanMaxBytes: config.spanMaxBytes,
      spanMaxUncompressedBytes: config.maxChunkBytes,
      blobThresholdBytes: config.blobThresholdBytes,
      reservedTables: registry.reservedTableNames(),
      classify: classifierFor({ blobThresholdBytes: config.blobThresholdBytes, decodeSchemaless: true }),
    });
  } finally {
    await readable.close();
  }
}

/** The raw recording is the local file; everything derived stays in memory. */
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
    if (bucket === RAW_BUCKET && key === RAW_KEY)
      return this.#file.createReadStream({ start: range?.start ?? 0, end: (range?.end ?? info.size) - 1, autoClose: false, highWaterMark: 1 << 20 });
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

function workContext(store: ObjectStore, home: string): WorkContext {
  const { config } = settings(home);
  return createWorkContext(store, {
    derivedBucket: config.derivedBucket,
    maxRecordBytes: config.maxRecordBytes,
    maxChunkBytes: config.maxChunkBytes,
    blobThresholdBytes: config.blobThresholdBytes,
    blobStorage: config.blobStorage,
    parquetTargetBytes: config.parquetTargetBytes,
    parquetRowGroupRows: config.parquetRowGroupRows,
    sql: { tempDir: join(home, 'tmp', 'operators'), memoryMb: config.queryMemoryMb, threads: config.queryThreads },
    cacheDir: join(home, 'cache'),
  });
}

let phaseStart = performance.now();
/** With FLOOR_PHASES=1, where the floor's time goes (stderr). */
function phase(name: string): void {
  if (process.env.FLOOR_PHASES === '1') process.stderr.write(`${name}: ${((performance.now() - phaseStart) / 1000).toFixed(3)} s\n`);
  phaseStart = performance.now();
}

async function runFloor(path: string, size: number, out: string): Promise<Omit<FloorResult, 'variant' | 'seconds'>> {
  phaseStart = performance.now();
  const { config, registry } = settings(out);
  const plan = await planFile(path, size, out);
  const recording = recordingInfo(plan);
  const spanOperators = registry.spanOperators();
  await loadDecompressors();
  const file = await open(path, 'r');
  const tables = new Map<string, { spec: TableSpec; batches: arrow.Table[] }>();
  let messages = 0;
  try {
    for (const span of plan.spans) {
      const packs = new PackedBlobs(config.derivedBucket, () => '0'.repeat(64));
      const stream = file.createReadStream({ start: span.start, end: span.end - 1, autoClose: false, highWaterMark: 1 << 20 });
      const outcome = await runSpanPass(stream, {
        plan,
        span,
        operators: spanOperators,
        registry,
        read: { maxRecordBytes: config.maxRecordBytes, maxChunkBytes: config.maxChunkBytes, validateCrc: true, plannedChannels: plannedChannels(plan) },
        blobThresholdBytes: config.blobThresholdBytes,
        blobs: new InPlaceBlobs(s3Uri(RAW_BUCKET, RAW_KEY), packs),
        sql: { tempDir: join(out, 'tmp'), memoryMb: config.queryMemoryMb, threads: config.queryThreads },
      });
      messages += outcome.channels.reduce((n, c) => n + c.count, 0);
      // The index job's work: the chunks table from the span's MessageIndex records.
      const rows = new ChunkRows();
      for (const segment of span.segments) {
        if (segment.messageIndex === undefined) continue;
        const bytes = Buffer.allocUnsafe(segment.messageIndex.length);
        await file.read(bytes, 0, bytes.length, segment.messageIndex.offset);
        for (const c of readMessageIndexes(bytes, segment.messageIndex.offset, config.maxRecordBytes))
          rows.add(segment.offset, c.channelId, c.first, c.count, c.last);
      }
      if (rows.size > 0)
        outcome.tables.push({
          operator: chunkIndexOperator,
          table: CHUNKS_TABLE,
          data: rows.table(plan.recordingId, new Map(plan.topics.map((t) => [t.channelId, t.topic]))),
        });
      for (const { operator, table, data } of outcome.tables) {
        const entry = tables.get(table) ?? { spec: registry.outputsOf(operator, recording).find((s) => s.name === table)!, batches: [] };
        entry.batches.push(data);
        tables.set(table, entry);
      }
    }
  } finally {
    await file.close();
  }
  phase('span passes');
  // Convert: each table sorted and written as Parquet, as the convert jobs do.
  const rows: Record<string, number> = {};
  const files = new Map<string, string[]>();
  let outputBytes = 0;
  for (const [table, { spec, batches }] of [...tables].sort(([a], [b]) => a.localeCompare(b))) {
    const data = sorted(new arrow.Table(batches.flatMap((t) => t.batches)), sortColumn(spec));
    phase(`  sort ${table}`);
    const bytes = encodeParquet(data, { rowGroupRows: config.parquetRowGroupRows });
    phase(`  parquet ${table} (${data.numRows} rows, ${data.batches.length} batches)`);
    const target = join(out, `${table}.parquet`);
    writeFileSync(target, bytes);
    files.set(table, [target]);
    rows[table] = data.numRows;
    outputBytes += bytes.length;
  }
  phase('span passes and convert');
  // The recording operators over those files.
  const handle = await open(path, 'r');
  const store = new MemoryStore(handle, size);
  const ctx = workContext(store, out);
  for (const operator of registry.recordingOperatorWaves().flat()) {
    const context = { recording, params: operator.params ?? {} };
    let returned: Record<string, arrow.Table>;
    if (operator.inputs.kind === 'attachments') returned = await (operator as AttachmentOperator).transform(attachmentBatch(ctx, plan), context);
    else {
      if (!operator.inputs.tables.every((t) => files.has(t))) continue;
      const batch = tableBatch(new Map(operator.inputs.tables.map((t) => [t, files.get(t)!])), ctx.settings.sql, async () => {
        throw new Error('not used by the built-ins');
      });
      returned = await (operator as TableOperator).transform(batch, context);
      await batch.close();
    }
    for (const [table, data] of Object.entries(returned)) {
      const bytes = encodeParquet(data, { rowGroupRows: config.parquetRowGroupRows });
      rows[table] = data.numRows;
      outputBytes += bytes.length;
    }
  }
  await handle.close();
  phase('recording operators');
  return { bytes: size, messages, rows, outputBytes, spans: plan.spans.length };
}

async function runOperators(path: string, size: number, out: string): Promise<Omit<FloorResult, 'variant' | 'seconds'>> {
  const { registry } = settings(out);
  const plan = await planFile(path, size, out);
  const file = await open(path, 'r');
  try {
    const store = new MemoryStore(file, size);
    const ctx = workContext(store, out);
    const planKey = 'objects/plans/bench.json';
    await store.put(ctx.settings.derivedBucket, planKey, canonicalJson(plan));
    const loaded = await ctx.loadPlan(planKey);
    const ids = registry.spanOperators().map(operatorId);
    const extract: ExtractResult[] = [];
    const index: IndexResult[] = [];
    for (const span of loaded.spans) {
      extract.push(await runExtract(ctx, registry, loaded, span.index, ids));
      if (span.segments.some((s) => s.messageIndex !== undefined)) index.push(await runIndex(ctx, registry, loaded, span.index));
    }
    const parts = partsByTable(extract, index);
    const recording = recordingInfo(loaded);
    const rows: Record<string, number> = {};
    const converted: ConvertResult[] = [];
    for (const operator of registry.all().filter(isSpanOperator)) {
      for (const spec of registry.outputsOf(operator, recording)) {
        const result = await runConvert(ctx, registry, loaded, spec.name, operatorId(operator), parts.get(spec.name) ?? []);
        converted.push(result);
        rows[spec.name] = result.objects.reduce((n, o) => n + o.rows, 0);
      }
    }
    for (const operator of registry.recordingOperatorWaves().flat()) {
      const inputs =
        operator.inputs.kind === 'tables'
          ? Object.fromEntries(
              operator.inputs.tables.map((t) => [t, converted.find((c) => c.table === t)?.objects.map((o) => ({ key: o.key, sha256: o.sha256 })) ?? []]),
            )
          : {};
      const result = await runRecordingOperator(ctx, registry, loaded, operatorId(operator), inputs);
      for (const t of result.tables) rows[t.table] = t.objects.reduce((n, o) => n + o.rows, 0);
    }
    return {
      bytes: size,
      messages: extract.reduce((n, r) => n + r.channels.reduce((m, c) => m + c.count, 0), 0),
      rows,
      outputBytes: store.written,
      spans: loaded.spans.length,
    };
  } finally {
    await file.close();
  }
}

/** @mcap/core reading every message of the file, CRCs checked: the upstream library's own read. */
async function runReference(path: string, size: number): Promise<Omit<FloorResult, 'variant' | 'seconds'>> {
  const readable = await FileReadable.open(path);
  try {
    const reader = await McapIndexedReader.Initialize({ readable, decompressHandlers: await loadDecompressors() });
    let messages = 0;
    for await (const message of reader.readMessages({ validateCrcs: true })) if (message.data.length >= 0) messages += 1;
    return { bytes: size, messages, rows: {}, outputBytes: 0, spans: reader.chunkIndexes.length };
  } finally {
    await readable.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { file: { type: 'string' }, variant: { type: 'string', default: 'floor' }, out: { type: 'string' } } });
  if (values.file === undefined) throw new Error('--file is required');
  const variant = values.variant as FloorResult['variant'];
  if (!['floor', 'operators', 'reference'].includes(variant)) throw new Error(`unknown --variant ${values.variant}`);
  const size = statSync(values.file).size;
  const out = values.out ?? join(tmpdir(), `mcapflow-bench-floor-${process.pid}`);
  mkdirSync(out, { recursive: true });
  try {
    const started = performance.now();
    const result =
      variant === 'floor'
        ? await runFloor(values.file, size, out)
        : variant === 'operators'
          ? await runOperators(values.file, size, out)
          : await runReference(values.file, size);
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(`${JSON.stringify({ variant, seconds, ...result } satisfies FloorResult)}\n`);
  } finally {
    if (values.out === undefined) rmSync(out, { recursive: true, force: true });
  }
}

await main();

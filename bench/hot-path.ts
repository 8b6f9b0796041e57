/**
 * Measurements for the hot path of issue 11 (one pass per chunk span), on the bench's robot run
 * (bench/inputs.ts `robotRun`, generated once and cached):
 *
 *   npx tsx bench/hot-path.ts [--size BYTES] [--seed N] [--rounds N] [--only s3,zstd,walk,parquet] [--zstd-dir DIR]
 *
 * Prints readable tables on stderr and one JSON line on stdout. Timings are the best of
 * `--rounds` (default 3; 5 for the Parquet and sort rows, 8 for S3) on this shared 2-core
 * machine, with the process CPU (user + system, all threads) of that round: compare ratios
 * within one run. A whole run takes one to two minutes and about 2.5 GB of RSS.
 *
 * 1. `zstd`: every chunk of the file decompressed by the current path (src/mcap/decompress.ts:
 *    @mcap/support's wasm handlers) and by the candidates installed in `--zstd-dir` (default
 *    /tmp/zstd-try: a scratch npm project outside this repo, see ZSTD_INSTALL; a missing one is
 *    reported, not fatal). Each output is checked against the chunk's length and CRC and the
 *    current path's bytes, and each decompressor is tried on crafted frames made with the zstd
 *    CLI (no content size, two frames, a size hint 1 byte short or long, a flipped byte in a
 *    frame without checksum, as chunk writers make them). Also native zlib.crc32 over the
 *    decompressed bytes.
 * 2. `walk`: forEachRecord (+ parseMessage) over the decompressed chunks; readSpan (the current
 *    read path), also with the native decompressor swapped into the loaded handlers; @mcap/core's
 *    McapIndexedReader.readMessages over the whole file (the upstream reference read), with and
 *    without CRC validation, with the wasm and the native zstd.
 * 3. `parquet`: the floor's Arrow tables for this recording (same plan, readSpan, MessagesBuilder
 *    and decoder table builders as bench/floor.ts; blob columns are references), timed as a
 *    whole, node:crypto sha256 over the blob bytes, then each table written with parquet-wasm
 *    (as src/columnar/parquet.ts: IPC hand-off, zstd; and snappy) and with DuckDB (Arrow buffers
 *    copied into data chunks through the C API, appended to a table, COPY TO parquet zstd; DuckDB
 *    has no Arrow IPC reader without an extension, and extensions cannot be downloaded here).
 *    DuckDB's file is read back by DuckDB and compared (types, count, EXCEPT ALL both ways) with
 *    the table it came from and with parquet-wasm's file of the same Arrow table. Then the cost
 *    of sorting each table by log_time in JS (check, argsort, gather), as built and with its
 *    span batches reversed (parts arriving out of order).
 * 4. `s3`: a 32 MiB range GET (run first, while the heap is small) from the embedded S3 server in
 *    a child process (its CPU read from /proc/<pid>/stat) through S3Store: buffered `getRange`
 *    against `stream` consumed piece by piece, and a SigV4-signed node:http GET without the SDK
 *    as the transport's floor.
 */
/* eslint-disable @typescript-eslint/no-unsafe-argument -- Arrow's Field and Data are generic over `any` (as in src/columnar, where the rule is off) */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { get as httpGet } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { crc32 } from 'node:zlib';
import { SignatureV4 } from '@smithy/signature-v4';
import { DuckDBDataChunk, DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import * as arrow from 'apache-arrow';
import { Compression, Table as WasmTable, WriterPropertiesBuilder, writeParquet } from 'parquet-wasm';
import { MessagesBuilder } from '../src/columnar/messages-builder.ts';
import { MESSAGES_TABLE } from '../src/columnar/messages-table.ts';
import { encodeParquet } from '../src/columnar/parquet.ts';
import { tableToIpc } from '../src/columnar/arrow-columns.ts';
import { loadConfig } from '../src/config/config.ts';
import { recordingIdFor } from '../src/domain/identity.ts';
import { buildPlan, type RecordingPlan } from '../src/domain/plan.ts';
import { classifierFor, decoderFor } from '../src/decode/registry.ts';
import type { BlobRef, BlobSink, MessageTableBuilder } from '../src/decode/table-builder.ts';
import { embeddedS3Credentials } from '../src/embedded/s3-credentials.ts';
import { startEmbeddedS3 } from '../src/embedded/s3-server.ts';
import { decompressChunk, loadDecompressors } from '../src/mcap/decompress.ts';
import { FileReadable } from '../src/mcap/file-readable.ts';
import { forEachRecord, Opcode, parseChunkHeader, parseMessage, RECORD_PREFIX_BYTES, type MessageRecord } from '../src/mcap/records.ts';
import { readSpan } from '../src/mcap/span-reader.ts';
import type { MessageLocation } from '../src/domain/work.ts';
import { indexFromSummary, planningLimits } from '../src/mcap/summary-repair.ts';
import { S3Store } from '../src/storage/s3-store.ts';
import { robotRun } from './inputs.ts';

const MIB = 1024 * 1024;
const GB = 1e9;

/**
 * How the zstd candidates were installed (outside the repo; npm 11 runs install scripts only
 * for packages in `allowScripts`). zstd-napi's prebuilt download (GitHub) fails here and it
 * builds its bundled libzstd with node-gyp; @mongodb-js/zstd@7.0.0 does not install here at all
 * (its prebuild comes from GitHub and its fallback script is not in the package), so its last
 * napi-rs release (1.2.2, prebuilt binaries in the registry) stands in.
 */
const ZSTD_INSTALL = [
  'mkdir -p /tmp/zstd-try && cd /tmp/zstd-try',
  `echo '{"name":"zstd-try","private":true,"allowScripts":{"@mongodb-js/zstd":true,"zstd-napi":true}}' > package.json`,
  'npm install zstd-napi@0.0.13 @toondepauw/node-zstd@2.0.0 fzstd@0.1.1 zstddec@0.3.4 mongodb-zstd-v1@npm:@mongodb-js/zstd@1.2.2',
].join(' && ');

// ---------------------------------------------------------------------------------------------
// Measuring

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Sample {
  /** Best wall time, seconds. */
  s: number;
  /** Process CPU (user + system, all threads) of that best round, seconds. */
  cpuS: number;
  /** Of which system (kernel: page faults of fresh buffers, I/O), seconds. */
  sysS?: number;
}

function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Best of `rounds` (by wall time), with the CPU of that round; a run slower than `slowS` is not repeated. */
async function best(rounds: number, run: () => unknown, slowS = 4): Promise<Sample> {
  let bestSample: Sample | undefined;
  for (let i = 0; i < rounds; i++) {
    gc();
    const before = process.cpuUsage();
    const t0 = performance.now();
    await run();
    const s = (performance.now() - t0) / 1000;
    const used = process.cpuUsage(before);
    const sample = { s, cpuS: (used.user + used.system) / 1e6, sysS: used.system / 1e6 };
    if (bestSample === undefined || s < bestSample.s) bestSample = sample;
    if (s > slowS) break;
  }
  return bestSample!;
}

const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;
const mbps = (bytes: number, s: number): number => round(bytes / 1e6 / s);
/** CPU seconds per GB of `bytes`. */
const cpuPerGb = (cpuS: number, bytes: number): number => round((cpuS * GB) / bytes, 2);

const report: string[] = [];
function table(title: string, header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  report.push('', `## ${title}`, line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line));
  process.stderr.write(`${report.slice(-(rows.length + 3)).join('\n')}\n`);
}
function note(text: string): void {
  report.push(text);
  process.stderr.write(`${text}\n`);
}

// ---------------------------------------------------------------------------------------------
// The recording: plan, chunks

function settings() {
  const config = loadConfig({ MCAPFLOW_HOME: tmpdir() });
  return {
    spanMaxBytes: config.spanMaxBytes,
    blobThresholdBytes: config.blobThresholdBytes,
    maxRecordBytes: config.maxRecordBytes,
    maxChunkBytes: config.maxChunkBytes,
    parquetRowGroupRows: config.parquetRowGroupRows,
  };
}

/** The plan the dispatcher makes (as bench/floor.ts does). */
async function planFile(path: string, size: number): Promise<RecordingPlan> {
  const s = settings();
  const readable = await FileReadable.open(path);
  try {
    const summary = await indexFromSummary(readable, planningLimits(s));
    if ('unusable' in summary) throw new Error(`${path}: no usable summary (${summary.unusable})`);
    const source = { bucket: 'raw', key: 'bench/recording.mcap', size };
    return buildPlan({
      recordingId: recordingIdFor(source),
      source,
      index: summary.index,
      spanMaxBytes: s.spanMaxBytes,
      spanMaxUncompressedBytes: s.maxChunkBytes,
      blobThresholdBytes: s.blobThresholdBytes,
      classify: classifierFor({ blobThresholdBytes: s.blobThresholdBytes, decodeSchemaless: true }),
    });
  } finally {
    await readable.close();
  }
}

interface Chunk {
  offset: number;
  compression: string;
  compressed: Uint8Array;
  uncompressedSize: number;
  crc: number;
}

function chunksOf(file: Uint8Array, plan: RecordingPlan): Chunk[] {
  const chunks: Chunk[] = [];
  for (const span of plan.spans) {
    for (const segment of span.segments) {
      if (segment.kind !== 'chunk') continue;
      if (file[segment.offset] !== Opcode.Chunk) throw new Error(`no chunk at ${segment.offset}`);
      const header = parseChunkHeader(file, segment.offset + RECORD_PREFIX_BYTES, segment.offset + segment.length);
      chunks.push({
        offset: segment.offset,
        compression: header.compression,
        compressed: header.records,
        uncompressedSize: Number(header.uncompressedSize),
        crc: header.uncompressedCrc,
      });
    }
  }
  return chunks;
}

// ---------------------------------------------------------------------------------------------
// 1. zstd

interface Decompressor {
  name: string;
  /** Package and version, how it runs. */
  what: string;
  /** Decompresses `src` whose content is `size` bytes (the chunk's uncompressedSize hint). */
  decompress(src: Uint8Array, size: number): Uint8Array | Promise<Uint8Array>;
  /** Several chunks in flight at once (async APIs on the libuv pool). */
  concurrent?: number;
}

interface CandidateStatus {
  name: string;
  verdict: string;
}

/** The version in `node_modules/<name>/package.json` under `root` (read directly: `exports` may hide it from require). */
function versionOf(root: string, name: string): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8'));
    return (pkg as { version: string }).version;
  } catch {
    return '?';
  }
}

const REPO = fileURLToPath(new URL('..', import.meta.url));

const asBuffer = (bytes: Uint8Array): Buffer => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));

/** The decompressors: the current path, then whatever of the candidates `dir` holds. */
async function decompressors(dir: string, maxChunkBytes: number): Promise<{ list: Decompressor[]; statuses: CandidateStatus[] }> {
  const list: Decompressor[] = [];
  const statuses: CandidateStatus[] = [];
  await loadDecompressors();
  list.push({
    name: 'current',
    what: `src/mcap/decompress.ts: @mcap/support ${versionOf(REPO, '@mcap/support')} → @foxglove/wasm-zstd ${versionOf(REPO, '@foxglove/wasm-zstd')} (wasm)`,
    decompress: (src, size) => decompressChunk('zstd', src, BigInt(size), maxChunkBytes),
  });
  const wasmZstd = (await import('@foxglove/wasm-zstd')).default;
  await wasmZstd.isLoaded;
  list.push({
    name: 'wasm-zstd direct',
    what: `@foxglove/wasm-zstd ${versionOf(REPO, '@foxglove/wasm-zstd')} decompress() without @mcap/support's extra Uint8Array copy`,
    decompress: (src, size) => wasmZstd.decompress(src, size),
  });

  const scratch = createRequire(join(dir, 'package.json'));
  const tryLoad = async (name: string, pkg: string, load: () => Promise<Decompressor[]>) => {
    try {
      const found = await load();
      list.push(...found);
      statuses.push({ name, verdict: `loaded ${pkg}@${versionOf(dir, pkg)}` });
    } catch (error) {
      statuses.push({ name, verdict: `not available: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}` });
    }
  };

  await tryLoad('zstd-napi', 'zstd-napi', async () => {
    interface ZstdNapi {
      decompress(data: Uint8Array): Buffer;
    }
    interface Binding {
      DCtx: new () => { decompress(dst: Uint8Array, src: Uint8Array): number };
    }
    const mod = scratch('zstd-napi') as ZstdNapi;
    const binding = scratch('zstd-napi/binding') as Binding;
    const dctx = new binding.DCtx();
    let reused = Buffer.alloc(0);
    const v = versionOf(dir, 'zstd-napi');
    return [
      { name: 'zstd-napi decompress()', what: `zstd-napi ${v} (N-API, libzstd 1.5.7 built by node-gyp)`, decompress: (src) => mod.decompress(src) },
      {
        name: 'zstd-napi DCtx+hint',
        what: `zstd-napi ${v} binding DCtx.decompress into a buffer of uncompressedSize (one reused context)`,
        decompress(src, size) {
          const out = Buffer.allocUnsafe(size);
          const n = dctx.decompress(out, src);
          if (n !== size) throw new Error(`decompressed ${n} bytes, expected ${size}`);
          return out;
        },
      },
      {
        name: 'zstd-napi DCtx reused buf',
        what: `zstd-napi ${v} binding DCtx.decompress into one reused buffer (valid until the next chunk: what a one-pass walk that copies or references what it keeps could use)`,
        decompress(src, size) {
          if (reused.length < size) reused = Buffer.allocUnsafe(size);
          const out = reused.subarray(0, size);
          const n = dctx.decompress(out, src);
          if (n !== size) throw new Error(`decompressed ${n} bytes, expected ${size}`);
          return out;
        },
      },
    ];
  });
  await tryLoad('@toondepauw/node-zstd', '@toondepauw/node-zstd', async () => {
    interface Toon {
      Decoder: new () => { decodeSync(data: Buffer): Buffer };
    }
    const decoder = new (scratch('@toondepauw/node-zstd') as Toon).Decoder();
    const v = versionOf(dir, '@toondepauw/node-zstd');
    return [{ name: 'node-zstd decodeSync', what: `@toondepauw/node-zstd ${v} (napi-rs, prebuilt)`, decompress: (src) => decoder.decodeSync(asBuffer(src)) }];
  });
  await tryLoad('@mongodb-js/zstd@1', 'mongodb-zstd-v1', async () => {
    interface Mongo {
      decompress(data: Buffer): Promise<Buffer>;
    }
    const mod = scratch('mongodb-zstd-v1') as Mongo;
    const v = versionOf(dir, 'mongodb-zstd-v1');
    return [
      {
        name: 'mongodb-js/zstd async',
        what: `@mongodb-js/zstd ${v} (napi-rs, prebuilt; async only), one at a time`,
        decompress: (src) => mod.decompress(asBuffer(src)),
      },
      {
        name: 'mongodb-js/zstd async x2',
        what: `@mongodb-js/zstd ${v}, two chunks in flight (libuv pool)`,
        decompress: (src) => mod.decompress(asBuffer(src)),
        concurrent: 2,
      },
    ];
  });
  await tryLoad('fzstd', 'fzstd', async () => {
    interface Fzstd {
      decompress(data: Uint8Array, out?: Uint8Array): Uint8Array;
    }
    const mod = scratch('fzstd') as Fzstd;
    return [
      {
        name: 'fzstd',
        what: `fzstd ${versionOf(dir, 'fzstd')} (pure JS), into a buffer of uncompressedSize`,
        decompress: (src, size) => mod.decompress(src, new Uint8Array(size)),
      },
    ];
  });
  await tryLoad('zstddec', 'zstddec', async () => {
    interface ZstdDec {
      ZSTDDecoder: new () => { init(): Promise<void>; decode(array: Uint8Array, uncompressedSize?: number): Uint8Array };
    }
    const mod = (await import(pathToFileURL(scratch.resolve('zstddec')).href)) as ZstdDec;
    const decoder = new mod.ZSTDDecoder();
    await decoder.init();
    return [{ name: 'zstddec', what: `zstddec ${versionOf(dir, 'zstddec')} (wasm)`, decompress: (src, size) => decoder.decode(src, size) }];
  });
  return { list, statuses };
}

async function decompressAll(d: Decompressor, chunks: Chunk[], keep?: Uint8Array[]): Promise<number> {
  let bytes = 0;
  if (d.concurrent !== undefined && d.concurrent > 1) {
    let next = 0;
    const worker = async () => {
      while (next < chunks.length) {
        const i = next++;
        const out = await d.decompress(chunks[i]!.compressed, chunks[i]!.uncompressedSize);
        bytes += out.length;
        if (keep) keep[i] = out;
      }
    };
    await Promise.all(Array.from({ length: d.concurrent }, worker));
    return bytes;
  }
  for (let i = 0; i < chunks.length; i++) {
    const c = chunks[i]!;
    const out = await d.decompress(c.compressed, c.uncompressedSize);
    bytes += out.length;
    if (keep) keep[i] = out;
  }
  return bytes;
}

/** Every output has the chunk's length and CRC (so equals what was compressed), and equals the reference bytes. */
async function identical(d: Decompressor, chunks: Chunk[], reference: Uint8Array[]): Promise<string> {
  let crcMismatch = 0;
  let byteMismatch = 0;
  for (let i = 0; i < chunks.length; i++) {
    const c = chunks[i]!;
    const out = await d.decompress(c.compressed, c.uncompressedSize);
    if (out.length !== c.uncompressedSize || crc32(out) >>> 0 !== c.crc) crcMismatch += 1;
    if (!asBuffer(out).equals(asBuffer(reference[i]!))) byteMismatch += 1;
  }
  return crcMismatch === 0 && byteMismatch === 0 ? 'yes' : `NO (${crcMismatch} CRC, ${byteMismatch} byte mismatches)`;
}

/** Crafted frames: the same content with and without a content size, two frames, wrong hints, a corrupt byte. */
function edgeInputs(
  sample: Uint8Array,
  compress: (data: Uint8Array) => Uint8Array,
): { name: string; src: Uint8Array; hint: number; expect: Uint8Array | 'error' }[] {
  const cli = (args: string[], input: Uint8Array) => new Uint8Array(execFileSync('zstd', ['-1', '-c', '-q', ...args], { input, maxBuffer: 64 * MIB }));
  // As chunk writers make them: ZSTD_compress (content size, no checksum), as src/synth does.
  const withSize = compress(sample);
  // From stdin the CLI does not know the size; --no-content-size makes sure of it.
  const noSize = cli(['--no-content-size'], sample);
  const fhd = noSize[4]!;
  if (fhd >> 6 !== 0 || ((fhd >> 5) & 1) !== 0) throw new Error('the --no-content-size frame declares a content size');
  const half = sample.length >> 1;
  const first = cli([], sample.subarray(0, half));
  const second = cli(['--no-content-size'], sample.subarray(half));
  const twoFrames = Buffer.concat([first, second]);
  const corrupt = Buffer.from(withSize);
  const middle = corrupt.length >> 1;
  corrupt[middle] = corrupt[middle]! ^ 0xff;
  return [
    { name: 'no content size', src: noSize, hint: sample.length, expect: sample },
    { name: 'two frames', src: twoFrames, hint: sample.length, expect: sample },
    { name: 'hint 1 byte short', src: withSize, hint: sample.length - 1, expect: 'error' },
    { name: 'hint 1 byte long', src: withSize, hint: sample.length + 1, expect: 'error' },
    { name: 'corrupt byte', src: corrupt, hint: sample.length, expect: 'error' },
  ];
}

/**
 * What a decompressor does with each crafted input. For the error cases the caller
 * (decompressChunk) also compares the output length with the hint and the chunk CRC, so
 * "returns N bytes" there is caught by the caller, not silent.
 */
async function edgeBehaviour(d: Decompressor, inputs: ReturnType<typeof edgeInputs>): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const input of inputs) {
    try {
      const result = await d.decompress(input.src, input.hint);
      if (input.expect === 'error') out[input.name] = `returns ${result.length} B (hint ${input.hint})`;
      else out[input.name] = asBuffer(result).equals(asBuffer(input.expect)) ? 'ok' : `WRONG (${result.length} B)`;
    } catch (error) {
      const message = (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 60);
      out[input.name] = input.expect === 'error' ? `throws (${message})` : `FAILS (${message})`;
    }
  }
  return out;
}

async function zstdSection(chunks: Chunk[], rounds: number, dir: string, maxChunkBytes: number) {
  const { list, statuses } = await decompressors(dir, maxChunkBytes);
  const compressedBytes = chunks.reduce((n, c) => n + c.compressed.length, 0);
  const reference: Uint8Array[] = [];
  const outputBytes = await decompressAll(list[0]!, chunks, reference);
  const sample = reference[0]!.subarray(0, Math.min(reference[0]!.length, 2 * MIB));
  const wasmZstd = (await import('@foxglove/wasm-zstd')).default;
  let inputs: ReturnType<typeof edgeInputs> = [];
  try {
    inputs = edgeInputs(sample, (data) => wasmZstd.compress(data, 1));
  } catch (error) {
    note(`  crafted frames not tested (they need the zstd CLI): ${error instanceof Error ? error.message : String(error)}`);
  }
  const results = [];
  for (const d of list) {
    const sampleRun = await best(rounds, () => decompressAll(d, chunks));
    results.push({
      name: d.name,
      what: d.what,
      s: round(sampleRun.s, 3),
      inMBps: mbps(compressedBytes, sampleRun.s),
      outMBps: mbps(outputBytes, sampleRun.s),
      cpuSPerGbOut: cpuPerGb(sampleRun.cpuS, outputBytes),
      systemCpuSPerGbOut: cpuPerGb(sampleRun.sysS ?? 0, outputBytes),
      identical: await identical(d, chunks, reference),
      edge: await edgeBehaviour(d, inputs),
    });
  }
  table(
    `zstd: ${chunks.length} chunks, ${round(compressedBytes / MIB)} MiB compressed → ${round(outputBytes / MIB)} MiB (best of ${rounds})`,
    ['decompressor', 's', 'MB/s in', 'MB/s out', 'CPU s/GB out', 'of which system', 'identical', ...inputs.map((i) => i.name)],
    results.map((r) => [r.name, r.s, r.inMBps, r.outMBps, r.cpuSPerGbOut, r.systemCpuSPerGbOut, r.identical, ...inputs.map((i) => r.edge[i.name] ?? '')]),
  );
  for (const r of results) note(`  ${r.name}: ${r.what}`);
  for (const s of statuses) note(`  candidate ${s.name}: ${s.verdict}`);

  const crc = await best(rounds, () => {
    let x = 0;
    for (const out of reference) x ^= crc32(out);
    return x;
  });
  const crcRow = { s: round(crc.s, 3), GBps: round(outputBytes / GB / crc.s, 2), cpuSPerGb: cpuPerGb(crc.cpuS, outputBytes) };
  table(
    `native zlib.crc32 over the decompressed chunks (${round(outputBytes / MIB)} MiB, best of ${rounds})`,
    ['what', 's', 'GB/s', 'CPU s/GB'],
    [['crc32', crcRow.s, crcRow.GBps, crcRow.cpuSPerGb]],
  );
  return { compressedBytes, outputBytes, chunks: chunks.length, decompressors: results, candidates: statuses, crc32: crcRow, decompressed: reference };
}

// ---------------------------------------------------------------------------------------------
// 2. Record walking

function walkChunks(decompressed: Uint8Array[], maxRecordBytes: number, parse: boolean): { messages: number; dataBytes: number } {
  let messages = 0;
  let dataBytes = 0;
  for (const bytes of decompressed) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    forEachRecord(bytes, 0, bytes.length, maxRecordBytes, (slot) => {
      if (slot.opcode !== Opcode.Message) return;
      messages += 1;
      if (parse) dataBytes += parseMessage(view, bytes, slot.contentStart, slot.contentEnd).data.length;
    });
  }
  return { messages, dataBytes };
}

async function upstreamRead(path: string, validateCrcs: boolean, handlers: Awaited<ReturnType<typeof loadDecompressors>>): Promise<number> {
  const { McapIndexedReader } = await import('@mcap/core');
  const readable = await FileReadable.open(path);
  try {
    const reader = await McapIndexedReader.Initialize({ readable, decompressHandlers: handlers });
    let n = 0;
    for await (const _message of reader.readMessages({ validateCrcs })) n += 1;
    return n;
  } finally {
    await readable.close();
  }
}

async function walkSection(
  input: { path: string; bytes: number },
  file: Uint8Array,
  plan: RecordingPlan,
  decompressed: Uint8Array[],
  rounds: number,
  zstd: Decompressor | undefined,
) {
  const { maxRecordBytes, maxChunkBytes } = settings();
  const decompressedBytes = decompressed.reduce((n, b) => n + b.length, 0);
  const rows: { name: string; s: number; messages: number; cpuS: number; sysS?: number; per: 'file' | 'decompressed' }[] = [];
  let counted = walkChunks(decompressed, maxRecordBytes, true);
  const framing = await best(rounds, () => walkChunks(decompressed, maxRecordBytes, false));
  rows.push({ name: 'forEachRecord (framing only)', ...framing, messages: counted.messages, per: 'decompressed' });
  const parsed = await best(rounds, () => (counted = walkChunks(decompressed, maxRecordBytes, true)));
  rows.push({ name: 'forEachRecord + parseMessage', ...parsed, messages: counted.messages, per: 'decompressed' });

  const spanRead = () => {
    let n = 0;
    for (const span of plan.spans) {
      readSpan(file.subarray(span.start, span.end), span, { maxRecordBytes, maxChunkBytes, validateCrc: true }, { message: () => (n += 1) });
    }
    return n;
  };
  const spanMessages = spanRead();
  rows.push({ name: 'readSpan (current: wasm zstd + CRC + 2 walks)', ...(await best(rounds, spanRead)), messages: spanMessages, per: 'file' });

  const wasm = await loadDecompressors();
  if (zstd !== undefined) {
    // decompressChunk looks the handler up in this same object: swap zstd for the native one for
    // this measurement only (src/ is unchanged), then put the wasm one back.
    const original = wasm.zstd!;
    wasm.zstd = (buffer: Uint8Array, size: bigint) => zstd.decompress(buffer, Number(size)) as Uint8Array;
    try {
      rows.push({ name: `readSpan with ${zstd.name}`, ...(await best(rounds, spanRead)), messages: spanRead(), per: 'file' });
    } finally {
      wasm.zstd = original;
    }
  }
  const upstreamRounds = Math.max(1, Math.min(rounds, 2));
  for (const validate of [true, false]) {
    let n = 0;
    const sample = await best(upstreamRounds, async () => (n = await upstreamRead(input.path, validate, wasm)));
    rows.push({ name: `@mcap/core readMessages, wasm zstd, CRC ${validate ? 'on' : 'off'}`, ...sample, messages: n, per: 'file' });
  }
  if (zstd !== undefined) {
    const native = { ...wasm, zstd: (buffer: Uint8Array, size: bigint) => zstd.decompress(buffer, Number(size)) as Uint8Array };
    for (const validate of [true, false]) {
      let n = 0;
      const sample = await best(upstreamRounds, async () => (n = await upstreamRead(input.path, validate, native)));
      rows.push({ name: `@mcap/core readMessages, ${zstd.name}, CRC ${validate ? 'on' : 'off'}`, ...sample, messages: n, per: 'file' });
    }
  }
  const out = rows.map((r) => ({
    name: r.name,
    s: round(r.s, 3),
    messages: r.messages,
    messagesPerS: Math.round(r.messages / r.s),
    fileMBps: mbps(input.bytes, r.s),
    decompressedMBps: mbps(decompressedBytes, r.s),
    cpuSPerGbFile: cpuPerGb(r.cpuS, input.bytes),
    systemCpuSPerGbFile: cpuPerGb(r.sysS ?? 0, input.bytes),
  }));
  table(
    `record walking (best of ${rounds}; @mcap/core best of ${upstreamRounds}); file ${round(input.bytes / MIB)} MiB, decompressed ${round(decompressedBytes / MIB)} MiB`,
    ['what', 's', 'messages', 'msg/s', 'MB/s of file', 'MB/s decompressed', 'CPU s/GB file', 'of which system'],
    out.map((r) => [r.name, r.s, r.messages, r.messagesPerS, r.fileMBps, r.decompressedMBps, r.cpuSPerGbFile, r.systemCpuSPerGbFile]),
  );
  return out;
}

// ---------------------------------------------------------------------------------------------
// 3. Parquet

/** Blob references as the extract operator makes them (sha256 of each blob); the blob bytes are kept for the hash measurement. */
class KeepingBlobSink implements BlobSink {
  readonly blobs: Uint8Array[] = [];
  #offset = 0;
  readonly #hash: boolean;

  constructor(hash: boolean) {
    this.#hash = hash;
  }

  put(bytes: Uint8Array): BlobRef {
    this.blobs.push(bytes);
    const ref = {
      uri: 's3://derived/objects/blobs/pack-0.bin',
      offset: this.#offset,
      length: bytes.length,
      sha256: this.#hash ? createHash('sha256').update(bytes).digest('hex') : '0'.repeat(64),
      chunkOffset: null,
    };
    this.#offset += bytes.length;
    return ref;
  }
}

/**
 * The floor's tables (bench/floor.ts): one builder per table and span, the `messages` index,
 * batches concatenated per table. Read with readSpan from the file, or (`decompressed`, by chunk
 * offset) walked from chunks already decompressed and with no blob hashing: the decoders' and
 * builders' own cost.
 */
function buildTables(file: Uint8Array, plan: RecordingPlan, decompressed?: Map<number, Uint8Array>): { tables: Map<string, arrow.Table>; blobs: Uint8Array[] } {
  const s = settings();
  const schemasById = new Map(plan.schemas.map((schema) => [schema.id, schema]));
  const sink = new KeepingBlobSink(decompressed === undefined);
  const batches = new Map<string, arrow.RecordBatch[]>();
  const add = (name: string, t: arrow.Table) => batches.set(name, [...(batches.get(name) ?? []), ...t.batches]);
  for (const span of plan.spans) {
    const builders = new Map<string, MessageTableBuilder>();
    const byChannel = new Map<number, { topic: string; builder: MessageTableBuilder }>();
    for (const topic of plan.topics) {
      if (topic.status !== 'ok' || topic.table === null) continue;
      let builder = builders.get(topic.table);
      if (builder === undefined) {
        builder = decoderFor(schemasById.get(topic.schemaId), { blobThresholdBytes: s.blobThresholdBytes }, topic.messageEncoding).tableBuilder({
          blobThresholdBytes: s.blobThresholdBytes,
          blobs: sink,
        });
        builders.set(topic.table, builder);
      }
      byChannel.set(topic.channelId, { topic: topic.topic, builder });
    }
    const index = new MessagesBuilder(new Map(plan.channels.map((c) => [c.id, c.topic])));
    const visit = (message: MessageRecord, where: MessageLocation) => {
      index.add(message, where);
      const target = byChannel.get(message.channelId);
      if (target !== undefined) target.builder.append(plan.recordingId, target.topic, message.logTime, message.publishTime, message.data);
    };
    if (decompressed !== undefined) {
      for (const segment of span.segments) {
        const bytes = decompressed.get(segment.offset);
        if (bytes === undefined) throw new Error(`no decompressed chunk at ${segment.offset}`);
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        forEachRecord(bytes, 0, bytes.length, s.maxRecordBytes, (slot) => {
          if (slot.opcode === Opcode.Message)
            visit(parseMessage(view, bytes, slot.contentStart, slot.contentEnd), { chunkOffset: segment.offset, offsetInChunk: slot.offset });
        });
      }
    } else
      readSpan(
        file.subarray(span.start, span.end),
        span,
        { maxRecordBytes: s.maxRecordBytes, maxChunkBytes: s.maxChunkBytes, validateCrc: true },
        {
          channel: (record) => index.learnChannel(record.id, record.topic),
          message: visit,
        },
      );
    if (index.rowCount > 0) add(MESSAGES_TABLE, index.finish(plan.recordingId));
    for (const [name, builder] of builders) if (builder.rowCount > 0) add(name, builder.finish());
  }
  const tables = new Map<string, arrow.Table>();
  for (const [name, list] of [...batches].sort(([a], [b]) => a.localeCompare(b))) tables.set(name, new arrow.Table(list));
  return { tables, blobs: sink.blobs };
}

function arrowBytes(t: arrow.Table): number {
  return t.batches.reduce((n, b) => n + b.data.byteLength, 0);
}

/** `struct<a: int64, b: list<float64>>`, for the report. */
function describeType(type: arrow.DataType): string {
  if (arrow.DataType.isStruct(type)) return `struct<${type.children.map((f) => `${f.name}: ${describeType(f.type)}`).join(', ')}>`;
  if (arrow.DataType.isList(type)) return `list<${describeType(type.children[0]!.type)}>`;
  if (arrow.DataType.isFixedSizeList(type)) return `${describeType(type.children[0]!.type)}[${type.listSize}]`;
  return String(type).toLowerCase();
}

/** The DuckDB column type of an Arrow type (the types the decoders make). */
function duckdbType(type: arrow.DataType): string {
  if (arrow.DataType.isUtf8(type)) return 'VARCHAR';
  if (arrow.DataType.isBinary(type)) return 'BLOB';
  if (arrow.DataType.isBool(type)) return 'BOOLEAN';
  if (arrow.DataType.isInt(type)) {
    const name = { 8: 'TINYINT', 16: 'SMALLINT', 32: 'INTEGER', 64: 'BIGINT' }[type.bitWidth];
    return type.isSigned ? name : `U${name}`;
  }
  if (arrow.DataType.isFloat(type)) return type.precision === arrow.Precision.SINGLE ? 'FLOAT' : 'DOUBLE';
  if (arrow.DataType.isStruct(type)) return `STRUCT(${type.children.map((f) => `${quoteIdent(f.name)} ${duckdbType(f.type)}`).join(', ')})`;
  if (arrow.DataType.isList(type)) return `${duckdbType(type.children[0]!.type)}[]`;
  throw new Error(`no DuckDB mapping for Arrow ${String(type)} in this bench`);
}

const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;
const quoteString = (value: string): string => `'${value.replaceAll("'", "''")}'`;

/** DuckDB validity (uint64 words, LSB first) for rows [start, start + count) of an Arrow column with nulls. */
function validityWords(data: arrow.Data, start: number, count: number): Uint8Array | undefined {
  if (data.nullCount === 0 || data.nullBitmap === undefined || data.nullBitmap.length === 0) return undefined;
  const out = new Uint8Array(Math.ceil(count / 64) * 8);
  const bits = data.nullBitmap;
  const first = data.offset + start;
  if (first % 8 === 0) out.set(bits.subarray(first / 8, first / 8 + Math.ceil(count / 8)));
  else for (let i = 0; i < count; i++) if ((bits[(first + i) >> 3]! >> ((first + i) & 7)) & 1) out[i >> 3] = out[i >> 3]! | (1 << (i & 7));
  return out;
}

/**
 * Writes rows [start, start + count) of an Arrow column into a DuckDB vector at positions
 * [0, count): fixed-width values and validity by one memcpy each, strings one native call per
 * value, structs and lists by recursion (a list's child vector reserved to its element count).
 */
function writeVector(vector: duckdb.Vector, data: arrow.Data, start: number, count: number, top = false): void {
  if (data.offset !== 0) throw new Error('sliced Arrow data is not handled by this bench');
  const validity = validityWords(data, start, count);
  if (validity !== undefined) {
    duckdb.vector_ensure_validity_writable(vector);
    duckdb.copy_data_to_vector_validity(vector, 0, validity.buffer as ArrayBuffer, validity.byteOffset, validity.byteLength);
  }
  const type = data.type;
  if (arrow.DataType.isInt(type) || arrow.DataType.isFloat(type)) {
    const values = data.values as Uint8Array;
    const width = values.BYTES_PER_ELEMENT;
    duckdb.copy_data_to_vector(vector, 0, values.buffer as ArrayBuffer, values.byteOffset + start * width, count * width);
  } else if (arrow.DataType.isBool(type)) {
    const bits = data.values as Uint8Array;
    const bytes = new Uint8Array(count);
    for (let i = 0; i < count; i++) bytes[i] = (bits[(start + i) >> 3]! >> ((start + i) & 7)) & 1;
    duckdb.copy_data_to_vector(vector, 0, bytes.buffer, 0, count);
  } else if (arrow.DataType.isUtf8(type) || arrow.DataType.isBinary(type)) {
    const offsets = data.valueOffsets as Int32Array;
    const values = data.values as Uint8Array;
    if (top && validity === undefined && count > 1 && sameValues(offsets, values, start, count)) {
      // One value in every row (recording_id; topic in most tables): a constant vector, one call.
      const first = values.subarray(offsets[start], offsets[start + 1]);
      duckdb.vector_reference_value(
        vector,
        arrow.DataType.isUtf8(type) ? duckdb.create_varchar(Buffer.from(first).toString('utf8')) : duckdb.create_blob(first),
      );
      return;
    }
    for (let i = 0; i < count; i++) {
      if (validity !== undefined && !data.getValid(start + i)) continue;
      duckdb.vector_assign_string_element_len(vector, i, values.subarray(offsets[start + i], offsets[start + i + 1]));
    }
  } else if (arrow.DataType.isStruct(type)) {
    data.children.forEach((child, k) => writeVector(duckdb.struct_vector_get_child(vector, k), child, start, count));
  } else if (arrow.DataType.isList(type)) {
    const offsets = data.valueOffsets as Int32Array;
    const first = offsets[start]!;
    const elements = offsets[start + count]! - first;
    duckdb.list_vector_reserve(vector, elements);
    duckdb.list_vector_set_size(vector, elements);
    // duckdb_list_entry {uint64 offset, uint64 length}, written as little-endian uint32 pairs (no BigInts).
    const entries = new Uint32Array(count * 4);
    for (let i = 0; i < count; i++) {
      entries[4 * i] = offsets[start + i]! - first;
      entries[4 * i + 2] = offsets[start + i + 1]! - offsets[start + i]!;
    }
    duckdb.copy_data_to_vector(vector, 0, entries.buffer, 0, entries.byteLength);
    writeVector(duckdb.list_vector_get_child(vector), data.children[0]!, first, elements);
  } else {
    throw new Error(`no DuckDB vector writer for Arrow ${String(type)}`);
  }
}

/** Whether rows [start, start + count) of a string/binary column all hold the same bytes. */
function sameValues(offsets: Int32Array, values: Uint8Array, start: number, count: number): boolean {
  const a = offsets[start]!;
  const length = offsets[start + 1]! - a;
  for (let i = 1; i < count; i++) {
    const b = offsets[start + i]!;
    if (offsets[start + i + 1]! - b !== length) return false;
    for (let k = 0; k < length; k++) if (values[a + k] !== values[b + k]) return false;
  }
  return true;
}

/** Creates `name` with the Arrow table's columns and appends every row through data chunks of the vector size. */
async function arrowToDuckdb(connection: DuckDBConnection, name: string, t: arrow.Table): Promise<void> {
  await connection.run(`CREATE OR REPLACE TABLE ${quoteIdent(name)} (${t.schema.fields.map((f) => `${quoteIdent(f.name)} ${duckdbType(f.type)}`).join(', ')})`);
  const appender = await connection.createAppender(name);
  try {
    const types = Array.from({ length: appender.columnCount }, (_, i) => appender.columnType(i));
    const size = duckdb.vector_size();
    for (const batch of t.batches) {
      for (let start = 0; start < batch.numRows; start += size) {
        const count = Math.min(size, batch.numRows - start);
        const chunk = DuckDBDataChunk.create(types);
        batch.data.children.forEach((column, c) => writeVector(duckdb.data_chunk_get_vector(chunk.chunk, c), column, start, count, true));
        chunk.rowCount = count;
        appender.appendDataChunk(chunk);
      }
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

function parquetWasm(t: arrow.Table, compression: Compression, rowGroupRows: number): Uint8Array {
  const wasmTable = WasmTable.fromIPCStream(tableToIpc(t));
  return writeParquet(wasmTable, new WriterPropertiesBuilder().setCompression(compression).setMaxRowGroupSize(rowGroupRows).setCreatedBy('mcapflow').build());
}

async function scalar(connection: DuckDBConnection, sql: string): Promise<unknown> {
  const reader = await connection.runAndReadAll(sql);
  return reader.getRows()[0]?.[0];
}

/** Whether DuckDB reads its own file back as the table it wrote, and as parquet-wasm's file of the same Arrow table. */
async function readBack(connection: DuckDBConnection, name: string, duckPath: string, wasmPath: string, rows: number): Promise<string> {
  const duck = `read_parquet(${quoteString(duckPath)})`;
  const wasm = `read_parquet(${quoteString(wasmPath)})`;
  const problems: string[] = [];
  const describe = async (from: string) =>
    (await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${from}`)).getRows().map((r) => `${String(r[0])} ${String(r[1])}`);
  const [tableTypes, duckTypes, wasmTypes] = [await describe(quoteIdent(name)), await describe(duck), await describe(wasm)];
  const typeDiff = (a: string[], b: string[]) => a.filter((t, i) => t !== b[i]);
  if (typeDiff(tableTypes, duckTypes).length > 0) problems.push(`types differ from the table: ${typeDiff(duckTypes, tableTypes).join(', ')}`);
  if (typeDiff(duckTypes, wasmTypes).length > 0) problems.push(`parquet-wasm's file reads as ${typeDiff(wasmTypes, duckTypes).join(', ')}`);
  const count = Number(await scalar(connection, `SELECT count(*) FROM ${duck}`));
  if (count !== rows) problems.push(`${count} rows, not ${rows}`);
  const except = async (a: string, b: string) => Number(await scalar(connection, `SELECT count(*) FROM (SELECT * FROM ${a} EXCEPT ALL SELECT * FROM ${b})`));
  try {
    const missing = await except(quoteIdent(name), duck);
    const extra = await except(duck, quoteIdent(name));
    if (missing + extra > 0) problems.push(`${missing} rows missing, ${extra} extra against the table`);
    // parquet-wasm's file, cast to the same types, holds the same rows: the Arrow → DuckDB hand-off is faithful.
    const casts = duckTypes.map((t) => {
      const [column, ...type] = t.split(' ');
      return `CAST(${quoteIdent(column!)} AS ${type.join(' ')})`;
    });
    const wasmCast = `(SELECT ${casts.join(', ')} FROM ${wasm})`;
    const wasmMissing = await except(duck, wasmCast);
    const wasmExtra = await except(wasmCast, duck);
    if (wasmMissing + wasmExtra > 0) problems.push(`${wasmMissing + wasmExtra} rows differ from parquet-wasm's file`);
  } catch (error) {
    problems.push(`EXCEPT ALL failed: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}`);
  }
  return problems.length === 0 ? 'identical' : problems.join('; ');
}

/** One table written every way, with DuckDB's read-back checked. */
async function measureTable(connection: DuckDBConnection, dir: string, name: string, t: arrow.Table, rounds: number, parquetRowGroupRows: number) {
  const bytes = arrowBytes(t);
  const ipc = await best(rounds, () => tableToIpc(t));
  let zstdOut: Uint8Array = new Uint8Array();
  let snappyOut: Uint8Array = new Uint8Array();
  const wasmZstd = await best(rounds, () => (zstdOut = encodeParquet(t, { rowGroupRows: parquetRowGroupRows })));
  const wasmSnappy = await best(rounds, () => (snappyOut = parquetWasm(t, Compression.SNAPPY, parquetRowGroupRows)));
  const wasmPath = join(dir, `${name}.wasm.parquet`);
  writeFileSync(wasmPath, zstdOut);
  const handoff = await best(rounds, () => arrowToDuckdb(connection, name, t));
  const duckPath = join(dir, `${name}.duckdb.parquet`);
  const copy = await best(rounds, () =>
    connection.run(`COPY ${quoteIdent(name)} TO ${quoteString(duckPath)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${parquetRowGroupRows})`),
  );
  const duckBytes = statSync(duckPath).size;
  const sortedPath = join(dir, `${name}.sorted.parquet`);
  const copySorted = await best(rounds, () =>
    connection.run(
      `COPY (SELECT * FROM ${quoteIdent(name)} ORDER BY log_time) TO ${quoteString(sortedPath)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${parquetRowGroupRows})`,
    ),
  );
  const check = await readBack(connection, name, duckPath, wasmPath, t.numRows);
  const row = (sample: Sample) => ({
    s: round(sample.s, 4),
    rowsPerS: Math.round(t.numRows / sample.s),
    arrowMBps: mbps(bytes, sample.s),
    cpuS: round(sample.cpuS, 4),
  });
  return {
    table: name,
    rows: t.numRows,
    arrowBytes: bytes,
    ipc: row(ipc),
    parquetWasmZstd: { ...row(wasmZstd), bytes: zstdOut.length },
    parquetWasmSnappy: { ...row(wasmSnappy), bytes: snappyOut.length },
    duckdbHandoff: row(handoff),
    duckdbCopy: { ...row(copy), bytes: duckBytes },
    duckdbTotal: row({ s: handoff.s + copy.s, cpuS: handoff.cpuS + copy.cpuS }),
    duckdbCopySorted: row(copySorted),
    duckdbReadBack: check,
  };
}

async function parquetSection(tables: Map<string, arrow.Table>, rounds: number) {
  const { parquetRowGroupRows } = settings();
  const dir = mkdtempSync(join(tmpdir(), 'mcapflow-hot-path-'));
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const threads = Number(await scalar(connection, "SELECT current_setting('threads')"));
  const rows: Awaited<ReturnType<typeof measureTable>>[] = [];
  try {
    for (const [name, t] of tables) rows.push(await measureTable(connection, dir, name, t, rounds, parquetRowGroupRows));
  } finally {
    connection.closeSync();
    instance.closeSync();
    rmSync(dir, { recursive: true, force: true });
  }
  const total = (pick: (r: (typeof rows)[number]) => { s: number }) => rows.reduce((n, r) => n + pick(r).s, 0);
  const allRows = rows.reduce((n, r) => n + r.rows, 0);
  const allBytes = rows.reduce((n, r) => n + r.arrowBytes, 0);
  table(
    `Parquet writing (best of ${rounds}; zstd; row groups of ${parquetRowGroupRows}; DuckDB threads=${threads}): rows/s and MB/s of Arrow bytes; sizes in bytes`,
    [
      'table',
      'rows',
      'Arrow B',
      'IPC s',
      'wasm zstd s',
      'rows/s',
      'MB/s',
      'CPU s',
      'bytes',
      'wasm snappy s',
      'bytes',
      'duck hand-off s',
      'duck COPY s',
      'duck total rows/s',
      'MB/s',
      'CPU s',
      'bytes',
      'COPY ORDER BY s',
    ],
    [
      ...rows.map((r) => [
        r.table,
        r.rows,
        r.arrowBytes,
        r.ipc.s,
        r.parquetWasmZstd.s,
        r.parquetWasmZstd.rowsPerS,
        r.parquetWasmZstd.arrowMBps,
        r.parquetWasmZstd.cpuS,
        r.parquetWasmZstd.bytes,
        r.parquetWasmSnappy.s,
        r.parquetWasmSnappy.bytes,
        r.duckdbHandoff.s,
        r.duckdbCopy.s,
        r.duckdbTotal.rowsPerS,
        r.duckdbTotal.arrowMBps,
        r.duckdbTotal.cpuS,
        r.duckdbCopy.bytes,
        r.duckdbCopySorted.s,
      ]),
      [
        'all tables',
        allRows,
        allBytes,
        round(
          total((r) => r.ipc),
          4,
        ),
        round(
          total((r) => r.parquetWasmZstd),
          4,
        ),
        Math.round(allRows / total((r) => r.parquetWasmZstd)),
        mbps(
          allBytes,
          total((r) => r.parquetWasmZstd),
        ),
        round(
          rows.reduce((n, r) => n + r.parquetWasmZstd.cpuS, 0),
          4,
        ),
        rows.reduce((n, r) => n + r.parquetWasmZstd.bytes, 0),
        round(
          total((r) => r.parquetWasmSnappy),
          4,
        ),
        rows.reduce((n, r) => n + r.parquetWasmSnappy.bytes, 0),
        round(
          total((r) => r.duckdbHandoff),
          4,
        ),
        round(
          total((r) => r.duckdbCopy),
          4,
        ),
        Math.round(allRows / total((r) => r.duckdbTotal)),
        mbps(
          allBytes,
          total((r) => r.duckdbTotal),
        ),
        round(
          rows.reduce((n, r) => n + r.duckdbTotal.cpuS, 0),
          4,
        ),
        rows.reduce((n, r) => n + r.duckdbCopy.bytes, 0),
        round(
          total((r) => r.duckdbCopySorted),
          4,
        ),
      ],
    ],
  );
  for (const r of rows) note(`  DuckDB read-back of ${r.table}: ${r.duckdbReadBack}`);
  return { threads, tables: rows };
}

/** A column's rows picked from its per-batch Data by (batch, row) pairs, as one Data: the gather a sort needs. */
function take(chunks: arrow.Data[], which: Int32Array, rows: Int32Array): arrow.Data {
  const type = chunks[0]!.type;
  const n = rows.length;
  for (const c of chunks) if (c.offset !== 0) throw new Error('sliced Arrow data is not handled by this bench');
  let nullCount = 0;
  let nullBitmap: Uint8Array | undefined;
  if (chunks.some((c) => c.nullCount > 0)) {
    nullBitmap = new Uint8Array(Math.ceil(n / 8));
    for (let i = 0; i < n; i++) {
      if (chunks[which[i]!]!.getValid(rows[i]!)) nullBitmap[i >> 3] = nullBitmap[i >> 3]! | (1 << (i & 7));
      else nullCount += 1;
    }
  }
  const base = { type, length: n, nullCount, nullBitmap };
  if (arrow.DataType.isInt(type) || arrow.DataType.isFloat(type)) {
    const first = chunks[0]!.values as Float64Array;
    const out = new (first.constructor as Float64ArrayConstructor)(n);
    const sources = chunks.map((c) => c.values as Float64Array);
    for (let i = 0; i < n; i++) out[i] = sources[which[i]!]![rows[i]!]!;
    return arrow.makeData({ ...base, data: out } as never);
  }
  if (arrow.DataType.isBool(type)) {
    const out = new Uint8Array(Math.ceil(n / 8));
    const sources = chunks.map((c) => c.values as Uint8Array);
    for (let i = 0; i < n; i++) if ((sources[which[i]!]![rows[i]! >> 3]! >> (rows[i]! & 7)) & 1) out[i >> 3] = out[i >> 3]! | (1 << (i & 7));
    return arrow.makeData({ ...base, data: out } as never);
  }
  if (arrow.DataType.isUtf8(type) || arrow.DataType.isBinary(type)) {
    const offsets = chunks.map((c) => c.valueOffsets as Int32Array);
    const values = chunks.map((c) => c.values as Uint8Array);
    const valueOffsets = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) valueOffsets[i + 1] = valueOffsets[i]! + offsets[which[i]!]![rows[i]! + 1]! - offsets[which[i]!]![rows[i]!]!;
    const data = new Uint8Array(valueOffsets[n]!);
    for (let i = 0; i < n; i++) {
      const o = offsets[which[i]!]!;
      data.set(values[which[i]!]!.subarray(o[rows[i]!], o[rows[i]! + 1]), valueOffsets[i]);
    }
    return arrow.makeData({ ...base, valueOffsets, data } as never);
  }
  if (arrow.DataType.isStruct(type)) {
    const children = type.children.map((_, k) =>
      take(
        chunks.map((c) => c.children[k]!),
        which,
        rows,
      ),
    );
    return arrow.makeData({ ...base, children } as never);
  }
  if (arrow.DataType.isList(type)) {
    const offsets = chunks.map((c) => c.valueOffsets as Int32Array);
    const valueOffsets = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) valueOffsets[i + 1] = valueOffsets[i]! + offsets[which[i]!]![rows[i]! + 1]! - offsets[which[i]!]![rows[i]!]!;
    const childWhich = new Int32Array(valueOffsets[n]!);
    const childRows = new Int32Array(valueOffsets[n]!);
    for (let i = 0; i < n; i++) {
      const o = offsets[which[i]!]!;
      for (let k = o[rows[i]!]!, at = valueOffsets[i]!; k < o[rows[i]! + 1]!; k++, at++) {
        childWhich[at] = which[i]!;
        childRows[at] = k;
      }
    }
    const child = take(
      chunks.map((c) => c.children[0]!),
      childWhich,
      childRows,
    );
    return arrow.makeData({ ...base, valueOffsets, child } as never);
  }
  throw new Error(`no gather for Arrow ${String(type)}`);
}

/** Sorts a table by log_time in JS (stable): find out-of-order rows, argsort, gather every column into one batch. */
function sortByLogTime(t: arrow.Table): { table: arrow.Table; descents: number; checkS: number; argsortS: number; gatherS: number } {
  const t0 = performance.now();
  const logTime = new BigInt64Array(t.numRows);
  const batchOf = new Int32Array(t.numRows);
  const rowOf = new Int32Array(t.numRows);
  let at = 0;
  t.batches.forEach((batch, b) => {
    logTime.set(batch.getChild('log_time')!.data[0]!.values as BigInt64Array, at);
    for (let r = 0; r < batch.numRows; r++, at++) {
      batchOf[at] = b;
      rowOf[at] = r;
    }
  });
  let descents = 0;
  for (let i = 1; i < logTime.length; i++) if (logTime[i]! < logTime[i - 1]!) descents += 1;
  const t1 = performance.now();
  const order = Array.from({ length: t.numRows }, (_, i) => i).sort((a, b) => (logTime[a]! < logTime[b]! ? -1 : logTime[a]! > logTime[b]! ? 1 : a - b));
  const which = new Int32Array(t.numRows);
  const rows = new Int32Array(t.numRows);
  for (let i = 0; i < order.length; i++) {
    which[i] = batchOf[order[i]!]!;
    rows[i] = rowOf[order[i]!]!;
  }
  const t2 = performance.now();
  const columns = t.schema.fields.map((_, c) =>
    take(
      t.batches.map((batch) => batch.data.children[c]!),
      which,
      rows,
    ),
  );
  const data = arrow.makeData({ type: new arrow.Struct(t.schema.fields), length: t.numRows, nullCount: 0, children: columns });
  const table = new arrow.Table(new arrow.RecordBatch(t.schema, data));
  const t3 = performance.now();
  return { table, descents, checkS: (t1 - t0) / 1000, argsortS: (t2 - t1) / 1000, gatherS: (t3 - t2) / 1000 };
}

async function sortSection(tables: Map<string, arrow.Table>, rounds: number) {
  const rows = [];
  const cases: [string, arrow.Table][] = [];
  for (const [name, t] of tables) {
    cases.push([name, t]);
    // Span parts arriving in reverse order: what a table merged without a barrier can look like.
    if (t.batches.length > 1) cases.push([`${name} (batches reversed)`, new arrow.Table([...t.batches].reverse())]);
  }
  for (const [name, t] of cases) {
    const runs: ReturnType<typeof sortByLogTime>[] = [];
    const sample = await best(rounds, () => runs.push(sortByLogTime(t)));
    const fastest = runs.reduce((a, b) => (b.checkS + b.argsortS + b.gatherS < a.checkS + a.argsortS + a.gatherS ? b : a));
    const times = fastest.table.getChild('log_time')!.toArray() as BigInt64Array;
    let ok = fastest.table.numRows === t.numRows;
    for (let i = 1; i < times.length && ok; i++) ok = times[i]! >= times[i - 1]!;
    rows.push({
      table: name,
      rows: t.numRows,
      descents: fastest.descents,
      s: round(sample.s, 4),
      checkS: round(fastest.checkS, 4),
      argsortS: round(fastest.argsortS, 4),
      gatherS: round(fastest.gatherS, 4),
      rowsPerS: Math.round(t.numRows / sample.s),
      arrowMBps: mbps(arrowBytes(t), sample.s),
      sorted: ok,
    });
  }
  table(
    `sorting each table by log_time in JS (best of ${rounds}; check/argsort/gather of the fastest round): descents = rows whose log_time is below the previous row's`,
    ['table', 'rows', 'descents', 's', 'check s', 'argsort s', 'gather s', 'rows/s', 'MB/s Arrow', 'sorted'],
    rows.map((r) => [r.table, r.rows, r.descents, r.s, r.checkS, r.argsortS, r.gatherS, r.rowsPerS, r.arrowMBps, String(r.sorted)]),
  );
  return rows;
}

function hashSection(blobs: Uint8Array[], rounds: number) {
  const bytes = blobs.reduce((n, b) => n + b.length, 0);
  return best(rounds, () => {
    for (const blob of blobs) createHash('sha256').update(blob).digest();
  }).then((sample) => {
    const row = { blobs: blobs.length, bytes, s: round(sample.s, 3), GBps: round(bytes / GB / sample.s, 2), cpuSPerGb: cpuPerGb(sample.cpuS, bytes) };
    table(
      `node:crypto sha256 over the blob bytes (${row.blobs} image/point-cloud data fields, ${round(bytes / MIB)} MiB, best of ${rounds})`,
      ['what', 's', 'GB/s', 'CPU s/GB'],
      [['sha256', row.s, row.GBps, row.cpuSPerGb]],
    );
    return row;
  });
}

// ---------------------------------------------------------------------------------------------
// 4. S3 GET

const CLOCK_TICKS = 100;

/** utime + stime of a process, seconds (/proc/<pid>/stat fields 14 and 15). */
function processCpuS(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** The child: the embedded S3 server of `home` on a free loopback port, until stdin closes. */
async function s3Child(home: string): Promise<void> {
  const server = await startEmbeddedS3({
    directory: join(home, 's3'),
    port: 0,
    buckets: ['bench'],
    credentials: embeddedS3Credentials(home, { create: false }),
  });
  process.stdout.write(`${JSON.stringify({ endpoint: server.endpoint })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    void server.close().then(() => process.exit(0));
  });
}

async function startS3Child(home: string): Promise<{ child: ChildProcess; endpoint: string }> {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--s3-child', home], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the S3 child exited (${code}) before it listened`)));
  });
  return { child, endpoint: (JSON.parse(line) as { endpoint: string }).endpoint };
}

/** SHA-256 / HMAC in the shape @smithy/signature-v4 wants. */
class SignerHash {
  readonly #hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#hash =
      secret === undefined
        ? createHash('sha256')
        : createHmac('sha256', typeof secret === 'string' ? secret : new Uint8Array(ArrayBuffer.isView(secret) ? secret.buffer : secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.#hash.update(
      typeof data === 'string' ? data : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data),
    );
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.#hash.digest());
  }
}

/** The same ranged GET without the AWS SDK: a SigV4-signed node:http request, pieces consumed as they arrive (the transport's floor). */
async function rawGet(
  endpoint: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
  path: string,
  start: number,
  end: number,
  expected: Uint8Array,
) {
  const url = new URL(endpoint);
  const signer = new SignatureV4({ credentials, region: 'us-east-1', service: 's3', sha256: SignerHash, uriEscapePath: false, applyChecksum: false });
  const signed = await signer.sign({
    method: 'GET',
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path,
    query: {},
    headers: { host: url.host, range: `bytes=${start}-${end - 1}`, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
  });
  return new Promise<{ ok: boolean; pieces: number }>((resolve, reject) => {
    const request = httpGet({ hostname: url.hostname, port: url.port, path, headers: signed.headers }, (response) => {
      let at = 0;
      let pieces = 0;
      let ok = response.statusCode === 206;
      response.on('data', (piece: Buffer) => {
        ok &&= piece.equals(asBuffer(expected.subarray(at, at + piece.length)));
        at += piece.length;
        pieces += 1;
      });
      response.on('end', () => resolve({ ok: ok && at === end - start, pieces }));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

async function s3Section(file: Uint8Array, rounds: number) {
  const home = mkdtempSync(join(tmpdir(), 'mcapflow-hot-path-s3-'));
  const credentials = embeddedS3Credentials(home, { create: true });
  const { child, endpoint } = await startS3Child(home);
  const store = new S3Store({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
  const objectBytes = Math.min(file.length, 64 * MIB);
  const start = Math.min(16 * MIB, objectBytes >> 2);
  const end = Math.min(start + 32 * MIB, objectBytes);
  const expected = file.subarray(start, end);
  const length = end - start;
  try {
    await store.put('bench', 'recording.mcap', file.subarray(0, objectBytes));
    const ways = {
      getRange: async () => {
        const bytes = await store.getRange('bench', 'recording.mcap', start, end, 'span');
        return { ok: Buffer.compare(asBuffer(bytes), asBuffer(expected)) === 0, pieces: 1 };
      },
      stream: async () => {
        const body = await store.stream('bench', 'recording.mcap', 'span', { start, end });
        let at = 0;
        let pieces = 0;
        let ok = true;
        for await (const chunk of body) {
          const piece = chunk as Buffer;
          // Consumed where it lies (compared in place), never copied into one buffer.
          ok &&= piece.equals(asBuffer(expected.subarray(at, at + piece.length)));
          at += piece.length;
          pieces += 1;
        }
        return { ok: ok && at === length, pieces };
      },
      'raw http (no SDK)': () => rawGet(endpoint, credentials, '/bench/recording.mcap', start, end, expected),
    };
    await ways.getRange(); // warm the connection and the server
    const stats = Object.fromEntries(Object.keys(ways).map((k) => [k, { walls: [] as number[], client: 0, clientSys: 0, server: 0, pieces: 0, ok: true }]));
    for (let i = 0; i < rounds; i++) {
      for (const [name, run] of Object.entries(ways)) {
        gc();
        const c0 = cpuNow();
        const sys0 = process.cpuUsage().system;
        const s0 = processCpuS(child.pid!);
        const t0 = performance.now();
        const result = await run();
        const wall = (performance.now() - t0) / 1000;
        const st = stats[name]!;
        st.walls.push(wall);
        st.client += cpuNow() - c0;
        st.clientSys += (process.cpuUsage().system - sys0) / 1e6;
        st.server += processCpuS(child.pid!) - s0;
        st.pieces = result.pieces;
        st.ok &&= result.ok;
      }
    }
    const rows = Object.entries(stats).map(([name, st]) => {
      const moved = st.walls.length * length;
      const wall = Math.min(...st.walls);
      return {
        way: name,
        rounds: st.walls.length,
        bestS: round(wall, 4),
        medianS: round([...st.walls].sort((a, b) => a - b)[st.walls.length >> 1]!, 4),
        MBps: mbps(length, wall),
        clientCpuSPerGb: cpuPerGb(st.client, moved),
        clientSystemCpuSPerGb: cpuPerGb(st.clientSys, moved),
        serverCpuSPerGb: cpuPerGb(st.server, moved),
        pieces: st.pieces,
        identical: st.ok,
      };
    });
    table(
      `S3 GET of ${round(length / MIB)} MiB (bytes ${start}-${end - 1}) from the embedded s3rver in a child process, through S3Store; CPU summed over all rounds`,
      ['way', 'rounds', 'best s', 'median s', 'MB/s', 'client CPU s/GB', 'of which system', 's3rver CPU s/GB', 'pieces', 'identical'],
      rows.map((r) => [
        r.way,
        r.rounds,
        r.bestS,
        r.medianS,
        r.MBps,
        r.clientCpuSPerGb,
        r.clientSystemCpuSPerGb,
        r.serverCpuSPerGb,
        r.pieces,
        String(r.identical),
      ]),
    );
    return { bytes: length, ways: rows };
  } finally {
    store.close();
    child.stdin!.end();
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(home, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: String(256 * MIB) },
      seed: { type: 'string', default: '1' },
      rounds: { type: 'string', default: '3' },
      only: { type: 'string', default: 's3,zstd,walk,parquet' },
      'zstd-dir': { type: 'string', default: process.env.MCAPFLOW_ZSTD_TRY ?? '/tmp/zstd-try' },
      's3-child': { type: 'string' },
    },
  });
  if (values['s3-child'] !== undefined) return s3Child(values['s3-child']);
  const sections = new Set(values.only.split(','));
  const rounds = Number(values.rounds);
  const input = await robotRun(Number(values.size), Number(values.seed));
  const file = readFileSync(input.path);
  const plan = await planFile(input.path, input.bytes);
  const chunks = chunksOf(file, plan);
  const { maxChunkBytes } = settings();
  note(
    `# bench/hot-path.ts: ${input.path} (${input.bytes} bytes, ${input.messages} messages, ${plan.spans.length} spans, ${chunks.length} chunks), node ${process.version}`,
  );
  note(`# candidates from ${values['zstd-dir']}; to install them: ${ZSTD_INSTALL}`);
  const result: Record<string, unknown> = {
    file: input.path,
    bytes: input.bytes,
    messages: input.messages,
    spans: plan.spans.length,
    chunks: chunks.length,
    rounds,
  };

  // First, while the heap is small, like a worker's between spans.
  if (sections.has('s3')) result.s3 = await s3Section(file, Math.max(rounds, 8));
  let decompressed: Uint8Array[] = [];
  if (sections.has('zstd')) {
    const { decompressed: outputs, ...zstdResult } = await zstdSection(chunks, rounds, values['zstd-dir'], maxChunkBytes);
    result.zstd = zstdResult;
    decompressed = outputs;
  } else if (sections.has('walk') || sections.has('parquet')) {
    await loadDecompressors();
    decompressed = chunks.map((c) => decompressChunk(c.compression, c.compressed, BigInt(c.uncompressedSize), maxChunkBytes));
  }
  if (sections.has('walk')) {
    const fastest = (await decompressors(values['zstd-dir'], maxChunkBytes)).list.find((d) => d.name === 'zstd-napi DCtx+hint');
    result.walk = await walkSection(input, file, plan, decompressed, rounds, fastest);
  }
  if (sections.has('parquet')) {
    let built: ReturnType<typeof buildTables> | undefined;
    const build = await best(rounds, () => (built = buildTables(file, plan)));
    const { tables, blobs } = built!;
    for (const [name, t] of tables)
      note(
        `${name}: ${t.numRows} rows, ${arrowBytes(t)} B, ${t.batches.length} batches; ${t.schema.fields.map((f) => `${f.name}: ${describeType(f.type)}`).join('; ')}`,
      );
    note(`${blobs.length} blobs, ${blobs.reduce((n, b) => n + b.length, 0)} B`);
    result.sha256 = await hashSection(blobs, rounds);
    const byOffset = decompressed.length === chunks.length ? new Map(chunks.map((c, i) => [c.offset, decompressed[i]!])) : undefined;
    const decode = byOffset === undefined ? undefined : await best(rounds, () => buildTables(file, plan, byOffset));
    const copy = await best(rounds, () => {
      // The floor's blob packs: each blob copied, packs of 64 MiB concatenated (not written to disk here).
      let pack: Uint8Array[] = [];
      let bytes = 0;
      for (const blob of blobs) {
        if (bytes + blob.length > 64 * MIB && bytes > 0) {
          Buffer.concat(pack, bytes);
          pack = [];
          bytes = 0;
        }
        pack.push(blob.slice());
        bytes += blob.length;
      }
      Buffer.concat(pack, bytes);
    });
    const blobBytes = blobs.reduce((n, b) => n + b.length, 0);
    const rowOf = (sample: Sample, of: number) => ({
      s: round(sample.s, 3),
      fileMBps: mbps(input.bytes, sample.s),
      cpuSPerGbFile: cpuPerGb(sample.cpuS, input.bytes),
      MBps: mbps(of, sample.s),
    });
    const builds = {
      buildTables: rowOf(build, input.bytes),
      ...(decode === undefined ? {} : { decodeOnly: rowOf(decode, input.bytes) }),
      blobPackCopy: rowOf(copy, blobBytes),
    };
    table(
      `building the floor's Arrow tables (best of ${rounds}); MB/s of file, and of blob bytes for the copy`,
      ['what', 's', 'MB/s of file', 'CPU s/GB file', 'MB/s of its input'],
      [
        [
          'buildTables: readSpan (wasm zstd, CRC) + messages builder + decoders + sha256 per blob',
          builds.buildTables.s,
          builds.buildTables.fileMBps,
          builds.buildTables.cpuSPerGbFile,
          '',
        ],
        ...(builds.decodeOnly === undefined
          ? []
          : [
              [
                'decode only: same builders fed from decompressed chunks, no sha256',
                builds.decodeOnly.s,
                builds.decodeOnly.fileMBps,
                builds.decodeOnly.cpuSPerGbFile,
                '',
              ],
            ]),
        [
          'blob copy into 64 MiB packs (slice + concat, no disk)',
          builds.blobPackCopy.s,
          builds.blobPackCopy.fileMBps,
          builds.blobPackCopy.cpuSPerGbFile,
          builds.blobPackCopy.MBps,
        ],
      ],
    );
    result.buildTables = builds;
    result.parquet = await parquetSection(tables, Math.max(rounds, 5));
    result.sort = await sortSection(tables, Math.max(rounds, 5));
  }
  process.stderr.write('\n');
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();

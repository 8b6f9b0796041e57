/**
 * Blobs in place vs in packs (MCAPFLOW_BLOB_STORAGE), on the same recording through the real
 * pipeline (bench/pipeline.ts, one worker process): what each stores in the derived bucket,
 * what the worker spends to process the recording, and what reading one image back costs.
 *
 *   npx tsx bench/blobs.ts --file PATH [--rounds N] [--images N]
 *
 * Read-back: after each run, `--images` camera images spread evenly over the recording's
 * `sensor_msgs_msg_CompressedImage` table are read one after another through the bench
 * process's ObjectStore (bench/blob-reader.ts: packs, one exact ranged GET; in place, the
 * chunk's GET, its decompression and the slice), each checked against its sha256.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { statSync } from 'node:fs';
import * as arrow from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { readManifest } from '../src/operators/commit-op.ts';
import { loadDecompressors } from '../src/mcap/decompress.ts';
import type { Services } from '../src/runtime/services.ts';
import { blobReference, readBlob, type BlobReference } from './blob-reader.ts';
import { runPipeline, type PipelineRunResult } from './pipeline.ts';

export const BLOB_MODES = ['in-place', 'packs'] as const;
export type BlobMode = (typeof BLOB_MODES)[number];
const IMAGE_TABLE = 'sensor_msgs_msg_CompressedImage';

export interface ReadBack {
  images: number;
  /** Per image: wall ms (median, mean, max), of which in the GET and in decompression (means). */
  medianMs: number;
  meanMs: number;
  maxMs: number;
  meanGetMs: number;
  meanDecompressMs: number;
  /** Bytes fetched per image (mean) against the image's own bytes (mean). */
  fetchedBytesPerImage: number;
  imageBytes: number;
}

export interface Inspected {
  /** Derived bucket after the commit, bytes by kind (objects/<kind>/, manifests/, …). */
  stored: Record<string, number>;
  storedTotal: number;
  readBack: ReadBack;
}

export interface BlobModeResult {
  mode: BlobMode;
  runs: { seconds: number; workerCpuS: number; s3rverHostCpuS: number; writtenMB: number; peakRssMiB: number }[];
  /** Best run (least worker CPU). */
  best: { seconds: number; workerCpuS: number; s3rverHostCpuS: number; writtenMB: number; mbPerS: number };
  stored: Record<string, number>;
  storedTotal: number;
  /** Read-back of the run with the fastest median. */
  readBack: ReadBack;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const r3 = (x: number) => Math.round(x * 1000) / 1000;

async function storedByKind(services: Services): Promise<{ stored: Record<string, number>; total: number }> {
  const stored: Record<string, number> = {};
  let total = 0;
  for await (const o of services.store.list(services.config.derivedBucket, '')) {
    const parts = o.key.split('/');
    const kind = parts[0] === 'objects' ? `objects/${parts[1]}` : (parts[0] ?? '');
    stored[kind] = (stored[kind] ?? 0) + o.size;
    total += o.size;
  }
  return { stored, total };
}

async function readImagesBack(services: Services, recordingId: string, images: number): Promise<ReadBack> {
  const { store, config, work } = services;
  const manifest = await readManifest(store, config.derivedBucket, recordingId);
  if (manifest === undefined) throw new Error(`${recordingId}: no manifest`);
  const table = manifest.tables[IMAGE_TABLE];
  if (table === undefined) throw new Error(`${recordingId}: no ${IMAGE_TABLE} table`);
  const plan = await work.loadPlan(manifest.plan_key);
  await loadDecompressors();
  const refs: BlobReference[] = [];
  for (const object of table.objects) {
    const body = await store.get(config.derivedBucket, object.key, 'derived');
    if (body === undefined) throw new Error(`missing ${object.key}`);
    const rows = arrow.tableFromIPC(readParquet(body).intoIPCStream());
    const data = rows.getChild('data');
    if (data === null) throw new Error(`${IMAGE_TABLE} has no data column`);
    for (let i = 0; i < rows.numRows; i++) {
      const ref = blobReference(data.get(i) as never);
      if (ref !== undefined) refs.push(ref);
    }
  }
  if (refs.length === 0) throw new Error(`${IMAGE_TABLE}: no blob references (every image inline?)`);
  const picked = Array.from({ length: Math.min(images, refs.length) }, (_, i) => refs[Math.floor((i * refs.length) / Math.min(images, refs.length))]!);
  // One read first so that neither mode pays the JIT's or the connection's warm-up.
  await readBlob(store, picked[0]!, plan, config.maxChunkBytes);
  const wall: number[] = [];
  const gets: number[] = [];
  const decompressions: number[] = [];
  const fetched: number[] = [];
  for (const ref of picked) {
    const started = performance.now();
    const read = await readBlob(store, ref, plan, config.maxChunkBytes);
    wall.push(performance.now() - started);
    gets.push(read.getMs);
    decompressions.push(read.decompressMs);
    fetched.push(read.fetched);
  }
  return {
    images: picked.length,
    medianMs: r3(median(wall)),
    meanMs: r3(mean(wall)),
    maxMs: r3(Math.max(...wall)),
    meanGetMs: r3(mean(gets)),
    meanDecompressMs: r3(mean(decompressions)),
    fetchedBytesPerImage: Math.round(mean(fetched)),
    imageBytes: Math.round(mean(picked.map((r) => r.length))),
  };
}

export async function measureBlobs(options: {
  file: { path: string; bytes: number; messages: number };
  rounds: number;
  images: number;
  log?: (line: string) => void;
}): Promise<Record<BlobMode, BlobModeResult>> {
  const log = options.log ?? (() => {});
  const results = new Map<BlobMode, PipelineRunResult<Inspected>[]>(BLOB_MODES.map((m) => [m, []]));
  for (let round = 0; round < options.rounds; round++) {
    const order = round % 2 === 0 ? BLOB_MODES : [...BLOB_MODES].reverse();
    for (const mode of order) {
      const r = await runPipeline<Inspected>({
        files: [options.file],
        workers: 1,
        settings: { MCAPFLOW_BLOB_STORAGE: mode },
        inspect: async (services, ids) => {
          const { stored, total } = await storedByKind(services);
          return { stored, storedTotal: total, readBack: await readImagesBack(services, ids[0]!, options.images) };
        },
      });
      results.get(mode)!.push(r);
      const i = r.inspected!;
      log(
        `  blobs ${mode}: ${r.seconds.toFixed(2)} s, worker ${r.cpuS.workers[0]} CPU-s, s3rver host ${r.cpuS.s3rverHost} CPU-s, derived ${(i.storedTotal / 1e6).toFixed(1)} MB; ` +
          `one image ${i.readBack.medianMs} ms median (${i.readBack.fetchedBytesPerImage} bytes fetched for ${i.readBack.imageBytes})`,
      );
    }
  }
  const out = {} as Record<BlobMode, BlobModeResult>;
  for (const [mode, runs] of results) {
    const cpu = (r: PipelineRunResult<Inspected>) => r.cpuS.workers.reduce((a, b) => a + b, 0);
    const best = runs.reduce((a, b) => (cpu(b) < cpu(a) ? b : a));
    const fastestRead = runs.reduce((a, b) => (b.inspected!.readBack.medianMs < a.inspected!.readBack.medianMs ? b : a));
    out[mode] = {
      mode,
      runs: runs.map((r) => ({
        seconds: r.seconds,
        workerCpuS: cpu(r),
        s3rverHostCpuS: r.cpuS.s3rverHost,
        writtenMB: r.storage?.writtenMB ?? 0,
        peakRssMiB: Math.max(...r.workerPeakRssMiB),
      })),
      best: {
        seconds: best.seconds,
        workerCpuS: cpu(best),
        s3rverHostCpuS: best.cpuS.s3rverHost,
        writtenMB: best.storage?.writtenMB ?? 0,
        mbPerS: Math.round(Math.max(...runs.map((r) => r.mbPerS)) * 10) / 10,
      },
      stored: best.inspected!.stored,
      storedTotal: best.inspected!.storedTotal,
      readBack: fastestRead.inspected!.readBack,
    };
  }
  return out;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { file: { type: 'string' }, rounds: { type: 'string', default: '1' }, images: { type: 'string', default: '50' } } });
  if (values.file === undefined) throw new Error('--file is required');
  const result = await measureBlobs({
    file: { path: values.file, bytes: statSync(values.file).size, messages: 0 },
    rounds: Number(values.rounds),
    images: Number(values.images),
    log: (line) => process.stderr.write(`[blobs] ${line}\n`),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

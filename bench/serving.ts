/**
 * Serving (issue 12): what a question costs once recordings are committed.
 *
 *   npx tsx bench/serving.ts [--recordings 50] [--size BYTES] [--long-size BYTES] [--queries 20]
 *
 * In a fresh S3 home and Redis prefix, with the pipeline in this process (dispatcher and worker,
 * as the tests run it) and the admin API on loopback, `--recordings` synthetic robot runs (seeds
 * 1…N, cached like bench/inputs.ts) are committed one after another. Then, on that catalog:
 * - *pruned window*: one minute of one recording on the IMU table, against the same statement
 *   with pruning defeated (`recording_id || ''`, `log_time + 0`): rows must be equal; the figure
 *   is the bytes of the objects the pruned one copied over the table's bytes (each from an empty
 *   cache);
 * - *HTTP GROUP BY*: `POST /v1/query` of a GROUP BY over every `messages` row, after two
 *   warm-ups, p50 and p90 of `--queries` runs (end to end over HTTP, objects already cached);
 * - *extraction*: the IMU topic of that recording in a 2 s window, bytes read over the
 *   recording's bytes (src/catalog/extraction.ts accounts them), next to the window's share of
 *   the recording's duration; and one minute of it from a long run (`--long-size`, 1.5 GiB:
 *   about 20 minutes), the goal's case;
 * - *similarity*: `similarWindows` for a moment of that recording: the first call (which builds
 *   and stores the persisted index from the window table), then p50 of 20 warm calls (the index
 *   in memory, the catalog listed again), and the number of windows searched.
 * Prints one JSON line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { extractMcap, planExtraction } from '../src/catalog/extraction.ts';
import { queryCatalog, type CatalogLocation } from '../src/catalog/query-session.ts';
import { similarWindows } from '../src/catalog/similarity.ts';
import { startAdmin, type AdminHarness } from '../test/helpers/admin-harness.ts';
import { robotRun } from './inputs.ts';
import { median, percentile, timed } from './stats.ts';

const SECOND_NS = 1_000_000_000n;
/** About 20 minutes of robot time. */
export const LONG_RUN_BYTES = 1536 * 1024 * 1024;

export interface ExtractionFigures {
  windowS: number;
  recordingDurationS: number;
  windowShare: number;
  bytesRead: number;
  recordingBytes: number;
  readFraction: number;
  messages: number;
}

export interface ServingResult {
  recordings: number;
  recordingBytes: number;
  commitS: number;
  prunedWindow: {
    table: string;
    rows: number;
    sameRows: boolean;
    objects: number;
    totalObjects: number;
    bytes: number;
    totalBytes: number;
    readFraction: number;
    prunedMs: number;
    fullMs: number;
  };
  httpGroupBy: { rows: number; p50Ms: number; p90Ms: number; queries: number };
  extraction: ExtractionFigures;
  /** One minute of the IMU topic from the long run. */
  minuteExtraction: ExtractionFigures;
  similarity: { windows: number; firstMs: number; p50Ms: number };
}

export async function measureServing(options: {
  recordings: number;
  sizeBytes: number;
  /** Size of the long run one minute is extracted from (1.5 GiB: about 20 minutes of robot time). */
  longRunBytes: number;
  queries: number;
  log?: (line: string) => void;
}): Promise<ServingResult> {
  const log = options.log ?? (() => {});
  const admin: AdminHarness = await startAdmin('bench-serving');
  const scratch = mkdtempSync(join(admin.harness.home, 'bench-'));
  try {
    const { harness } = admin;
    const location = (home: string): CatalogLocation => ({ store: harness.services.store, derivedBucket: harness.config.derivedBucket, home });
    const started = performance.now();
    let recordingBytes = 0;
    for (let seed = 1; seed <= options.recordings; seed++) {
      const input = await robotRun(options.sizeBytes, seed);
      const summary = await harness.process(input.path, 600_000);
      if (summary.status !== 'committed') throw new Error(`seed ${seed}: ${summary.status} (${summary.reason ?? ''})`);
      recordingBytes += input.bytes;
    }
    const commitS = (performance.now() - started) / 1000;
    log(`serving: ${options.recordings} recordings (${(recordingBytes / 1e6).toFixed(0)} MB) committed in ${commitS.toFixed(1)} s`);

    const catalog = location(harness.home);
    const imuTable = String((await queryCatalog(catalog, `SELECT DISTINCT table_name FROM topics WHERE schema ILIKE '%imu%'`)).rows[0]![0]);
    const imuTopic = String((await queryCatalog(catalog, `SELECT DISTINCT topic FROM topics WHERE table_name = '${imuTable}'`)).rows[0]![0]);
    const recordings = (await queryCatalog(catalog, `SELECT recording_id, start_time, end_time FROM recordings ORDER BY recording_id`)).rows;
    const [targetId, startTime, endTime] = recordings[Math.floor(recordings.length / 2)]!;
    const start = BigInt(startTime as number | string);
    const from = start + 2n * SECOND_NS;
    const to = from + 60n * SECOND_NS;

    // Each from an empty cache: what the statement copies is what it costs.
    const windowSql = (id: string, time: string) =>
      `SELECT count(*), sum(hash(log_time)), min(log_time), max(log_time) FROM "${imuTable}" WHERE ${id} = '${String(targetId)}' AND ${time} >= ${from} AND ${time} < ${to}`;
    const pruned = await timed(() => queryCatalog(location(mkdtempSync(join(scratch, 'q-'))), windowSql('recording_id', 'log_time')));
    const full = await timed(() => queryCatalog(location(mkdtempSync(join(scratch, 'q-'))), windowSql(`recording_id || ''`, '(log_time + 0)')));
    const read = pruned.value.reads[0]!;
    const prunedWindow = {
      table: imuTable,
      rows: Number(pruned.value.rows[0]![0]),
      sameRows: JSON.stringify(pruned.value.rows) === JSON.stringify(full.value.rows),
      objects: read.objects,
      totalObjects: read.totalObjects,
      bytes: read.bytes,
      totalBytes: read.totalBytes,
      readFraction: read.bytes / read.totalBytes,
      prunedMs: pruned.ms,
      fullMs: full.ms,
    };
    log(
      `  pruned window: ${prunedWindow.rows} rows, ${read.objects}/${read.totalObjects} objects, ${(prunedWindow.readFraction * 100).toFixed(2)}% of ${imuTable}'s bytes, same rows: ${prunedWindow.sameRows}`,
    );

    const groupBy = `SELECT topic, count(*), avg(size) FROM messages GROUP BY topic`;
    const totalRows = Number((await queryCatalog(catalog, `SELECT count(*) FROM messages`)).rows[0]![0]);
    const times: number[] = [];
    for (let q = 0; q < options.queries + 2; q++) {
      const { value, ms } = await timed(() => admin.call('POST', '/v1/query', { body: { sql: groupBy } }));
      if (value.status !== 200) throw new Error(`POST /v1/query answered ${value.status}: ${JSON.stringify(value.body)}`);
      if (q >= 2) times.push(ms);
    }
    const httpGroupBy = { rows: totalRows, p50Ms: median(times), p90Ms: percentile(times, 0.9), queries: times.length };
    log(`  POST /v1/query GROUP BY over ${totalRows} rows: p50 ${httpGroupBy.p50Ms.toFixed(1)} ms, p90 ${httpGroupBy.p90Ms.toFixed(1)} ms`);

    const source = {
      store: harness.services.store,
      derivedBucket: harness.config.derivedBucket,
      cacheDir: join(mkdtempSync(join(scratch, 'x-')), 'cache'),
      maxRecordBytes: harness.config.maxRecordBytes,
      maxChunkBytes: harness.config.maxChunkBytes,
    };
    // Chunks interleave every topic, so what extraction reads is about the window's share of the run.
    const windowS = 2;
    const plan = await planExtraction(source, { recordingId: String(targetId), topics: [imuTopic], start: from, end: from + BigInt(windowS) * SECOND_NS });
    const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
    const report = await extractMcap(plan, sink);
    const recordingDurationS = Number(BigInt(endTime as number | string) - start) / 1e9;
    const extraction = {
      windowS,
      recordingDurationS,
      windowShare: windowS / recordingDurationS,
      bytesRead: report.bytes_read,
      recordingBytes: report.recording_bytes,
      readFraction: report.bytes_read / report.recording_bytes,
      messages: report.messages,
    };
    log(`  extract ${windowS} s of ${imuTopic}: ${report.bytes_read} of ${report.recording_bytes} bytes (${(extraction.readFraction * 100).toFixed(1)}%)`);

    // One minute of one topic from a long run (the goal's case): what it reads does not grow with the run.
    const long = await robotRun(options.longRunBytes, 1001);
    const longSummary = await harness.process(long.path, 1_800_000);
    if (longSummary.status !== 'committed') throw new Error(`long run: ${longSummary.status} (${longSummary.reason ?? ''})`);
    const [longRow] = (await queryCatalog(catalog, `SELECT start_time, end_time FROM recordings WHERE recording_id = '${longSummary.recording_id}'`)).rows;
    const longStart = BigInt(longRow![0] as number | string);
    const longEnd = BigInt(longRow![1] as number | string);
    const minuteFrom = longStart + 300n * SECOND_NS;
    const longPlan = await planExtraction(source, {
      recordingId: longSummary.recording_id,
      topics: [imuTopic],
      start: minuteFrom,
      end: minuteFrom + 60n * SECOND_NS,
    });
    const longReport = await extractMcap(longPlan, new Writable({ write: (_chunk, _encoding, done) => done() }));
    const longDurationS = Number(longEnd - longStart) / 1e9;
    const minuteExtraction = {
      windowS: 60,
      recordingDurationS: longDurationS,
      windowShare: 60 / longDurationS,
      bytesRead: longReport.bytes_read,
      recordingBytes: longReport.recording_bytes,
      readFraction: longReport.bytes_read / longReport.recording_bytes,
      messages: longReport.messages,
    };
    log(
      `  extract 60 s of ${imuTopic} from a ${longDurationS.toFixed(0)} s run: ${longReport.bytes_read} of ${longReport.recording_bytes} bytes (${(minuteExtraction.readFraction * 100).toFixed(2)}%)`,
    );

    const first = await timed(() => similarWindows(catalog, { recordingId: String(targetId), at: start + SECOND_NS, k: 10 }));
    const searches: number[] = [];
    for (let s = 0; s < 20; s++)
      searches.push((await timed(() => similarWindows(catalog, { recordingId: String(targetId), at: start + SECOND_NS, k: 10 }))).ms);
    const similarity = { windows: first.value.windows, firstMs: first.ms, p50Ms: median(searches) };
    log(`  similarity over ${similarity.windows} windows: first call (builds the index) ${first.ms.toFixed(0)} ms, warm p50 ${similarity.p50Ms.toFixed(1)} ms`);
    return { recordings: options.recordings, recordingBytes, commitS, prunedWindow, httpGroupBy, extraction, minuteExtraction, similarity };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    await admin.close();
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({
    options: {
      recordings: { type: 'string', default: '50' },
      size: { type: 'string', default: String(36 * 1024 * 1024) },
      'long-size': { type: 'string', default: String(LONG_RUN_BYTES) },
      queries: { type: 'string', default: '20' },
    },
  });
  const result = await measureServing({
    recordings: Number(values.recordings),
    sizeBytes: Number(values.size),
    longRunBytes: Number(values['long-size']),
    queries: Number(values.queries),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

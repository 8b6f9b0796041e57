import { createWriteStream, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import bytes from 'bytes';
import type { Command } from 'commander';
import {
  extractMcap,
  extractParquet,
  parseFormat,
  parseTimeArgument,
  planExtraction,
  type ExtractionPlan,
  type ExtractionReport,
  type ParquetFile,
} from '../../catalog/extraction.ts';
import { loadConfig, type Config } from '../../config/config.ts';
import { InvalidInputError } from '../../errors.ts';
import { prepareEnvironment } from '../../runtime/environment.ts';
import { createStore } from '../../runtime/services.ts';

interface ExtractOptions {
  topic: string[];
  start?: string;
  end?: string;
  output: string;
  format?: string;
  json?: boolean;
}

/** Written next to the target and renamed into place, so a failed run never leaves a file that looks complete. */
async function writeMcapFile(x: ExtractionPlan, path: string): Promise<ExtractionReport> {
  const partial = `${path}.${process.pid}.partial`;
  try {
    const report = await extractMcap(x, createWriteStream(partial));
    renameSync(partial, path);
    return report;
  } finally {
    rmSync(partial, { force: true });
  }
}

/** One table: `-o` is the file (or, an existing directory, gets `<table>.parquet`). Several: `-o` is a directory of `<table>.parquet`. */
function parquetPaths(files: ParquetFile[], output: string): string[] {
  const isDirectory = statSync(output, { throwIfNoEntry: false })?.isDirectory() ?? false;
  if (files.length === 1 && !isDirectory && !output.endsWith('/')) return [output];
  if (!isDirectory && statSync(output, { throwIfNoEntry: false }) !== undefined)
    throw new InvalidInputError('BAD_ARGUMENT', `the topics decode to ${files.length} tables, so -o must be a directory, but ${output} is a file`);
  mkdirSync(output, { recursive: true });
  return files.map((f) => join(output, `${f.table}.parquet`));
}

function writeParquetFiles(files: ParquetFile[], output: string): string[] {
  const paths = parquetPaths(files, output);
  files.forEach((file, i) => {
    const path = paths[i]!;
    const partial = `${path}.${process.pid}.partial`;
    writeFileSync(partial, file.bytes);
    renameSync(partial, path);
  });
  return paths;
}

function describe(report: ExtractionReport, outputs: string[]): string {
  const share =
    report.recording_bytes > 0
      ? ` (${((100 * report.bytes_read) / report.recording_bytes).toFixed(2)}% of the recording's ${bytes.format(report.recording_bytes)})`
      : '';
  const lines = [
    `extracted ${report.messages} messages of ${report.topics.length} channel(s) from recording ${report.recording_id} into ${outputs.join(', ')} (${bytes.format(report.bytes_written)})`,
    `read ${bytes.format(report.bytes_read)}${share} in ${report.requests} requests: ${report.chunks_read} of ${report.chunks_total} chunks (${bytes.format(report.chunk_bytes)}, chosen by ${report.selected_by === 'chunk-index' ? 'the chunk index' : 'chunk time ranges: this recording has no chunk index'}), ${bytes.format(report.gap_bytes)} of message indexes between them, ${bytes.format(report.metadata_bytes)} of manifest/plan/chunk index`,
  ];
  if (report.messages === 0) lines.push('warning: no message of those topics lies in that time window; the output holds their channels and schemas only');
  for (const t of report.skipped_topics) lines.push(`warning: skipped ${t.topic}: ${t.reason}`);
  for (const t of report.topics.filter((t) => t.decode_errors > 0))
    lines.push(`warning: ${t.decode_errors} message(s) of ${t.topic} could not be decoded and are not in the rows`);
  for (const d of report.damaged) lines.push(`warning: ${d}`);
  return `${lines.join('\n')}\n`;
}

async function run(config: Config, recordingId: string, options: ExtractOptions): Promise<void> {
  const format = parseFormat(options.format);
  const start = options.start === undefined ? undefined : parseTimeArgument('--start', options.start);
  const end = options.end === undefined ? undefined : parseTimeArgument('--end', options.end);
  mkdirSync(dirname(options.output), { recursive: true });
  const env = await prepareEnvironment(config, { redis: false });
  const store = createStore(config, env.endpoints);
  try {
    const source = {
      store,
      derivedBucket: config.derivedBucket,
      cacheDir: join(config.home, 'cache'),
      maxRecordBytes: config.maxRecordBytes,
      maxChunkBytes: config.maxChunkBytes,
    };
    const x = await planExtraction(source, { recordingId, topics: options.topic, start, end, format });
    let report: ExtractionReport;
    let outputs: string[];
    if (format === 'mcap') {
      report = await writeMcapFile(x, options.output);
      outputs = [options.output];
    } else {
      const result = await extractParquet(x, { rowGroupRows: config.parquetRowGroupRows });
      report = result.report;
      outputs = writeParquetFiles(result.files, options.output);
    }
    if (options.json) process.stdout.write(`${JSON.stringify({ ...report, outputs })}\n`);
    process.stderr.write(describe(report, outputs));
  } finally {
    store.close();
    await env.stop();
  }
}

export function registerExtract(program: Command): void {
  program
    .command('extract')
    .description(
      'Write the messages of some topics of a committed recording, in a time window, to a new indexed MCAP (zstd chunks, message and chunk indexes, statistics) — or, with --format parquet, their decoded schema-table rows. Reads from S3 only the chunks the chunk index says hold those topics in that window, and reports what it read.',
    )
    .argument('<recording>', 'recording id (32 hex)')
    .option('--topic <topic>', 'a topic to extract (repeat for more; none: every topic)', (value: string, previous: string[]) => [...previous, value], [])
    .option('--start <time>', 'first log time included: nanoseconds or ISO 8601 (e.g. 2026-01-15T09:00:05Z)')
    .option('--end <time>', 'log time where the window ends, excluded: nanoseconds or ISO 8601')
    .requiredOption('-o, --output <path>', 'output file (parquet over several tables: a directory of <table>.parquet)')
    .option('--format <format>', 'mcap or parquet', 'mcap')
    .option('--json', 'print what was extracted and read as JSON on stdout')
    .addHelpText('after', '\nExample:\n  mcapflow extract 0123abcd… --topic /imu --start 2026-01-15T09:00:05Z --end 2026-01-15T09:01:05Z -o imu.mcap')
    .action(async (recordingId: string, options: ExtractOptions) => run(loadConfig(), recordingId, options));
}

import type { Command } from 'commander';
import { similarWindows } from '../../catalog/similarity.ts';
import { loadConfig } from '../../config/config.ts';
import { isRecordingId } from '../../domain/identity.ts';
import { InvalidInputError } from '../../errors.ts';
import { prepareEnvironment } from '../../runtime/environment.ts';
import { createStore } from '../../runtime/services.ts';
import { printTable } from '../output.ts';
import { parseTime } from './cat.ts';

/** "1s", "500ms", "2.5s" or nanoseconds → nanoseconds. */
export function parseWindow(text: string): bigint {
  const match = /^(\d+(?:\.\d+)?)(ns|us|ms|s|m)?$/.exec(text);
  const scale = { ns: 1, us: 1e3, ms: 1e6, s: 1e9, m: 60e9 }[match?.[2] ?? 'ns'];
  const ns = match ? Math.round(Number(match[1]) * scale!) : Number.NaN;
  if (!(ns >= 1_000_000)) throw new InvalidInputError('BAD_ARGUMENT', `--window ${JSON.stringify(text)} must be a duration of at least 1ms, e.g. 1s or 500ms`);
  return BigInt(ns);
}

export function registerSimilar(program: Command): void {
  program
    .command('similar')
    .description(
      'Similarity search: the time windows (across every committed recording) most like one window of a recording, comparing per-window mean and spread of every numeric field of a schema table, through an HNSW index.',
    )
    .argument('<recording>', 'recording id (32 hex)')
    .requiredOption('--at <time>', 'a time inside the window to match: nanoseconds or ISO 8601')
    .option('--table <table>', 'schema table to compare', 'sensor_msgs_msg_Imu')
    .option('--window <duration>', 'window length, e.g. 1s or 500ms', '1s')
    .option('-k, --k <n>', 'how many similar windows', '5')
    .option('--json', 'print JSON')
    .action(async (recordingId: string, options: { at: string; table: string; window: string; k: string; json?: boolean }) => {
      if (!isRecordingId(recordingId)) throw new InvalidInputError('BAD_ARGUMENT', `${JSON.stringify(recordingId)} is not a recording id (32 hex characters)`);
      const k = Number(options.k);
      if (!Number.isInteger(k) || k < 1 || k > 1000) throw new InvalidInputError('BAD_ARGUMENT', '--k must be an integer from 1 to 1000');
      const config = loadConfig();
      const env = await prepareEnvironment(config, { redis: false });
      const store = createStore(config, env.endpoints);
      try {
        const result = await similarWindows(
          { store, derivedBucket: config.derivedBucket, home: config.home },
          { recordingId, table: options.table, at: parseTime(options.at), windowNs: parseWindow(options.window), k },
        );
        if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
        else {
          process.stdout.write(
            `windows like ${result.query.recording_id} @ ${result.query.window_start} (${result.windows} windows of ${options.window} in ${options.table} searched):\n`,
          );
          printTable(
            ['recording', 'window start (ns)', 'distance'],
            result.neighbours.map((n) => [n.recording_id, n.window_start, n.distance]),
          );
        }
      } finally {
        store.close();
        await env.stop();
      }
    });
}

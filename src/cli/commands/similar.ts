import type { Command } from 'commander';
import { catalogLocation } from '../../catalog/query-session.ts';
import { DEFAULT_WINDOW_TABLE, similarWindows } from '../../catalog/similarity.ts';
import { loadConfig } from '../../config/config.ts';
import { isRecordingId } from '../../domain/identity.ts';
import { InvalidInputError } from '../../errors.ts';
import { prepareEnvironment } from '../../runtime/environment.ts';
import { createStore } from '../../runtime/services.ts';
import { printTable } from '../output.ts';
import { parseTime } from './cat.ts';

export function registerSimilar(program: Command): void {
  program
    .command('similar')
    .description(
      `Similarity search: the time windows (across every committed recording) most like the window of a recording containing a time, comparing the per-window feature vectors of a window-feature table (${DEFAULT_WINDOW_TABLE}, computed at ingest by a windowFeatures operator) through an HNSW index.`,
    )
    .argument('<recording>', 'recording id (32 hex)')
    .requiredOption('--at <time>', 'a time inside the window to match: nanoseconds or ISO 8601')
    .option('--table <table>', 'window-feature table to search (made by a windowFeatures operator)', DEFAULT_WINDOW_TABLE)
    .option('--topic <topic>', 'topic of the window to match, when the recording has windows on several topics (neighbours come from every topic)')
    .option('-k, --k <n>', 'how many similar windows', '5')
    .option('--json', 'print JSON')
    .action(async (recordingId: string, options: { at: string; table: string; topic?: string; k: string; json?: boolean }) => {
      if (!isRecordingId(recordingId)) throw new InvalidInputError('BAD_ARGUMENT', `${JSON.stringify(recordingId)} is not a recording id (32 hex characters)`);
      const k = Number(options.k);
      if (!Number.isInteger(k) || k < 1 || k > 1000) throw new InvalidInputError('BAD_ARGUMENT', '--k must be an integer from 1 to 1000');
      const at = parseTime(options.at);
      const config = loadConfig();
      const env = await prepareEnvironment(config, { redis: false });
      const store = createStore(config, env.endpoints);
      try {
        const result = await similarWindows(catalogLocation(config, store), { recordingId, at, k, table: options.table, topic: options.topic });
        if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
        else {
          const { query } = result;
          process.stdout.write(
            `windows like ${query.recording_id} ${query.topic} [${query.window_start}, ${query.window_end}) (${result.windows} windows of ${result.table} searched):\n`,
          );
          printTable(
            ['recording', 'topic', 'window start (ns)', 'distance'],
            result.neighbours.map((n) => [n.recording_id, n.topic, n.window_start, n.distance.toFixed(3)]),
          );
        }
      } finally {
        store.close();
        await env.stop();
      }
    });
}

import type { Command } from 'commander';
import { listCommitted } from '../../catalog/catalog.ts';
import { catalogLocation, objectCache } from '../../catalog/query-session.ts';
import { tableVersions } from '../../catalog/table-versions.ts';
import { loadConfig } from '../../config/config.ts';
import { prepareEnvironment } from '../../runtime/environment.ts';
import { createStore } from '../../runtime/services.ts';
import { printTable } from '../output.ts';

export function registerTables(program: Command): void {
  program
    .command('tables')
    .description(
      'List the committed tables and their versions (operator@version and schema fingerprint): the view each is queried by, recordings, rows, objects and bytes. A table with two versions holds rows of different shapes: its name is the newest version, each older one is <table>__v<12 hex>.',
    )
    .option('--json', 'print {"tables": [...]}')
    .action(async (options: { json?: boolean }) => {
      const config = loadConfig();
      const env = await prepareEnvironment(config, { redis: false });
      const store = createStore(config, env.endpoints);
      try {
        const cache = objectCache(catalogLocation(config, store));
        const versions = tableVersions(await listCommitted(store, config.derivedBucket, cache));
        if (options.json) process.stdout.write(`${JSON.stringify({ tables: versions })}\n`);
        else
          printTable(
            ['table', 'view', 'operator', 'fingerprint', 'recordings', 'rows', 'objects', 'MB', 'last committed'],
            versions.map((v) => [
              v.table,
              v.view,
              v.operator,
              v.fingerprint.slice(0, 12),
              v.recordings,
              v.rows,
              v.objects,
              (v.bytes / 1e6).toFixed(2),
              v.lastCommitted ?? '',
            ]),
          );
      } finally {
        store.close();
        await env.stop();
      }
    });
}

import type { Command } from 'commander';
import { catalogLocation, queryCatalog } from '../../catalog/query-session.ts';
import { loadConfig } from '../../config/config.ts';
import { prepareEnvironment } from '../../runtime/environment.ts';
import { createStore } from '../../runtime/services.ts';
import { printTable } from '../output.ts';

export function registerQuery(program: Command): void {
  program
    .command('query')
    .description('Run SQL (DuckDB dialect) over the committed tables: recordings, topics, messages and one table per message schema.')
    .argument('<sql>', 'the SQL statement')
    .option('--json', 'print {"columns": [...], "rows": [[...], ...]}; 64-bit integers are numbers when they fit in 2^53, else strings')
    .addHelpText('after', '\nExample:\n  mcapflow query "SELECT topic, count(*) FROM messages GROUP BY topic"')
    .action(async (sql: string, options: { json?: boolean }) => {
      const config = loadConfig();
      const env = await prepareEnvironment(config, { redis: false });
      const store = createStore(config, env.endpoints);
      try {
        const result = await queryCatalog(catalogLocation(config, store), sql);
        const { reads, ...answer } = result;
        if (options.json) process.stdout.write(`${JSON.stringify(answer)}\n`);
        else printTable(answer.columns, answer.rows);
        for (const r of reads) {
          process.stderr.write(
            `${r.table}: ${r.inPlace ? 'read in place (at most)' : 'read'} ${r.objects} of ${r.totalObjects} objects (${(r.bytes / 1e6).toFixed(2)} of ${(r.totalBytes / 1e6).toFixed(2)} MB)\n`,
          );
        }
      } finally {
        store.close();
        await env.stop();
      }
    });
}

import type { Command } from 'commander';
import { configurationMarkdown, loadConfig } from '../../config/config.ts';

export function registerConfig(program: Command): void {
  program
    .command('config')
    .description('Print the effective configuration (every option comes from an environment variable).')
    .option('--markdown', 'print the documentation table of every option instead')
    .action((options: { markdown?: boolean }) => {
      if (options.markdown) process.stdout.write(configurationMarkdown());
      else {
        const config = loadConfig();
        // Secrets are never printed.
        const shown = { ...config, adminToken: config.adminToken && '<set>', webhookToken: config.webhookToken && '<set>' };
        process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
      }
    });
}

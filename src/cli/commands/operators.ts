import type { Command } from 'commander';
import { loadConfig } from '../../config/config.ts';
import { describeOperators, operatorsMarkdown } from '../../operators/describe.ts';
import { loadOperatorRegistry } from '../../operators/load.ts';
import { printTable } from '../output.ts';

export function registerOperators(program: Command): void {
  program
    .command('operators')
    .description('List the operators every role of this configuration runs: the built-ins and those of MCAPFLOW_OPERATORS, with what each reads and writes.')
    .option('--json', 'print JSON')
    .option('--markdown', 'print the table docs/operators.md holds')
    .action(async (options: { json?: boolean; markdown?: boolean }) => {
      const registry = await loadOperatorRegistry(loadConfig().operators);
      if (options.markdown) process.stdout.write(`${operatorsMarkdown(registry)}\n`);
      else if (options.json) process.stdout.write(`${JSON.stringify({ operators: describeOperators(registry) })}\n`);
      else
        printTable(
          ['operator', 'version', 'kind', 'reads', 'writes'],
          describeOperators(registry).map((d) => [d.name, d.version, d.kind, d.reads, d.writes]),
        );
    });
}

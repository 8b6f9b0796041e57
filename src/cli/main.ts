/** The `mcapflow` command: parses arguments and reports errors; commands do the work. */
import { Command, CommanderError } from 'commander';
import { describeError, isMcapflowError } from '../errors.ts';
import { registerAdminCommands } from './commands/admin.ts';
import { registerCat } from './commands/cat.ts';
import { registerConfig } from './commands/config.ts';
import { registerExtract } from './commands/extract.ts';
import { registerInspect } from './commands/inspect.ts';
import { registerUpload } from './commands/upload.ts';
import { registerDemo } from './commands/demo.ts';
import { registerProcess } from './commands/process.ts';
import { registerQuery } from './commands/query.ts';
import { registerTables } from './commands/tables.ts';
import { registerServe } from './commands/serve.ts';
import { registerSimilar } from './commands/similar.ts';
import { registerOperators } from './commands/operators.ts';

const USAGE_ERRORS = new Set(['BAD_ARGUMENT', 'CONFIG_INVALID']);

export function buildProgram(): Command {
  const program = new Command('mcapflow')
    .description('Turn MCAP robot recordings in S3 into queryable Parquet tables, on a Redis (BullMQ) work queue.')
    .showHelpAfterError()
    .exitOverride();
  registerDemo(program);
  registerProcess(program);
  registerQuery(program);
  registerTables(program);
  registerServe(program);
  registerUpload(program);
  registerInspect(program);
  registerCat(program);
  registerExtract(program);
  registerSimilar(program);
  registerAdminCommands(program);
  registerOperators(program);
  registerConfig(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const json = argv.includes('--json');
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode;
      return;
    }
    const code = isMcapflowError(error) ? error.code : 'INTERNAL';
    const message = describeError(error);
    if (json) process.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
    process.stderr.write(`mcapflow: ${message} [${code}]\n`);
    if (!isMcapflowError(error) && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    process.exitCode = USAGE_ERRORS.has(code) ? 2 : 1;
  }
}

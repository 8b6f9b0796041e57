import type { Command } from 'commander';
import { loadConfig } from '../../config/config.ts';
import { createLogger } from '../../log.ts';
import { withLocalPipeline } from '../local-run.ts';
import { checkFiles, submitFile, waitForFinal } from '../submit.ts';
import { summarize, type RecordingSummary } from '../summary.ts';
import { printTable } from '../output.ts';

export function registerProcess(program: Command): void {
  program
    .command('process')
    .description(
      'Upload local MCAP files into the embedded store, let their upload events drive the dispatcher and workers, wait until each is committed or quarantined, and print a summary.',
    )
    .argument('<files...>', 'MCAP files to process')
    .option('--json', 'print the summary as one JSON object (stable format)')
    .option('--timeout <seconds>', 'give up waiting after this many seconds', '3600')
    .addHelpText('after', '\nExit status: 0 when every file ended committed or quarantined, 1 when the system failed to process one, 2 for bad arguments.')
    .action(async (files: string[], options: { json?: boolean; timeout: string }) => {
      const config = loadConfig();
      // Per-job progress lines are for services; a command shows warnings unless asked for more.
      const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
      await checkFiles(files);
      const summaries = await withLocalPipeline(config, log, async ({ services }) => {
        const submitted = [];
        for (const file of files) submitted.push(await submitFile(services, file));
        const statuses = await waitForFinal(services, [...new Set(submitted.map((s) => s.recordingId))], { timeoutMs: Number(options.timeout) * 1000 });
        const out: RecordingSummary[] = [];
        for (const s of submitted) out.push(await summarize(services, s.source, s.recordingId, statuses.get(s.recordingId)));
        return out;
      });
      if (options.json) process.stdout.write(`${JSON.stringify({ recordings: summaries })}\n`);
      else printSummaries(summaries);
      if (summaries.some((s) => s.status === 'failed')) process.exitCode = 1;
    });
}

function printSummaries(summaries: RecordingSummary[]): void {
  for (const s of summaries) {
    const state = s.recovered ? 'committed (recovered)' : s.status;
    process.stdout.write(`${s.source}: ${state}, recording ${s.recording_id}, ${s.messages} messages\n`);
    if (s.reason) process.stdout.write(`  reason: ${s.reason}\n`);
    if (s.topics.length > 0) {
      printTable(
        ['topic', 'schema', 'encoding', 'messages', 'table', 'decode errors', 'status'],
        s.topics.map((t) => [
          t.topic,
          t.schema,
          t.message_encoding,
          t.messages,
          t.table ?? '-',
          t.decode_errors,
          t.status === 'ok' ? 'ok' : `undecodable: ${t.reason}`,
        ]),
        '  ',
      );
    }
  }
}

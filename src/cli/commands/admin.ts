/** CLI commands that wrap the admin API: backfill, status, recordings, dlq. */
import type { Command } from 'commander';
import type { BackfillStatus } from '../../admin/backfills.ts';
import { loadConfig } from '../../config/config.ts';
import { InvalidInputError } from '../../errors.ts';
import type { DeadLetter } from '../../queue/dead-letters.ts';
import type { RecordingStatus } from '../../status/recording-status.ts';
import { adminClient } from '../admin-client.ts';
import { printTable } from '../output.ts';

function client() {
  return adminClient(loadConfig());
}

function print(json: boolean | undefined, value: unknown, human: () => void): void {
  if (json) process.stdout.write(`${JSON.stringify(value)}\n`);
  else human();
}

export function registerAdminCommands(program: Command): void {
  program
    .command('backfill')
    .description(
      'Bring recordings under a bucket prefix up to date through the admin API: list, enqueue with backpressure; a committed recording runs only its stale operators (new, or another version or parameters), one that is current is skipped; --force reprocesses everything. With --wait, follow it until it and its recordings finish.',
    )
    .requiredOption('--prefix <prefix>', 'key prefix to list ("" for the whole bucket)')
    .option('--bucket <bucket>', 'bucket (default: MCAPFLOW_RAW_BUCKET)')
    .option('--since <time>', 'only objects modified at or after this ISO 8601 time')
    .option('--until <time>', 'only objects modified before this ISO 8601 time')
    .option('--force', 'reprocess every recording from its MCAP file, current or not')
    .option('--wait', 'wait until the backfill is done and every enqueued recording is final')
    .option('--json', 'print JSON')
    .action(async (options: { prefix: string; bucket?: string; since?: string; until?: string; force?: boolean; wait?: boolean; json?: boolean }) => {
      const config = loadConfig();
      const api = adminClient(config);
      const { id } = await api.request<{ id: string }>('POST', '/v1/backfills', {
        bucket: options.bucket ?? config.rawBucket,
        prefix: options.prefix,
        ...(options.since ? { since: options.since } : {}),
        ...(options.until ? { until: options.until } : {}),
        ...(options.force ? { force: true } : {}),
      });
      let status = await api.request<BackfillStatus>('GET', `/v1/backfills/${id}`);
      while (options.wait && (status.state === 'running' || status.committed + status.quarantined + status.failed < status.enqueued)) {
        await new Promise((r) => setTimeout(r, 500));
        status = await api.request<BackfillStatus>('GET', `/v1/backfills/${id}`);
        if (!options.json)
          process.stderr.write(
            `\r  ${status.state}: listed ${status.listed}, enqueued ${status.enqueued}, skipped ${status.skipped}, committed ${status.committed}, quarantined ${status.quarantined}, failed ${status.failed}   `,
          );
      }
      if (options.wait && !options.json) process.stderr.write('\n');
      print(options.json, status, () =>
        process.stdout.write(`backfill ${id}: ${status.state}, listed ${status.listed}, enqueued ${status.enqueued}, skipped ${status.skipped}\n`),
      );
    });

  program
    .command('status')
    .description('Queue counts and dead-letter total from the admin API; with an argument, one backfill (bf-…) or one recording (32 hex).')
    .argument('[id]', 'backfill id or recording id')
    .option('--json', 'print JSON')
    .action(async (id: string | undefined, options: { json?: boolean }) => {
      const api = client();
      if (id?.startsWith('bf-')) {
        const status = await api.request<BackfillStatus>('GET', `/v1/backfills/${id}`);
        return print(options.json, status, () => printTable(Object.keys(status), [Object.values(status)]));
      }
      if (id !== undefined) {
        const recording = await api.request<Record<string, unknown>>('GET', `/v1/recordings/${id}`);
        return print(options.json, recording, () => {
          process.stdout.write(`${id}: ${String(recording.status)}${typeof recording.reason === 'string' ? ` (${recording.reason})` : ''}\n`);
          const topics = recording.topics as { topic: string; messages: number; status: string; table: string | null }[];
          if (topics.length > 0)
            printTable(
              ['topic', 'messages', 'status', 'table'],
              topics.map((t) => [t.topic, t.messages, t.status, t.table]),
            );
        });
      }
      const { queues } = await api.request<{ queues: { name: string; paused: boolean; counts: Record<string, number> }[] }>('GET', '/v1/queues');
      print(options.json, { queues }, () =>
        printTable(
          ['queue', 'waiting', 'active', 'delayed', 'waiting-children', 'completed', 'failed', 'paused'],
          queues.map((q) => [
            q.name,
            q.counts.waiting,
            q.counts.active,
            q.counts.delayed,
            q.counts['waiting-children'],
            q.counts.completed,
            q.counts.failed,
            q.paused ? 'yes' : '',
          ]),
        ),
      );
    });

  program
    .command('recordings')
    .description('Recordings and their status, newest first (from the admin API).')
    .option('--status <state>', 'only this state: queued, planning, processing, committed, quarantined, failed')
    .option('--limit <n>', 'how many', '50')
    .option('--json', 'print JSON')
    .action(async (options: { status?: string; limit: string; json?: boolean }) => {
      const query = new URLSearchParams({ limit: options.limit, ...(options.status ? { status: options.status } : {}) });
      const page = await client().request<{ items: RecordingStatus[]; next: string | null }>('GET', `/v1/recordings?${query.toString()}`);
      print(options.json, page, () =>
        printTable(
          ['recording', 'state', 'source', 'jobs', 'reason', 'updated'],
          page.items.map((r) => [r.recordingId, r.state, r.source, `${r.jobsDone}/${r.jobsTotal}`, r.reason, r.updatedAt]),
        ),
      );
    });

  const dlq = program.command('dlq').description('Dead-letter queue: jobs that exhausted their attempts.');
  dlq
    .command('list')
    .description('List entries with their last error and attempt count.')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const out = await client().request<{ count: number; items: DeadLetter[] }>('GET', '/v1/dlq');
      print(options.json, out, () =>
        printTable(
          ['entry', 'recording', 'attempts', 'dead at', 'error'],
          out.items.map((l) => [l.id, l.recordingId, l.attempts.length, l.deadAt, l.failedReason]),
        ),
      );
    });
  dlq
    .command('retry')
    .description('Retry one entry (its recording re-enters the flow where it failed), or --all.')
    .argument('[id]', 'entry id')
    .option('--all', 'retry every entry')
    .option('--json', 'print JSON')
    .action(async (id: string | undefined, options: { all?: boolean; json?: boolean }) => {
      const api = client();
      if (options.all) return print(options.json, await api.request('POST', '/v1/dlq/retry-all', {}), () => process.stdout.write('retried every entry\n'));
      if (id === undefined) throw new InvalidInputError('BAD_ARGUMENT', 'give an entry id or --all');
      const out = await api.request<{ retried: string[] }>('POST', `/v1/dlq/${encodeURIComponent(id)}/retry`, {});
      print(options.json, out, () => process.stdout.write(`retried ${out.retried.join(', ')}\n`));
    });
  dlq
    .command('purge')
    .description('Discard one entry, or --all (their recordings stay failed).')
    .argument('[id]', 'entry id')
    .option('--all', 'discard every entry')
    .action(async (id: string | undefined, options: { all?: boolean }) => {
      const api = client();
      const ids = options.all ? (await api.request<{ items: DeadLetter[] }>('GET', '/v1/dlq?limit=1000')).items.map((l) => l.id) : id ? [id] : [];
      if (ids.length === 0 && !options.all) throw new InvalidInputError('BAD_ARGUMENT', 'give an entry id or --all');
      for (const entry of ids) await api.request('DELETE', `/v1/dlq/${encodeURIComponent(entry)}`);
      process.stdout.write(`discarded ${ids.length} entr${ids.length === 1 ? 'y' : 'ies'}\n`);
    });
}

/**
 * A worker process's job consumers: index, extract, convert and commit, each with the
 * configured concurrency. Progress and final failures are recorded on the recording.
 */
import type { Job, Worker } from 'bullmq';
import { describeError } from '../errors.ts';
import { runConvert } from '../operators/convert-op.ts';
import { runExtract } from '../operators/extract-op.ts';
import { runIndex } from '../operators/index-op.ts';
import type { CommitJobData, ConvertJobData, SpanJobData } from '../queue/jobs.ts';
import type { Services } from '../runtime/services.ts';
import { FINAL_STATES } from '../status/recording-status.ts';
import { processCommit } from './commit.ts';

export interface PoolOptions {
  concurrency: number;
}

/** Records progress on completion and the failure once a job has no attempts left. */
export function trackRecording(services: Services, worker: Worker): void {
  worker.on('completed', (job: Job<{ recordingId?: string }>) => {
    if (job.data.recordingId) void services.status.jobDone(job.data.recordingId).catch(() => {});
  });
  worker.on('failed', (job: Job<{ recordingId?: string }> | undefined, error: Error) => {
    if (job === undefined || !job.data.recordingId) return;
    const attempts = job.opts.attempts ?? 1;
    const final = job.attemptsMade >= attempts || error.name === 'UnrecoverableError';
    if (!final) return;
    void recordFailure(services, job.data.recordingId, `${job.name} job ${job.id} failed after ${job.attemptsMade} attempt(s): ${describeError(error)}`);
  });
  worker.on('error', () => {
    // Connection errors are retried by ioredis; job errors arrive through 'failed'.
  });
}

/** The first final failure explains the recording; a parent failed by its child adds nothing. */
async function recordFailure(services: Services, recordingId: string, reason: string): Promise<void> {
  try {
    const current = await services.status.get(recordingId);
    if (current !== undefined && FINAL_STATES.includes(current.state)) return;
    await services.status.set(recordingId, 'failed', { reason });
  } catch {
    // Status is advisory; the job's own failure record stays in BullMQ.
  }
}

export function startWorkerPool(services: Services, options: PoolOptions): Worker[] {
  const { queues, operators } = services;
  const workers = [
    queues.worker<SpanJobData, unknown>('index', async (job) => runIndex(operators, await operators.loadPlan(job.data.planKey), job.data.span), { concurrency: options.concurrency }),
    queues.worker<SpanJobData, unknown>('extract', async (job) => runExtract(operators, await operators.loadPlan(job.data.planKey), job.data.span), { concurrency: options.concurrency }),
    queues.worker<ConvertJobData, unknown>(
      'convert',
      async (job) => runConvert(operators, await operators.loadPlan(job.data.planKey), job.data.table, job.data.parts),
      { concurrency: options.concurrency },
    ),
    queues.worker<CommitJobData, unknown>('commit', (job, token) => processCommit(services, job, token), { concurrency: options.concurrency }),
  ];
  for (const worker of workers) trackRecording(services, worker as Worker);
  return workers as Worker[];
}

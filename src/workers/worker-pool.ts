/**
 * A worker process's job consumers: index, extract, convert and commit, each with the
 * configured concurrency. Progress and final failures are recorded on the recording.
 */
import type { Job, Worker } from 'bullmq';
import { describeError } from '../errors.ts';
import { runConvert, runRecordingOperator } from './convert.ts';
import { runExtract } from './extract.ts';
import { runIndex } from './index-job.ts';
import { isChildFailure } from '../queue/dead-letters.ts';
import type { CommitJobData, ConvertJobData, OperatorJobData, PipelineQueue, SpanJobData } from '../queue/jobs.ts';
import { WORKER_ID } from '../queue/queues.ts';
import type { Services } from '../runtime/services.ts';
import { processCommit } from './commit.ts';
import { countJob, registerOperatorLabels } from '../observability/metrics.ts';

export interface PoolOptions {
  concurrency: number;
}

/**
 * Records progress on completion; on failure, the attempt in the job's history and, once no
 * attempts are left, a dead-letter entry and the recording's failure. A parent failed by its
 * child adds nothing: the child's entry is the one to retry.
 */
export function trackRecording(services: Services, worker: Worker, queue: PipelineQueue): void {
  worker.on('completed', (job: Job<{ recordingId?: string }>) => {
    countJob(queue, job.name, 'completed');
    if (job.data.recordingId) void services.status.jobDone(job.data.recordingId).catch(() => {});
  });
  worker.on('failed', (job: Job<{ recordingId?: string }> | undefined, error: Error) => {
    if (job?.id === undefined) return;
    countJob(queue, job.name, isFinalAttempt(job, error) ? 'failed' : 'retried');
    void onFailed(services, queue, job, error).catch(() => {
      // Redis is unreachable: the startup sweep files the entry later.
    });
  });
  worker.on('error', () => {
    // Connection errors are retried by ioredis; job errors arrive through 'failed'.
  });
}

function isFinalAttempt(job: Job, error: Error): boolean {
  return job.attemptsMade >= (job.opts.attempts ?? 1) || error.name === 'UnrecoverableError';
}

async function onFailed(services: Services, queue: PipelineQueue, job: Job<{ recordingId?: string }>, error: Error): Promise<void> {
  await services.deadLetters.recordAttempt(queue, job, error, WORKER_ID);
  const final = isFinalAttempt(job, error);
  if (!final || isChildFailure(error.message)) return;
  const letter = await services.deadLetters.add(queue, job);
  countJob(queue, job.name, 'dlq');
  if (job.data.recordingId) {
    await recordFailure(
      services,
      job.data.recordingId,
      `${job.name} job ${job.id} failed after ${job.attemptsMade} attempt(s): ${describeError(error)} (dead-letter entry ${letter.id})`,
    );
  }
}

/** A failure never overrides a recording that did end well (a late duplicate job failing). */
async function recordFailure(services: Services, recordingId: string, reason: string): Promise<void> {
  const current = await services.status.get(recordingId);
  if (current?.state === 'committed' || current?.state === 'quarantined') return;
  await services.status.set(recordingId, 'failed', { reason });
}

export function startWorkerPool(services: Services, options: PoolOptions): Worker[] {
  const { queues, work, registry } = services;
  registerOperatorLabels(registry.all().map((o) => o.name));
  const workers = [
    queues.worker<SpanJobData, unknown>('index', async (job) => runIndex(work, registry, await work.loadPlan(job.data.planKey), job.data.span), {
      concurrency: options.concurrency,
    }),
    queues.worker<SpanJobData, unknown>(
      'extract',
      async (job) => runExtract(work, registry, await work.loadPlan(job.data.planKey), job.data.span, job.data.operators),
      {
        concurrency: options.concurrency,
      },
    ),
    // Convert jobs write a span operator's table; operator jobs run a recording operator.
    queues.worker<ConvertJobData | OperatorJobData, unknown>(
      'convert',
      async (job) => {
        const plan = await work.loadPlan(job.data.planKey);
        if (job.name === 'operator') {
          const data = job.data as OperatorJobData;
          return runRecordingOperator(work, registry, plan, data.operator, data.inputs);
        }
        const data = job.data as ConvertJobData;
        return runConvert(work, registry, plan, data.table, data.operator, data.parts);
      },
      { concurrency: options.concurrency },
    ),
    queues.worker<CommitJobData, unknown>('commit', (job, token) => processCommit(services, job, token), { concurrency: options.concurrency }),
  ];
  for (const worker of workers) trackRecording(services, worker as Worker, worker.name as PipelineQueue);
  return workers as Worker[];
}

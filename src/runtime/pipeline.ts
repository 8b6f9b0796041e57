/**
 * Runs the roles of one process: the dispatcher (ingest and scan consumers, plus the
 * embedded S3 server's events when this process hosts it) and the worker pool.
 */
import type { JobType, Worker } from 'bullmq';
import type { Config } from '../config/config.ts';
import { eventHandlerOptions, handleS3Event } from '../dispatcher/event-handler.ts';
import { startDispatcher } from '../dispatcher/dispatcher.ts';
import type { Logger } from '../log.ts';
import { assertNoEviction } from '../queue/redis.ts';
import { startWorkerPool } from '../workers/worker-pool.ts';
import type { Environment } from './environment.ts';
import { createServices, type Services } from './services.ts';
import { loadOperatorRegistry } from '../operators/load.ts';
import { setJobLogger } from '../observability/jobs.ts';
import { watchQueues } from '../observability/metrics.ts';
import { startTracing, stopTracing } from '../observability/tracing.ts';

export interface PipelineRoles {
  dispatcher: boolean;
  worker: boolean;
}

export interface Pipeline {
  services: Services;
  workers: Worker[];
  /** Graceful stop: see Services.close. */
  stop(drainTimeoutMs?: number): Promise<void>;
}

export async function startPipeline(config: Config, env: Environment, roles: PipelineRoles, log: Logger): Promise<Pipeline> {
  const services = createServices(config, env.endpoints, await loadOperatorRegistry(config.operators));
  try {
    await assertNoEviction(services.queues.connection);
  } catch (error) {
    await services.close();
    throw error;
  }
  // Traces when OTEL_* asks for them (off by default); queue depth read at each scrape.
  const tracing = startTracing();
  const unwatchQueues = watchQueues({
    jobCounts: (queue, states) => services.queues.queue(queue).getJobCounts(...(states as JobType[])),
    dlqCount: () => services.deadLetters.count(),
  });
  setJobLogger(log);
  const workers: Worker[] = [];
  if (roles.dispatcher) {
    env.embeddedS3?.onEvent((event) => {
      handleS3Event(event, eventHandlerOptions(config, services.queues, false))
        .then((outcome) => {
          for (const o of outcome.enqueued) log.info({ bucket: o.bucket, key: o.key }, 'object created: ingest enqueued');
        })
        .catch((error: unknown) => log.error({ err: error }, 'could not handle an S3 event'));
    });
    workers.push(...startDispatcher(services, { concurrency: config.dispatcherConcurrency }));
  }
  if (roles.worker) workers.push(...startWorkerPool(services, { concurrency: config.workerConcurrency }));
  if (workers.length > 0) {
    const filed = await services.deadLetters.sweep();
    if (filed > 0) log.warn({ filed }, 'filed dead-letter entries for failed jobs that had none');
  }
  for (const worker of workers) {
    worker.on('failed', (job, error) =>
      log.warn(
        {
          queue: worker.name,
          kind: job?.name,
          job_id: job?.id,
          recording_id: (job?.data as { recordingId?: string } | undefined)?.recordingId,
          err: error.message,
          attempts: job?.attemptsMade,
        },
        'job failed',
      ),
    );
  }
  return {
    services,
    workers,
    async stop(drainTimeoutMs?: number) {
      await services.close(drainTimeoutMs);
      unwatchQueues();
      if (tracing === 'started') await stopTracing();
    },
  };
}

/**
 * A dispatcher process's job consumers: ingest (identify, validate, plan) and scan.
 */
import type { Worker } from 'bullmq';
import type { IngestJobData, PipelineQueue, ScanJobData } from '../queue/jobs.ts';
import type { Services } from '../runtime/services.ts';
import { trackRecording } from '../workers/worker-pool.ts';
import { processIngest } from './ingest.ts';
import { processScan } from './scan.ts';

export function startDispatcher(services: Services, options: { concurrency: number }): Worker[] {
  const { queues } = services;
  const workers = [
    queues.worker<IngestJobData, unknown>('ingest', (job) => processIngest(services, job), { concurrency: options.concurrency }),
    queues.worker<ScanJobData, unknown>('scan', (job) => processScan(services, job), { concurrency: options.concurrency }),
  ];
  for (const worker of workers) trackRecording(services, worker as Worker, worker.name as PipelineQueue);
  return workers as Worker[];
}

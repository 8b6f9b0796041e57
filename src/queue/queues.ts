/**
 * The one queue factory: queues, the flow producer and workers, all on one Redis and under
 * one key prefix, with the job options each kind needs.
 */
import { FlowProducer, Queue, Worker, type DefaultJobOptions, type Job, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { createRedis } from './redis.ts';
import { RedisKeys } from './redis-keys.ts';
import { hostname } from 'node:os';
import { DLQ_QUEUE, type PipelineQueue, type QueueName } from './jobs.ts';
import { observeJob, observeWorker } from '../observability/jobs.ts';

export interface QueueSettings {
  redisUrl: string;
  prefix: string;
  jobAttempts: number;
  /** Per-kind overrides of `jobAttempts`. */
  jobAttemptsByKind?: Partial<Record<PipelineQueue, number>>;
  backoffMs: number;
  lockDurationMs: number;
  stalledIntervalMs?: number;
  maxStalledCount?: number;
}

/** Names this process in job records ("the worker that ran it"). */
export const WORKER_ID = `${hostname()}:${process.pid}`;

export class Queues {
  readonly settings: QueueSettings;
  /** Every mcapflow key on this connection; its prefix is also BullMQ's. */
  readonly keys: RedisKeys;
  readonly connection: Redis;
  readonly #queues = new Map<QueueName, Queue>();
  readonly #workers: Worker[] = [];
  /** Jobs this process is running, so a drain that runs out of time can hand them back. */
  readonly #active = new Map<string, { job: Job; token: string | undefined }>();
  #flowProducer: FlowProducer | undefined;

  constructor(settings: QueueSettings) {
    this.settings = settings;
    this.keys = new RedisKeys(settings.prefix);
    this.connection = createRedis(settings.redisUrl);
    this.connection.on('error', () => {
      // ioredis reconnects by itself; errors surface on the commands that fail.
    });
  }

  /** Options every job of a kind gets: retries with exponential backoff and jitter, bounded history. */
  jobOptions(kind: PipelineQueue): DefaultJobOptions {
    return {
      attempts: this.settings.jobAttemptsByKind?.[kind] ?? this.settings.jobAttempts,
      backoff: { type: 'exponential', delay: this.settings.backoffMs, jitter: 0.5 },
      // Count-bounded only: an age bound costs extra Redis commands on every completion.
      removeOnComplete: { count: 10_000 },
      removeOnFail: { age: 7 * 24 * 3600 },
    };
  }

  queue(name: QueueName): Queue {
    let queue = this.#queues.get(name);
    if (queue === undefined) {
      const defaultJobOptions = name === DLQ_QUEUE ? { attempts: 1 } : this.jobOptions(name);
      queue = new Queue(name, { connection: this.connection, prefix: this.keys.prefix, defaultJobOptions });
      queue.on('error', () => {});
      this.#queues.set(name, queue);
    }
    return queue;
  }

  flowProducer(): FlowProducer {
    this.#flowProducer ??= new FlowProducer({ connection: this.connection, prefix: this.keys.prefix });
    return this.#flowProducer;
  }

  worker<D, R>(name: PipelineQueue, processor: (job: Job<D, R>, token?: string) => Promise<R>, options: Partial<WorkerOptions> = {}): Worker<D, R> {
    const tracked = async (job: Job<D, R>, token?: string): Promise<R> => {
      const key = `${name}/${job.id}`;
      this.#active.set(key, { job: job as Job, token });
      try {
        return await observeJob(name, job as Job, () => processor(job, token));
      } finally {
        this.#active.delete(key);
      }
    };
    const worker = new Worker<D, R>(name, tracked, {
      connection: this.connection,
      prefix: this.keys.prefix,
      name: WORKER_ID,
      lockDuration: this.settings.lockDurationMs,
      stalledInterval: this.settings.stalledIntervalMs ?? 30_000,
      // A job that keeps killing its worker (e.g. out of memory) is failed rather than run forever.
      maxStalledCount: this.settings.maxStalledCount ?? 2,
      ...options,
    });
    this.#workers.push(worker as Worker);
    observeWorker(name, worker as Worker);
    return worker;
  }

  /**
   * Stops taking jobs and lets running ones finish for up to `drainTimeoutMs`; jobs still
   * running then go straight back to their queue for another worker (rather than waiting
   * for their lock to lapse). Then closes queues and the connection.
   */
  async close(drainTimeoutMs = Number.POSITIVE_INFINITY): Promise<void> {
    const drained = Promise.all(this.#workers.map((w) => w.close()));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      if (Number.isFinite(drainTimeoutMs)) timer = setTimeout(() => resolve('timeout'), drainTimeoutMs);
    });
    const outcome = await Promise.race([drained.then(() => 'drained' as const), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      for (const { job, token } of this.#active.values()) await job.moveToWait(token).catch(() => {});
      this.#active.clear();
      await Promise.all(this.#workers.map((w) => w.close(true)));
    }
    await Promise.all([...this.#queues.values()].map((q) => q.close()));
    await this.#flowProducer?.close();
    this.connection.disconnect();
  }
}

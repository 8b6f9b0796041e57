/**
 * The one queue factory: queues, the flow producer and workers, all on one Redis and under
 * one key prefix, with the job options each kind needs.
 */
import { FlowProducer, Queue, Worker, type DefaultJobOptions, type Job, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { createRedis } from './redis.ts';
import { QUEUE_NAMES, type QueueName } from './jobs.ts';

export interface QueueSettings {
  redisUrl: string;
  prefix: string;
  jobAttempts: number;
  backoffMs: number;
  lockDurationMs: number;
}

export class Queues {
  readonly settings: QueueSettings;
  readonly connection: Redis;
  readonly #queues = new Map<QueueName, Queue>();
  readonly #workers: Worker[] = [];
  #flowProducer: FlowProducer | undefined;

  constructor(settings: QueueSettings) {
    this.settings = settings;
    this.connection = createRedis(settings.redisUrl);
    this.connection.on('error', () => {
      // ioredis reconnects by itself; errors surface on the commands that fail.
    });
  }

  /** Options every job gets: retries with exponential backoff, bounded history. */
  get jobOptions(): DefaultJobOptions {
    return {
      attempts: this.settings.jobAttempts,
      backoff: { type: 'exponential', delay: this.settings.backoffMs, jitter: 0.5 },
      removeOnComplete: { age: 24 * 3600, count: 10_000 },
      removeOnFail: { age: 7 * 24 * 3600 },
    };
  }

  queue(name: QueueName): Queue {
    let queue = this.#queues.get(name);
    if (queue === undefined) {
      queue = new Queue(name, { connection: this.connection, prefix: this.settings.prefix, defaultJobOptions: this.jobOptions });
      queue.on('error', () => {});
      this.#queues.set(name, queue);
    }
    return queue;
  }

  allQueues(): Queue[] {
    return QUEUE_NAMES.map((name) => this.queue(name));
  }

  flowProducer(): FlowProducer {
    this.#flowProducer ??= new FlowProducer({ connection: this.connection, prefix: this.settings.prefix });
    return this.#flowProducer;
  }

  worker<D, R>(name: QueueName, processor: (job: Job<D, R>, token?: string) => Promise<R>, options: Partial<WorkerOptions> = {}): Worker<D, R> {
    const worker = new Worker<D, R>(name, processor, {
      connection: this.connection,
      prefix: this.settings.prefix,
      lockDuration: this.settings.lockDurationMs,
      // A job whose lock lapsed twice is failed rather than run forever.
      maxStalledCount: 2,
      ...options,
    });
    this.#workers.push(worker as Worker);
    return worker;
  }

  /** Stops workers (letting running jobs finish), then closes queues and the connection. */
  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.close()));
    await Promise.all([...this.#queues.values()].map((q) => q.close()));
    await this.#flowProducer?.close();
    this.connection.disconnect();
  }
}

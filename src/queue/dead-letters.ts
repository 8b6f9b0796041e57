/**
 * The dead-letter queue. BullMQ has none built in: every failed attempt is recorded here,
 * and a job that exhausts its attempts becomes an entry in the `dlq` queue (never consumed)
 * holding its input, every attempt's error and stack, timestamps and the worker that ran it.
 * Retrying an entry re-enters the flow where it failed: the failed job goes back to its
 * queue and, when its recording's commit was failed by it, the commit waits for it again.
 */
import type { Job } from 'bullmq';
import { describeError, isMcapflowError, NotFoundError } from '../errors.ts';
import { DLQ_QUEUE, QUEUE_NAMES, type PipelineQueue } from './jobs.ts';
import type { Queues } from './queues.ts';

export interface AttemptRecord {
  attempt: number;
  at: string;
  worker: string;
  error: string;
  code: string | null;
  stack: string | null;
}

export interface DeadLetter {
  id: string;
  queue: PipelineQueue;
  jobId: string;
  name: string;
  recordingId: string | null;
  /** The job's input, as it was enqueued. */
  data: unknown;
  attempts: AttemptRecord[];
  failedReason: string;
  enqueuedAt: string;
  deadAt: string;
}

/** BullMQ fails a parent whose child failed with this reason; the child is the entry to retry. */
const CHILD_FAILURE = /^child .+ failed$/;
const ATTEMPT_HISTORY_TTL_SECONDS = 30 * 24 * 3600;

export function deadLetterId(queue: PipelineQueue, jobId: string): string {
  return `${queue}-${jobId}`;
}

/**
 * Entry ids are `<queue>-<job id>` with mcapflow's own job ids (letters, digits, `_`, `.`,
 * `-`). Anything else is refused before it reaches Redis: BullMQ looks a job up by the
 * key `<prefix>:dlq:<id>`, so an id such as `meta` or `events` would name the queue's own
 * keys.
 */
const DEAD_LETTER_ID = new RegExp(`^(?:${QUEUE_NAMES.join('|')})-[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$`);

export function isDeadLetterId(id: string): boolean {
  return DEAD_LETTER_ID.test(id);
}

/** The queue name in a BullMQ key `<prefix>:<queue>[:<id>]` (neither prefix nor ids contain `:`). */
function queueOfKey(key: string): PipelineQueue {
  const parts = key.split(':');
  return (parts.length >= 3 ? parts[parts.length - 2] : parts[parts.length - 1]) as PipelineQueue;
}

export function isChildFailure(reason: string): boolean {
  return CHILD_FAILURE.test(reason);
}

export class DeadLetters {
  readonly #queues: Queues;

  constructor(queues: Queues) {
    this.#queues = queues;
  }

  #attemptsKey(queue: string, jobId: string): string {
    return `${this.#queues.settings.prefix}:attempts:${queue}:${jobId}`;
  }

  /** Records one failed attempt (called for every failure, final or not). */
  async recordAttempt(queue: PipelineQueue, job: Job, error: Error, worker: string): Promise<void> {
    const record: AttemptRecord = {
      attempt: job.attemptsMade,
      at: new Date().toISOString(),
      worker,
      error: describeError(error),
      code: isMcapflowError(error) ? error.code : null,
      stack: error.stack ?? null,
    };
    const key = this.#attemptsKey(queue, job.id!);
    await this.#queues.connection.multi().rpush(key, JSON.stringify(record)).expire(key, ATTEMPT_HISTORY_TTL_SECONDS).exec();
  }

  async attempts(queue: string, jobId: string): Promise<AttemptRecord[]> {
    const raw = await this.#queues.connection.lrange(this.#attemptsKey(queue, jobId), 0, -1);
    return raw.map((r) => JSON.parse(r) as AttemptRecord);
  }

  /** Moves a job that has no attempts left into the DLQ (idempotent per job). */
  async add(queue: PipelineQueue, job: Job): Promise<DeadLetter> {
    const id = deadLetterId(queue, job.id!);
    const data = job.data as { recordingId?: unknown };
    const letter: DeadLetter = {
      id,
      queue,
      jobId: job.id!,
      name: job.name,
      recordingId: typeof data?.recordingId === 'string' ? data.recordingId : null,
      data: job.data,
      attempts: await this.attempts(queue, job.id!),
      failedReason: job.failedReason ?? '',
      enqueuedAt: new Date(job.timestamp).toISOString(),
      deadAt: new Date(job.finishedOn ?? Date.now()).toISOString(),
    };
    await this.#queues.queue(DLQ_QUEUE).add(queue, letter, { jobId: id });
    return letter;
  }

  async list(start = 0, end = 99): Promise<DeadLetter[]> {
    const jobs = await this.#queues.queue(DLQ_QUEUE).getJobs(['waiting', 'prioritized'], start, end, true);
    return jobs.map((j) => j.data as DeadLetter);
  }

  async get(id: string): Promise<DeadLetter | undefined> {
    if (!isDeadLetterId(id)) return undefined;
    const job = await this.#queues.queue(DLQ_QUEUE).getJob(id);
    return job?.data as DeadLetter | undefined;
  }

  async count(): Promise<number> {
    const counts = await this.#queues.queue(DLQ_QUEUE).getJobCounts('waiting', 'prioritized');
    return Object.values(counts).reduce((a, b) => a + b, 0);
  }

  /**
   * Puts the failed job back in its queue with fresh attempts. If it failed its parent (the
   * recording's commit), every other failed child of that parent goes back too and the
   * parent is retried, waiting for them again: the recording re-enters its flow where it
   * failed, and completed jobs are not redone. Returns the ids of the jobs retried. Throws
   * NOT_FOUND when the entry does not exist, or the failed job is gone (removed by age).
   */
  async retry(id: string): Promise<string[]> {
    const letter = await this.get(id);
    if (letter === undefined) throw new NotFoundError(`no dead-letter entry ${id}`);
    const job = await this.#queues.queue(letter.queue).getJob(letter.jobId);
    if (job === undefined)
      throw new NotFoundError(`job ${letter.jobId} of dead-letter entry ${id} no longer exists in queue ${letter.queue}; re-ingest its recording instead`);
    const retried: string[] = [];
    if (await this.#retryIfFailed(letter.queue, job)) retried.push(job.id!);
    const parentRef = job.parent;
    if (parentRef?.id !== undefined) {
      const parentQueue = queueOfKey(parentRef.queueKey);
      const parent = await this.#queues.queue(parentQueue).getJob(parentRef.id);
      if (parent !== undefined && (await parent.isFailed()) && isChildFailure(parent.failedReason ?? '')) {
        const { failed = [] } = await parent.getDependencies({ failed: { count: 10_000 } });
        for (const childKey of failed) {
          const childQueue = queueOfKey(childKey);
          const child = await this.#queues.queue(childQueue).getJob(childKey.split(':').at(-1)!);
          if (child !== undefined && (await this.#retryIfFailed(childQueue, child))) retried.push(child.id!);
        }
        await parent.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        retried.push(parent.id!);
      }
    }
    await this.#forget(letter);
    return retried;
  }

  async #retryIfFailed(queue: PipelineQueue, job: Job): Promise<boolean> {
    if (!(await job.isFailed())) return false;
    await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    const letter = await this.get(deadLetterId(queue, job.id!));
    if (letter !== undefined) await this.#forget(letter);
    return true;
  }

  /** Drops the entry and the failed job it stands for; its recording stays failed. */
  async discard(id: string): Promise<boolean> {
    const letter = await this.get(id);
    if (letter === undefined) return false;
    const job = await this.#queues.queue(letter.queue).getJob(letter.jobId);
    if (job !== undefined && (await job.isFailed())) await job.remove();
    await this.#forget(letter);
    return true;
  }

  async #forget(letter: DeadLetter): Promise<void> {
    await this.#queues.queue(DLQ_QUEUE).remove(letter.id);
    await this.#queues.connection.del(this.#attemptsKey(letter.queue, letter.jobId));
  }

  /**
   * Adds entries for failed jobs that have none: a process that died between BullMQ failing
   * a job and this process recording it leaves such jobs behind. Run at startup.
   */
  async sweep(): Promise<number> {
    let added = 0;
    for (const queue of QUEUE_NAMES) {
      const failed = await this.#queues.queue(queue).getJobs(['failed'], 0, 999);
      for (const job of failed) {
        if (job.id === undefined || isChildFailure(job.failedReason ?? '')) continue;
        if (await this.#queues.queue(DLQ_QUEUE).getJob(deadLetterId(queue, job.id))) continue;
        await this.add(queue, job);
        added += 1;
      }
    }
    return added;
  }
}

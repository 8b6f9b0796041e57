/**
 * The dead-letter queue. BullMQ has none built in: every failed attempt is recorded here,
 * and a job that exhausts its attempts becomes an entry in the `dlq` queue (never consumed)
 * holding its input, every attempt's error and stack, timestamps and the worker that ran it.
 * Retrying an entry re-enters the flow where it failed: the failed job goes back to its
 * queue and, when its recording's commit was failed by it, the commit waits for it again.
 *
 * The DLQ is bounded: each entry (and each recorded attempt) is size-bounded, see
 * dead-letter-bounds.ts, and when it holds more than `maxEntries` the oldest entries are
 * dropped and counted (mcapflow_dlq_dropped_total). A dropped entry's recording stays
 * failed; its failed job ages out of its queue, and the startup sweep does not file it again.
 */
import type { Job } from 'bullmq';
import { describeError, isMcapflowError, NotFoundError } from '../errors.ts';
import { countDlqDropped } from '../observability/metrics.ts';
import { boundAttempt, boundEntry } from './dead-letter-bounds.ts';
import { DLQ_QUEUE, QUEUE_NAMES, type PipelineQueue } from './jobs.ts';
import type { Queues } from './queues.ts';
import { JOB_ID_SOURCE } from './redis-keys.ts';

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
  /** The job's input, as it was enqueued; a TruncatedData preview when it was too big to keep. */
  data: unknown;
  /** The newest attempts, oldest first (errors and stacks clipped to the entry's budget). */
  attempts: AttemptRecord[];
  /** Older attempts left out to keep the entry within its size bound. */
  attemptsOmitted?: number;
  failedReason: string;
  enqueuedAt: string;
  deadAt: string;
}

/** BullMQ fails a parent whose child failed with this reason; the child is the entry to retry. */
const CHILD_FAILURE = /^child .+ failed$/;
const ATTEMPT_HISTORY_TTL_SECONDS = 30 * 24 * 3600;
/** Attempts kept per job (retries plus stalled restarts never get near it). */
const ATTEMPT_HISTORY_LENGTH = 32;

export interface DeadLetterLimits {
  /** Entries kept; the oldest beyond it are dropped. */
  maxEntries: number;
  /** Largest JSON of one entry, and the budget its attempts' errors and stacks are clipped to. */
  maxEntryBytes: number;
}

export function deadLetterId(queue: PipelineQueue, jobId: string): string {
  return `${queue}-${jobId}`;
}

/**
 * Entry ids are `<queue>-<job id>` with mcapflow's own job ids (redis-keys.ts). Anything
 * else is refused before it reaches Redis: BullMQ looks a job up by the key
 * `<prefix>:dlq:<id>`, so an id such as `meta` or `events` would name the queue's own keys.
 */
const DEAD_LETTER_ID = new RegExp(`^(?:${QUEUE_NAMES.join('|')})-${JOB_ID_SOURCE}$`);

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
  readonly #limits: DeadLetterLimits;

  constructor(queues: Queues, limits: DeadLetterLimits) {
    this.#queues = queues;
    this.#limits = limits;
  }

  #attemptsKey(queue: PipelineQueue, jobId: string): string {
    return this.#queues.keys.attempts(queue, jobId);
  }

  /** Time (ms) up to which failed jobs lost their entry to the cap: the sweep leaves them alone. */
  get #droppedUntilKey(): string {
    return this.#queues.keys.dlqDroppedUntil;
  }

  /** Records one failed attempt (called for every failure, final or not). */
  async recordAttempt(queue: PipelineQueue, job: Job, error: Error, worker: string): Promise<void> {
    const record: AttemptRecord = boundAttempt(
      {
        attempt: job.attemptsMade,
        at: new Date().toISOString(),
        worker,
        error: describeError(error),
        code: isMcapflowError(error) ? error.code : null,
        stack: error.stack ?? null,
      },
      this.#limits.maxEntryBytes,
    );
    const key = this.#attemptsKey(queue, job.id!);
    await this.#queues.connection
      .multi()
      .rpush(key, JSON.stringify(record))
      .ltrim(key, -ATTEMPT_HISTORY_LENGTH, -1)
      .expire(key, ATTEMPT_HISTORY_TTL_SECONDS)
      .exec();
  }

  async attempts(queue: PipelineQueue, jobId: string): Promise<AttemptRecord[]> {
    const raw = await this.#queues.connection.lrange(this.#attemptsKey(queue, jobId), 0, -1);
    return raw.map((r) => JSON.parse(r) as AttemptRecord);
  }

  /** Moves a job that has no attempts left into the DLQ (idempotent per job), then enforces the cap. */
  async add(queue: PipelineQueue, job: Job): Promise<DeadLetter> {
    const id = deadLetterId(queue, job.id!);
    const data = job.data as { recordingId?: unknown };
    const letter: DeadLetter = boundEntry(
      {
        id,
        queue,
        jobId: job.id!,
        name: job.name,
        recordingId: typeof data?.recordingId === 'string' ? data.recordingId : null,
        data: job.data as unknown,
        attempts: await this.attempts(queue, job.id!),
        failedReason: job.failedReason ?? '',
        enqueuedAt: new Date(job.timestamp).toISOString(),
        deadAt: new Date(job.finishedOn ?? Date.now()).toISOString(),
      },
      this.#limits.maxEntryBytes,
    );
    await this.#queues.queue(DLQ_QUEUE).add(queue, letter, { jobId: id });
    await this.#enforceCap();
    return letter;
  }

  /** Drops the oldest entries beyond `maxEntries`; returns how many this call dropped. */
  async #enforceCap(): Promise<number> {
    const excess = (await this.count()) - this.#limits.maxEntries;
    if (excess <= 0) return 0;
    const dlq = this.#queues.queue(DLQ_QUEUE);
    let dropped = 0;
    for (const job of await dlq.getJobs(['waiting', 'prioritized'], 0, excess - 1, true)) {
      const letter = job.data as DeadLetter;
      // Two processes may trim at once: count only the removals that happened here.
      if ((await dlq.remove(job.id!)) !== 1) continue;
      dropped += 1;
      await this.#queues.connection.del(this.#attemptsKey(letter.queue, letter.jobId));
      const deadAt = Date.parse(letter.deadAt);
      const until = Number((await this.#queues.connection.get(this.#droppedUntilKey)) ?? 0);
      if (deadAt > until) await this.#queues.connection.set(this.#droppedUntilKey, String(deadAt));
    }
    countDlqDropped(dropped);
    return dropped;
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
    if (letter === undefined)
      throw new NotFoundError(`no dead-letter entry ${id} (retried, discarded, or dropped as one of the oldest beyond MCAPFLOW_DLQ_MAX_ENTRIES)`);
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
    const droppedUntil = Number((await this.#queues.connection.get(this.#droppedUntilKey)) ?? 0);
    for (const queue of QUEUE_NAMES) {
      const failed = await this.#queues.queue(queue).getJobs(['failed'], 0, 999);
      for (const job of failed) {
        if (job.id === undefined || isChildFailure(job.failedReason ?? '')) continue;
        // Failed no later than an entry the cap dropped: it would be among the oldest, dropped too.
        if ((job.finishedOn ?? 0) <= droppedUntil) continue;
        if (await this.#queues.queue(DLQ_QUEUE).getJob(deadLetterId(queue, job.id))) continue;
        await this.add(queue, job);
        added += 1;
      }
    }
    return added;
  }
}

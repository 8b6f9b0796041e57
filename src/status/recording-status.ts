/**
 * Live status of recordings in Redis (queued → planning → processing → committed |
 * quarantined | failed) with job progress counters. The store's manifests and quarantine
 * records are the durable truth; this is what progress displays and waiters read.
 */
import type { Redis } from 'ioredis';

export type RecordingState = 'queued' | 'planning' | 'processing' | 'committed' | 'quarantined' | 'failed';

export const FINAL_STATES: readonly RecordingState[] = ['committed', 'quarantined', 'failed'];

export interface RecordingStatus {
  recordingId: string;
  state: RecordingState;
  source: string;
  reason: string | null;
  jobsTotal: number;
  jobsDone: number;
  updatedAt: string;
}

export class RecordingStatusStore {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  #key(recordingId: string): string {
    return `${this.#prefix}:recording:${recordingId}`;
  }

  get #index(): string {
    return `${this.#prefix}:recordings`;
  }

  async set(recordingId: string, state: RecordingState, fields: { source?: string; reason?: string | null; jobsTotal?: number } = {}): Promise<void> {
    const now = new Date();
    const values: Record<string, string> = { state, updated_at: now.toISOString() };
    if (fields.source !== undefined) values.source = fields.source;
    if (fields.reason !== undefined) values.reason = fields.reason ?? '';
    if (fields.jobsTotal !== undefined) {
      values.jobs_total = String(fields.jobsTotal);
      values.jobs_done = '0';
    }
    await this.#redis.multi().hset(this.#key(recordingId), values).zadd(this.#index, now.getTime(), recordingId).exec();
  }

  /** Adds planned jobs (the commit step plans its converts after the spans are done). */
  async addJobs(recordingId: string, count: number): Promise<void> {
    await this.#redis.hincrby(this.#key(recordingId), 'jobs_total', count);
  }

  async jobDone(recordingId: string): Promise<void> {
    await this.#redis.hincrby(this.#key(recordingId), 'jobs_done', 1);
  }

  async get(recordingId: string): Promise<RecordingStatus | undefined> {
    const h = await this.#redis.hgetall(this.#key(recordingId));
    if (h.state === undefined) return undefined;
    return {
      recordingId,
      state: h.state as RecordingState,
      source: h.source ?? '',
      reason: h.reason ? h.reason : null,
      jobsTotal: Number(h.jobs_total ?? 0),
      jobsDone: Number(h.jobs_done ?? 0),
      updatedAt: h.updated_at ?? '',
    };
  }
}

/**
 * Live status of recordings in Redis (queued → planning → processing → committed |
 * quarantined | failed) with job progress counters. The store's manifests and quarantine
 * records are the durable truth; this is what progress displays and waiters read.
 */
import type { Redis } from 'ioredis';
import { isRecordingId } from '../domain/identity.ts';
import { InvalidInputError } from '../errors.ts';
import type { RedisKeys } from '../queue/redis-keys.ts';

export const RECORDING_STATES = ['queued', 'planning', 'processing', 'committed', 'quarantined', 'failed'] as const;
export type RecordingState = (typeof RECORDING_STATES)[number];

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
  readonly #keys: RedisKeys;

  constructor(redis: Redis, keys: RedisKeys) {
    this.#redis = redis;
    this.#keys = keys;
  }

  #key(recordingId: string): string {
    return this.#keys.recordingStatus(recordingId);
  }

  get #index(): string {
    return this.#keys.recordingIndex;
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
    return this.#parse(recordingId, await this.#redis.hgetall(this.#key(recordingId)));
  }

  async #getMany(recordingIds: readonly string[]): Promise<Map<string, RecordingStatus>> {
    const pipeline = this.#redis.pipeline();
    for (const id of recordingIds) pipeline.hgetall(this.#key(id));
    const replies = (await pipeline.exec()) ?? [];
    const out = new Map<string, RecordingStatus>();
    replies.forEach(([error, hash], i) => {
      if (error) throw error;
      const status = this.#parse(recordingIds[i]!, hash as Record<string, string>);
      if (status !== undefined) out.set(recordingIds[i]!, status);
    });
    return out;
  }

  /**
   * Recordings by last update, newest first. `cursor` is the opaque `next` of the previous
   * page; `state` filters. Pages are stable while recordings keep changing: the cursor is
   * the (update time, id) of the last item returned.
   */
  async list(options: {
    limit: number;
    cursor?: string | undefined;
    state?: RecordingState | undefined;
  }): Promise<{ items: RecordingStatus[]; next: string | null }> {
    const items: RecordingStatus[] = [];
    let [maxScore, afterId] = options.cursor ? decodeCursor(options.cursor) : ['+inf', ''];
    let next: string | null = null;
    for (;;) {
      const page = await this.#redis.zrevrangebyscore(this.#index, maxScore, '-inf', 'WITHSCORES', 'LIMIT', 0, 200);
      if (page.length === 0) break;
      const before = `${maxScore}:${afterId}`;
      // One round trip for the page's statuses, not one per recording.
      const statuses = await this.#getMany(page.filter((member, i) => i % 2 === 0 && isRecordingId(member)));
      let skipping = afterId !== '';
      for (let i = 0; i < page.length; i += 2) {
        const id = page[i]!;
        const score = page[i + 1]!;
        if (skipping) {
          if (score === maxScore && id !== afterId) continue;
          skipping = false;
          if (id === afterId) continue;
        }
        maxScore = score;
        afterId = id;
        // A member that is no recording id (written by hand) names no status: skip it rather than fail the page.
        if (!isRecordingId(id)) continue;
        const status = statuses.get(id);
        if (status === undefined || (options.state !== undefined && status.state !== options.state)) continue;
        items.push(status);
        if (items.length === options.limit) {
          next = encodeCursor(score, id);
          return { items, next };
        }
      }
      // A short page is the last; a page that did not move the position cannot be passed.
      if (page.length < 400 || `${maxScore}:${afterId}` === before) break;
    }
    return { items, next };
  }

  #parse(recordingId: string, h: Record<string, string>): RecordingStatus | undefined {
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

function encodeCursor(score: string, id: string): string {
  return Buffer.from(`${score}:${id}`).toString('base64url');
}

function decodeCursor(cursor: string): [string, string] {
  const [score, id] = Buffer.from(cursor, 'base64url').toString('utf8').split(':');
  if (score === undefined || id === undefined || !/^\d+$/.test(score)) throw new InvalidInputError('BAD_ARGUMENT', 'cursor is not one this API returned');
  return [score, id];
}

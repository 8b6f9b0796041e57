/**
 * Backfills: list a bucket prefix page by page and enqueue an ingest job per recording, with
 * backpressure, skipping recordings already committed by the current operator versions
 * unless forced. State lives in Redis (listing position included), so a backfill survives an
 * admin restart and resumes where its listing stopped; a lease keeps two admins from running
 * the same backfill at once.
 */
import { randomBytes } from 'node:crypto';
import { enqueueIngest, isRecordingKey } from '../dispatcher/event-handler.ts';
import { recordingIdFor } from '../domain/identity.ts';
import { validateObjectKey } from '../domain/object-keys.ts';
import { InvalidInputError, describeError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { readManifest } from '../operators/commit-op.ts';
import { staleOperators } from '../operators/currency.ts';
import { WORKER_ID } from '../queue/queues.ts';
import { isBackfillId } from '../queue/redis-keys.ts';
import type { Services } from '../runtime/services.ts';
import type { ObjectInfo } from '../storage/object-store.ts';

export type BackfillState = 'running' | 'done' | 'cancelled' | 'failed';

export interface BackfillRequest {
  bucket: string;
  prefix: string;
  since?: string | undefined;
  until?: string | undefined;
  force?: boolean | undefined;
}

export interface BackfillStatus {
  id: string;
  state: BackfillState;
  bucket: string;
  prefix: string;
  since: string | null;
  until: string | null;
  force: boolean;
  /** Objects listed under the prefix so far. */
  listed: number;
  enqueued: number;
  /** Listed but not enqueued: not a recording, outside since/until, or already committed. */
  skipped: number;
  committed: number;
  quarantined: number;
  failed: number;
  error: string | null;
  createdAt: string;
  updatedAt: string;
}

const LEASE_MS = 30_000;
/**
 * How many listed objects ahead of the one being enqueued are looked up (HEAD, manifest):
 * those reads only decide, so they overlap; enqueuing, backpressure and the marker stay in
 * listing order, one object at a time.
 */
const LOOKAHEAD = 8;

/** What a backfill does with a listed object, decided from its HEAD and committed manifest. */
type Decision = { enqueue: false } | { enqueue: true; recordingId: string; info: ObjectInfo; committed: boolean };

/** `source`'s items with `decide(item)` started up to `depth` items before the consumer reaches them. */
async function* lookingAhead<T, U>(source: AsyncIterable<T>, decide: (item: T) => Promise<U>, depth: number): AsyncGenerator<[T, Promise<U>]> {
  const started: [T, Promise<U>][] = [];
  const start = (item: T) => {
    const decision = decide(item);
    // Awaited in order by the consumer; one it never reaches (stopped) must not be an unhandled rejection.
    decision.catch(() => {});
    started.push([item, decision]);
  };
  for await (const item of source) {
    start(item);
    if (started.length >= depth) yield started.shift()!;
  }
  while (started.length > 0) yield started.shift()!;
}

/** Backfill ids are `bf-` and 16 hex digits (redis-keys.ts); checked before use, since they become Redis keys. */
function checkId(id: string): void {
  if (!isBackfillId(id)) throw new InvalidInputError('BAD_ARGUMENT', `${JSON.stringify(id)} is not a backfill id (bf- followed by 16 hex digits)`);
}

export class Backfills {
  readonly #services: Services;
  readonly #log: Logger;
  readonly #running = new Map<string, Promise<void>>();
  #stopping = false;

  constructor(services: Services, log: Logger) {
    this.#services = services;
    this.#log = log;
  }

  get #redis() {
    return this.#services.queues.connection;
  }

  get #keys() {
    return this.#services.queues.keys;
  }

  #key(id: string): string {
    return this.#keys.backfill(id);
  }

  get #index(): string {
    return this.#keys.backfillIndex;
  }

  async start(request: BackfillRequest): Promise<string> {
    if (request.prefix !== '') validateObjectKey(request.prefix);
    for (const [name, value] of [
      ['since', request.since],
      ['until', request.until],
    ] as const) {
      if (value !== undefined && Number.isNaN(Date.parse(value)))
        throw new InvalidInputError('BAD_ARGUMENT', `${name} must be an ISO 8601 time, got ${JSON.stringify(value)}`);
    }
    try {
      await this.#services.store.ping(request.bucket);
    } catch (error) {
      throw new InvalidInputError('BAD_ARGUMENT', `bucket ${request.bucket} cannot be read: ${describeError(error)}`);
    }
    const id = `bf-${randomBytes(8).toString('hex')}`;
    const now = new Date().toISOString();
    await this.#redis
      .multi()
      .hset(this.#key(id), {
        state: 'running',
        bucket: request.bucket,
        prefix: request.prefix,
        since: request.since ?? '',
        until: request.until ?? '',
        force: request.force ? '1' : '0',
        marker: '',
        listed: '0',
        enqueued: '0',
        skipped: '0',
        error: '',
        created_at: now,
        updated_at: now,
      })
      .zadd(this.#index, Date.now(), id)
      .exec();
    this.#launch(id);
    return id;
  }

  /** Throws BAD_ARGUMENT for a malformed id; undefined when no such backfill exists. */
  async get(id: string): Promise<BackfillStatus | undefined> {
    checkId(id);
    const h = await this.#redis.hgetall(this.#key(id));
    if (h.state === undefined) return undefined;
    const outcomes = { committed: 0, quarantined: 0, failed: 0 };
    const ids = await this.#redis.smembers(this.#keys.backfillRecordings(id));
    for (const recordingId of ids) {
      const state = (await this.#services.status.get(recordingId))?.state;
      if (state === 'committed' || state === 'quarantined' || state === 'failed') outcomes[state] += 1;
    }
    return {
      id,
      state: h.state as BackfillState,
      bucket: h.bucket ?? '',
      prefix: h.prefix ?? '',
      since: h.since || null,
      until: h.until || null,
      force: h.force === '1',
      listed: Number(h.listed),
      enqueued: Number(h.enqueued),
      skipped: Number(h.skipped),
      ...outcomes,
      error: h.error || null,
      createdAt: h.created_at ?? '',
      updatedAt: h.updated_at ?? '',
    };
  }

  async list(limit = 50): Promise<BackfillStatus[]> {
    const ids = await this.#redis.zrevrange(this.#index, 0, limit - 1);
    const out: BackfillStatus[] = [];
    for (const id of ids.filter(isBackfillId)) {
      const status = await this.get(id);
      if (status) out.push(status);
    }
    return out;
  }

  /** Stops a running backfill; jobs already enqueued still run. */
  async cancel(id: string): Promise<BackfillStatus | undefined> {
    checkId(id);
    const state = await this.#redis.hget(this.#key(id), 'state');
    if (state === null) return undefined;
    if (state === 'running') await this.#redis.hset(this.#key(id), { state: 'cancelled', updated_at: new Date().toISOString() });
    await this.#running.get(id);
    return this.get(id);
  }

  /** Picks up backfills left running by a previous admin process. */
  async resumeAll(): Promise<void> {
    for (const id of (await this.#redis.zrange(this.#index, '0', '-1')).filter(isBackfillId)) {
      if ((await this.#redis.hget(this.#key(id), 'state')) === 'running') this.#launch(id);
    }
  }

  /** Stops this process's loops; their backfills stay `running` and resume on the next start. */
  async close(): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.#running.values());
  }

  /** Resolves when a backfill this process runs has finished its listing (tests, CLI wait). */
  async settled(id: string): Promise<void> {
    await this.#running.get(id);
  }

  #launch(id: string): void {
    if (this.#running.has(id)) return;
    const run = this.#run(id)
      .catch(async (error: unknown) => {
        this.#log.error({ backfill: id, err: describeError(error) }, 'backfill failed');
        await this.#redis.hset(this.#key(id), { state: 'failed', error: describeError(error), updated_at: new Date().toISOString() });
      })
      .finally(() => this.#running.delete(id));
    this.#running.set(id, run);
  }

  async #holdLease(id: string): Promise<boolean> {
    const key = this.#keys.backfillLease(id);
    if ((await this.#redis.set(key, WORKER_ID, 'PX', LEASE_MS, 'NX')) === 'OK') return true;
    if ((await this.#redis.get(key)) !== WORKER_ID) return false;
    await this.#redis.pexpire(key, LEASE_MS);
    return true;
  }

  async #run(id: string): Promise<void> {
    const { store, config } = this.#services;
    if (!(await this.#holdLease(id))) return;
    const h = await this.#redis.hgetall(this.#key(id));
    const since = h.since ? Date.parse(h.since) : undefined;
    const until = h.until ? Date.parse(h.until) : undefined;
    const force = h.force === '1';
    const bucket = h.bucket!;
    const counts = { listed: Number(h.listed), enqueued: Number(h.enqueued), skipped: Number(h.skipped) };
    let lastLease = Date.now();

    const decide = async (object: { key: string; lastModified?: Date | undefined }): Promise<Decision> => {
      const modified = object.lastModified?.getTime();
      const inWindow = modified === undefined || ((since === undefined || modified >= since) && (until === undefined || modified < until));
      return inWindow && isRecordingKey(object.key, config.recordingSuffixes) ? this.#decide(bucket, object.key, force) : { enqueue: false };
    };
    for await (const [object, decision] of lookingAhead(store.list(bucket, h.prefix ?? '', h.marker || undefined), decide, LOOKAHEAD)) {
      if (this.#stopping) return;
      if (Date.now() - lastLease > LEASE_MS / 3) {
        if (!(await this.#holdLease(id))) return;
        lastLease = Date.now();
      }
      if ((await this.#redis.hget(this.#key(id), 'state')) !== 'running') return;
      counts.listed += 1;
      const decided = await decision;
      const outcome = decided.enqueue ? await this.#enqueue(id, bucket, object.key, force, decided) : 'skipped';
      // Stopped while waiting out backpressure: leave the marker before this object.
      if (outcome === 'stopped') return;
      if (outcome === 'enqueued') counts.enqueued += 1;
      else counts.skipped += 1;
      await this.#redis.hset(this.#key(id), { marker: object.key, ...mapValues(counts), updated_at: new Date().toISOString() });
    }
    await this.#redis.hset(this.#key(id), { state: 'done', updated_at: new Date().toISOString() });
    await this.#redis.del(this.#keys.backfillLease(id));
  }

  /** Whether to enqueue one recording: not when it is gone, or committed by the current operator versions (and not forced). Reads only. */
  async #decide(bucket: string, key: string, force: boolean): Promise<Decision> {
    const { store, config } = this.#services;
    const info = await store.head(bucket, key);
    if (info === undefined) return { enqueue: false };
    const recordingId = recordingIdFor({ bucket, key, size: info.size, etag: info.etag, sha256: info.sha256 });
    const manifest = await readManifest(store, config.derivedBucket, recordingId);
    if (manifest !== undefined && !force && staleOperators(this.#services.registry, manifest).length === 0) return { enqueue: false };
    return { enqueue: true, recordingId, info, committed: manifest !== undefined };
  }

  /** Enqueues one recording that {@link #decide} chose, waiting out backpressure. */
  async #enqueue(
    id: string,
    bucket: string,
    key: string,
    force: boolean,
    { recordingId, info, committed }: Extract<Decision, { enqueue: true }>,
  ): Promise<'enqueued' | 'stopped'> {
    const { config, queues, status } = this.#services;
    // Backpressure: wait while the ingest queue is deeper than the limit.
    while ((await queues.queue('ingest').getWaitingCount()) >= config.backfillMaxWaiting) {
      if (this.#stopping || (await this.#redis.hget(this.#key(id), 'state')) !== 'running') return 'stopped';
      await new Promise((r) => setTimeout(r, 200));
    }
    await status.set(recordingId, 'queued', { source: `s3://${bucket}/${key}`, reason: null });
    await enqueueIngest(queues, { bucket, key, size: info.size, etag: info.etag, eventTime: (info.lastModified ?? new Date()).toISOString() }, 'backfill', {
      rerun: true,
      // Forced: processed afresh. Otherwise a committed recording reruns only its stale operators (dispatcher/ingest.ts).
      reprocess: committed && force,
    });
    await this.#redis.sadd(this.#keys.backfillRecordings(id), recordingId);
    return 'enqueued';
  }
}

function mapValues(counts: Record<string, number>): Record<string, string> {
  return Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, String(v)]));
}

/**
 * The one key factory: every Redis key mcapflow writes is built here, under the instance's
 * prefix (MCAPFLOW_PREFIX). BullMQ builds its own queue keys, `<prefix>:<queue>:…`, from
 * `prefix` below; none of the words mcapflow uses after the prefix is a queue name, so the
 * two sets never meet. Ids are checked before they become part of a key (no caller can
 * build one from an unchecked id): an id holding `:` could name another key, and one holding
 * a brace could move its key to another cluster slot.
 *
 * Redis Cluster: a MULTI may only touch keys of one hash slot. The MULTIs mcapflow runs are
 * - RecordingStatusStore.set: `recording:<id>` with `recordings`;
 * - Backfills.start: `backfill:<id>` with `backfills`;
 * - DeadLetters.recordAttempt: `attempts:<queue>:<job>` alone.
 * The first two join one id's key with an index shared by every id, so no per-id hash tag
 * can co-locate them: only a hash tag in the prefix (`{mcapflow}`) can. It puts every key of
 * the instance, BullMQ's included, in the prefix's slot, which BullMQ needs anyway (a flow's
 * parent and child queues must share a slot). On a cluster, MCAPFLOW_PREFIX must therefore
 * be a hash tag; a prefix with braces that Redis would not read as a tag is refused, and
 * since ids never hold braces, the prefix's tag is the only one in any key.
 */
import { createHash } from 'node:crypto';
import { isRecordingId } from '../domain/identity.ts';
import { ConfigError, InvalidInputError } from '../errors.ts';
import { QUEUE_NAMES, type PipelineQueue } from './jobs.ts';

export type KeyType = 'hash' | 'sorted set' | 'list' | 'string' | 'set' | 'stream';

export interface KeyDescription {
  /** The key with `<prefix>` and `<…>` for its variable parts. */
  pattern: string;
  type: KeyType;
  /** How long it lives and what removes it. */
  lifetime: string;
  /** What it holds and who writes it. */
  holds: string;
}

/** Every key mcapflow writes (docs/architecture.md lists the same; a test keeps them in step). */
export const KEY_CATALOG: readonly KeyDescription[] = [
  {
    pattern: '<prefix>:recording:<recording id>',
    type: 'hash',
    lifetime: 'no expiry (the store is the durable truth; this is live status)',
    holds: 'state, source, reason, jobs_total, jobs_done, updated_at (status/recording-status.ts)',
  },
  {
    pattern: '<prefix>:recordings',
    type: 'sorted set',
    lifetime: 'no expiry; one member per recording ever seen',
    holds: 'recording ids scored by last update (ms), for listing newest first',
  },
  {
    pattern: '<prefix>:attempts:<queue>:<job id>',
    type: 'list',
    lifetime: '30 days from the last failed attempt; deleted when its dead-letter entry is retried, discarded or dropped',
    holds: "the job's newest 32 failed attempts as JSON, oldest first (queue/dead-letters.ts)",
  },
  {
    pattern: '<prefix>:dlq-dropped-until',
    type: 'string',
    lifetime: 'no expiry; one per instance',
    holds: 'time (ms) up to which failed jobs lost their entry to MCAPFLOW_DLQ_MAX_ENTRIES, so the startup sweep leaves them alone',
  },
  {
    pattern: '<prefix>:catalog-changes',
    type: 'stream',
    lifetime: 'no expiry; capped at about 100,000 entries (MAXLEN ~)',
    holds:
      'one entry per commit, the key of the manifest it wrote: a query service reads the manifests committed since it last looked instead of listing them (status/catalog-changes.ts)',
  },
  {
    pattern: '<prefix>:backfill:<backfill id>',
    type: 'hash',
    lifetime: 'no expiry',
    holds: 'request, state, listing marker and counts of one backfill (admin/backfills.ts)',
  },
  {
    pattern: '<prefix>:backfill:<backfill id>:lease',
    type: 'string',
    lifetime: '30 s, renewed while an admin runs the backfill; deleted when it is done',
    holds: 'the worker id of the admin process running the backfill',
  },
  {
    pattern: '<prefix>:backfill:<backfill id>:recordings',
    type: 'set',
    lifetime: 'no expiry',
    holds: 'ids of the recordings the backfill enqueued, for its outcome counts',
  },
  {
    pattern: '<prefix>:backfills',
    type: 'sorted set',
    lifetime: 'no expiry',
    holds: 'backfill ids scored by start time (ms); running ones resume on admin start',
  },
  {
    pattern: '<prefix>:admin-session:<sha256 of session id>',
    type: 'string',
    lifetime: 'MCAPFLOW_ADMIN_SESSION_SECONDS (default 12 h); deleted on sign-out',
    holds: 'fingerprint of the admin token the status-page session was issued under (admin/sessions.ts)',
  },
];

/** What config accepts for MCAPFLOW_PREFIX: no `:` (which would shift every key's parts), no glob characters. */
const PREFIX = /^[A-Za-z0-9_{}-]+$/;

/** Backfill ids: `bf-` and 16 hex digits. */
const BACKFILL_ID = /^bf-[0-9a-f]{16}$/;

/** Session ids: 32 random bytes, base64url. */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

/**
 * Job ids mcapflow gives its jobs (BullMQ's own are digits): letters, digits, `_`, `.`, `-`,
 * never `:`. The bound leaves room for the longest a flow makes: recording id (32), `-scan`,
 * `-convert-` and a table name of up to 255 characters.
 */
export const JOB_ID_SOURCE = '[A-Za-z0-9][A-Za-z0-9_.-]{0,511}';
const JOB_ID = new RegExp(`^${JOB_ID_SOURCE}$`);

export function isBackfillId(id: string): boolean {
  return BACKFILL_ID.test(id);
}

export function isSessionId(id: string): boolean {
  return SESSION_ID.test(id);
}

export function isJobId(id: string): boolean {
  return JOB_ID.test(id);
}

/**
 * The part of a key Redis Cluster hashes: the text between the first `{` and the first `}`
 * after it when that is not empty, else none (the whole key is hashed).
 */
export function hashTagOf(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open < 0) return undefined;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : undefined;
}

/** `shown`: false for secrets (session ids), which an error message must not repeat. */
function refuse(what: string, id: string, rule: string, shown = true): never {
  throw new InvalidInputError('BAD_ARGUMENT', `${shown ? JSON.stringify(id) : 'the value'} is not a ${what} (${rule}); refusing to build a Redis key from it`);
}

export class RedisKeys {
  /** The instance's prefix, which BullMQ also puts before its queue keys. */
  readonly prefix: string;

  constructor(prefix: string) {
    if (!PREFIX.test(prefix)) throw new ConfigError(`MCAPFLOW_PREFIX ${JSON.stringify(prefix)} may contain only letters, digits, _, -, { and }`);
    if (/[{}]/.test(prefix) && hashTagOf(prefix) === undefined)
      throw new ConfigError(
        `MCAPFLOW_PREFIX ${JSON.stringify(prefix)} has braces that Redis Cluster would not read as a hash tag: write the tag as {name}, e.g. {mcapflow}`,
      );
    this.prefix = prefix;
  }

  /** The prefix's hash tag: every key of this instance is in its slot. Undefined: keys spread over slots. */
  get hashTag(): string | undefined {
    return hashTagOf(this.prefix);
  }

  /** SCAN pattern of every key of this instance, BullMQ's included. */
  get everyKeyPattern(): string {
    return `${this.prefix}:*`;
  }

  /** Live status of one recording (hash). Written in one MULTI with `recordingIndex`. */
  recordingStatus(recordingId: string): string {
    if (!isRecordingId(recordingId)) refuse('recording id', recordingId, '32 lowercase hex characters');
    return `${this.prefix}:recording:${recordingId}`;
  }

  /** Recording ids by last update (sorted set). */
  get recordingIndex(): string {
    return `${this.prefix}:recordings`;
  }

  /** A job's failed attempts (list). */
  attempts(queue: PipelineQueue, jobId: string): string {
    if (!(QUEUE_NAMES as readonly string[]).includes(queue)) refuse('pipeline queue', queue, QUEUE_NAMES.join(', '));
    if (!isJobId(jobId)) refuse('job id', jobId, 'letters, digits, _, . and -, at most 512');
    return `${this.prefix}:attempts:${queue}:${jobId}`;
  }

  /** Time (ms) up to which the DLQ cap dropped entries (string). */
  get dlqDroppedUntil(): string {
    return `${this.prefix}:dlq-dropped-until`;
  }

  get catalogChanges(): string {
    return `${this.prefix}:catalog-changes`;
  }

  /** One backfill's request, state and progress (hash). Written in one MULTI with `backfillIndex`. */
  backfill(backfillId: string): string {
    return `${this.prefix}:backfill:${checkedBackfillId(backfillId)}`;
  }

  /** The lease of the admin process running a backfill (string with an expiry). */
  backfillLease(backfillId: string): string {
    return `${this.backfill(backfillId)}:lease`;
  }

  /** Recordings a backfill enqueued (set). */
  backfillRecordings(backfillId: string): string {
    return `${this.backfill(backfillId)}:recordings`;
  }

  /** Backfill ids by start time (sorted set). */
  get backfillIndex(): string {
    return `${this.prefix}:backfills`;
  }

  /** A status-page session (string with an expiry), named by a hash of its id so no key listing reveals a live cookie. */
  adminSession(sessionId: string): string {
    if (!isSessionId(sessionId)) refuse('session id', sessionId, '43 base64url characters', false);
    return `${this.prefix}:admin-session:${createHash('sha256').update(sessionId).digest('hex')}`;
  }
}

function checkedBackfillId(id: string): string {
  if (!isBackfillId(id)) refuse('backfill id', id, 'bf- followed by 16 hex digits');
  return id;
}

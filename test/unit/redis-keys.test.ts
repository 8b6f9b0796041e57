import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, InvalidInputError } from '../../src/errors.ts';
import { TABLE_NAME_PATTERN } from '../../src/domain/table-names.ts';
import { DLQ_QUEUE, QUEUE_NAMES } from '../../src/queue/jobs.ts';
import { deadLetterId, isDeadLetterId } from '../../src/queue/dead-letters.ts';
import { hashTagOf, isBackfillId, isJobId, isSessionId, KEY_CATALOG, RedisKeys } from '../../src/queue/redis-keys.ts';

const RECORDING = '0123456789abcdef0123456789abcdef';
const BACKFILL = 'bf-0123456789abcdef';
const SESSION = 'A'.repeat(43);
const JOB = `${RECORDING}-index-0`;

/** Every key the factory makes, for one set of ids. */
function everyKey(keys: RedisKeys): string[] {
  return [
    keys.recordingStatus(RECORDING),
    keys.recordingIndex,
    keys.attempts('index', JOB),
    keys.dlqDroppedUntil,
    keys.catalogChanges,
    keys.backfill(BACKFILL),
    keys.backfillLease(BACKFILL),
    keys.backfillRecordings(BACKFILL),
    keys.backfillIndex,
    keys.adminSession(SESSION),
  ];
}

function refusal(build: () => unknown): InvalidInputError {
  try {
    build();
  } catch (error) {
    if (error instanceof InvalidInputError) return error;
    throw error;
  }
  throw new Error('the key was built');
}

describe('RedisKeys', () => {
  it('names every key as earlier releases did, so status, backfills and sessions survive an upgrade', () => {
    const keys = new RedisKeys('mcapflow');
    expect(everyKey(keys)).toEqual([
      `mcapflow:recording:${RECORDING}`,
      'mcapflow:recordings',
      `mcapflow:attempts:index:${JOB}`,
      'mcapflow:dlq-dropped-until',
      'mcapflow:catalog-changes',
      `mcapflow:backfill:${BACKFILL}`,
      `mcapflow:backfill:${BACKFILL}:lease`,
      `mcapflow:backfill:${BACKFILL}:recordings`,
      'mcapflow:backfills',
      // sha256 of the session id: Redis never holds a live cookie.
      'mcapflow:admin-session:0f007385b6f9d4b7eeb2748605afe1a984a0a3bfa3f014d09e2a784ce9e5cd1a',
    ]);
    expect(keys.prefix).toBe('mcapflow');
    expect(keys.everyKeyPattern).toBe('mcapflow:*');
  });

  it('keeps the session id itself out of its key', () => {
    const key = new RedisKeys('p').adminSession(SESSION);
    expect(key).not.toContain(SESSION);
    expect(key).toMatch(/^p:admin-session:[0-9a-f]{64}$/);
  });

  it('never names a key BullMQ could also use: no namespace is a queue name', () => {
    const keys = new RedisKeys('p');
    for (const key of everyKey(keys)) {
      const namespace = key.split(':')[1]!;
      expect([...QUEUE_NAMES, DLQ_QUEUE]).not.toContain(namespace);
    }
  });

  it('refuses an id that is not of its kind before it becomes part of a key', () => {
    const keys = new RedisKeys('p');
    const cases: [string, () => string, RegExp][] = [
      ['recording', () => keys.recordingStatus(`${RECORDING}:x`), /not a recording id/],
      ['recording', () => keys.recordingStatus('ABCDEF0123456789ABCDEF0123456789'), /not a recording id/],
      ['recording', () => keys.recordingStatus(''), /not a recording id/],
      ['queue', () => keys.attempts('meta' as 'index', JOB), /not a pipeline queue/],
      ['queue', () => keys.attempts(DLQ_QUEUE as 'index', JOB), /not a pipeline queue/],
      ['job', () => keys.attempts('index', 'a:b'), /not a job id/],
      ['job', () => keys.attempts('index', '{tag}'), /not a job id/],
      ['job', () => keys.attempts('index', ''), /not a job id/],
      ['job', () => keys.attempts('index', '-leading-dash'), /not a job id/],
      ['backfill', () => keys.backfill(`${BACKFILL}:lease`), /not a backfill id/],
      ['backfill', () => keys.backfillLease('bf-zz'), /not a backfill id/],
      ['backfill', () => keys.backfillRecordings('BF-0123456789ABCDEF'), /not a backfill id/],
      ['session', () => keys.adminSession('short'), /not a session id/],
      ['session', () => keys.adminSession(`${'A'.repeat(42)}:`), /not a session id/],
    ];
    for (const [kind, build, message] of cases) {
      const error = refusal(build);
      expect({ kind, code: error.code }).toEqual({ kind, code: 'BAD_ARGUMENT' });
      expect(error.message).toMatch(message);
    }
  });

  it('accepts the ids mcapflow makes, up to the longest job id a flow can have', () => {
    expect(isBackfillId(BACKFILL)).toBe(true);
    expect(isSessionId(SESSION)).toBe(true);
    for (const id of [`ingest-${RECORDING}`, JOB, `${RECORDING}-scan`, `${RECORDING}-scan-commit`, '17']) expect(isJobId(id), id).toBe(true);
    // A convert job of the longest table name a schema can get, in a scan's flow.
    const longestTable = 'T'.repeat(255);
    expect(longestTable).toMatch(TABLE_NAME_PATTERN);
    const longestJob = `${RECORDING}-scan-convert-${longestTable}`;
    expect(new RedisKeys('p').attempts('convert', longestJob)).toBe(`p:attempts:convert:${longestJob}`);
    // Its dead-letter entry can be looked up, retried and discarded like any other.
    expect(isDeadLetterId(deadLetterId('convert', longestJob))).toBe(true);
    expect(isJobId('x'.repeat(513))).toBe(false);
  });

  it('refuses a prefix that could alias other keys or would silently lose its hash tag', () => {
    for (const bad of ['', 'a:b', 'a*', 'a b', '{}mcapflow', 'mc{apflow', 'mc}apflow']) {
      expect(() => new RedisKeys(bad), bad).toThrow(ConfigError);
    }
    expect(() => new RedisKeys('{}x')).toThrow(/MCAPFLOW_PREFIX/);
    for (const good of ['mcapflow', '{mcapflow}', 'team-a_{mcapflow}', 'mftest-x-1-abc']) expect(new RedisKeys(good).prefix).toBe(good);
  });
});

describe('Redis Cluster', () => {
  it('reads hash tags the way Redis Cluster does', () => {
    expect(hashTagOf('{user1000}.following')).toBe('user1000');
    expect(hashTagOf('foo{}{bar}')).toBeUndefined();
    expect(hashTagOf('foo{{bar}}zap')).toBe('{bar');
    expect(hashTagOf('foo{bar}{zap}')).toBe('bar');
    expect(hashTagOf('no tag')).toBeUndefined();
    expect(hashTagOf('open{only')).toBeUndefined();
  });

  it('puts every key of a hash-tagged prefix in the prefix slot, so each MULTI stays in one slot', () => {
    for (const prefix of ['{mcapflow}', 'a-{tag}-b']) {
      const keys = new RedisKeys(prefix);
      expect(keys.hashTag).toBe(hashTagOf(prefix));
      for (const key of everyKey(keys)) expect({ key, tag: hashTagOf(key) }).toEqual({ key, tag: hashTagOf(prefix) });
      // The keys written together in one MULTI (RecordingStatusStore.set, Backfills.start).
      expect(hashTagOf(keys.recordingStatus(RECORDING))).toBe(hashTagOf(keys.recordingIndex));
      expect(hashTagOf(keys.backfill(BACKFILL))).toBe(hashTagOf(keys.backfillIndex));
    }
    expect(new RedisKeys('mcapflow').hashTag).toBeUndefined();
  });
});

describe('KEY_CATALOG', () => {
  it('describes every key the factory makes, each by exactly one pattern', () => {
    const keys = new RedisKeys('mcapflow');
    const patterns = KEY_CATALOG.map((entry) => ({
      entry,
      regex: new RegExp(`^${entry.pattern.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/<[^>]+>/g, '[^:]+')}$`),
    }));
    for (const key of everyKey(keys)) {
      const matches = patterns.filter((p) => p.regex.test(key.replace(/^mcapflow/, '<prefix>')));
      expect({ key, matches: matches.map((m) => m.entry.pattern) }).toEqual({ key, matches: [expect.any(String)] });
    }
    expect(KEY_CATALOG).toHaveLength(everyKey(keys).length);
    for (const entry of KEY_CATALOG) {
      expect(entry.type).toMatch(/^(hash|sorted set|list|string|set|stream)$/);
      expect(entry.lifetime.length).toBeGreaterThan(0);
    }
  });

  it('is what the "Redis keys and queues" section of docs/architecture.md lists', () => {
    const doc = readFileSync(new URL('../../docs/architecture.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('## Redis keys and queues'));
    const body = section.slice(0, section.indexOf('\n## ', 3) === -1 ? undefined : section.indexOf('\n## ', 3));
    for (const entry of KEY_CATALOG) expect(body, entry.pattern).toContain(`\`${entry.pattern}\``);
  });
});

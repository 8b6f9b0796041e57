/**
 * Every Redis key mcapflow writes comes from src/queue/redis-keys.ts, which owns the prefix
 * and checks ids before they become key parts. This keeps it that way: a key built by hand
 * anywhere else in the code (src/, bench/, scripts/) fails here, naming file and line.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { KEY_CATALOG } from '../../src/queue/redis-keys.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCANNED = ['src', 'bench', 'scripts'];
const FACTORY = 'src/queue/redis-keys.ts';

/** The fixed words of mcapflow's keys after the prefix (`recording`, `backfill`, `lease`, …). */
const NAMESPACES = [...new Set(KEY_CATALOG.flatMap((entry) => entry.pattern.split(':').slice(1)).filter((part) => !part.startsWith('<')))];
const escape = (text: string) => text.replace(/[.*+?^$()|[\]{}\\-]/g, '\\$&');
const NS = NAMESPACES.map(escape).join('|');

const HAND_BUILT: { why: string; pattern: RegExp }[] = [
  { why: 'the prefix interpolated before a colon', pattern: /\$\{[^}]*prefix[^}]*\}:/i },
  { why: 'the prefix concatenated with a colon', pattern: /prefix\s*\+\s*['"`]:/i },
  { why: 'a word of an mcapflow key after a colon', pattern: new RegExp(`[:}](?:${NS})(?=[:'"\`]|\\$\\{)`) },
  { why: 'a word of an mcapflow key before a colon', pattern: new RegExp(`['"\`](?:${NS}):`) },
];

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|js|mjs)$/.test(entry.name) ? [path] : [];
  });
}

function handBuiltKeys(path: string, text: string): string[] {
  return text
    .split('\n')
    .flatMap((line, i) => HAND_BUILT.filter(({ pattern }) => pattern.test(line)).map(({ why }) => `${path}:${i + 1}: ${why}: ${line.trim()}`));
}

describe('Redis keys', () => {
  it('are built only by the key factory', () => {
    const files = SCANNED.flatMap(sourceFiles).filter((path) => relative(ROOT, join(ROOT, path)) !== FACTORY);
    expect(files.length).toBeGreaterThan(50);
    const found = files.flatMap((path) => handBuiltKeys(path, readFileSync(join(ROOT, path), 'utf8')));
    expect(found, 'build these keys with RedisKeys (src/queue/redis-keys.ts)').toEqual([]);
  });

  it('are recognised when built by hand, in the forms code has used', () => {
    for (const line of [
      'return `${this.#prefix}:recording:${recordingId}`;',
      'return `${this.#queues.settings.prefix}:attempts:${queue}:${jobId}`;',
      'batch.hincrby(`${prefix}:recording:${id}`, "jobs_done", n);',
      "const key = config.prefix + ':backfills';",
      "this.#key(id, ':lease')",
      'const index = `${p}:recordings`;',
      "redis.get('admin-session:' + hash)",
      'await redis.set(`${p}:dlq-dropped-until`, now);',
    ]) {
      expect(handBuiltKeys('x.ts', line).length, line).toBeGreaterThan(0);
    }
    // Not keys: a cursor, an S3 key under a prefix, a BullMQ job id, a host and port.
    for (const line of [
      'Buffer.from(`${score}:${id}`)',
      'validateObjectKey(`${options.prefix}${file.name}`)',
      'commit: `${flow}-commit`,',
      'return `http://${host}:${bound}`;',
      "createTable(connection, 'recordings', RECORDINGS_COLUMNS, catalog.recordings);",
    ]) {
      expect(handBuiltKeys('x.ts', line), line).toEqual([]);
    }
  });
});

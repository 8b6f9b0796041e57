/**
 * Damaged and hostile input: every file ends committed (recovered where data was lost) or
 * quarantined, always with a reason, and nothing lands in the dead-letter queue — bad input
 * is never mistaken for a system failure, and no worker falls over.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordingSummary } from '../../src/cli/summary.ts';
import { generateRobotRun } from '../../src/synth/robot-run.ts';
import { chunkIndexesOf } from '../helpers/mcap-builders.ts';
import { startHarness, type Harness } from '../helpers/pipeline-harness.ts';

let harness: Harness;
let dir: string;
let base: Buffer;
let baseMessages: number;
let chunkAt: number;
const results = new Map<string, RecordingSummary>();

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function variants(chunks: { offset: number; length: number }[]): [string, Buffer][] {
  const out: [string, Buffer][] = [];
  const size = base.length;
  for (const at of [1, 7, 8, 12, 20, 40, 100, 1000, 5000, 0.3, 0.5, 0.7, 0.9, size - 40, size - 1]) {
    const cut = at < 1 ? Math.floor(size * at) : at;
    out.push([`truncated-at-${cut}`, base.subarray(0, cut)]);
  }
  const random = prng(99);
  for (let i = 0; i < 8; i++) {
    const chunk = chunks[Math.floor(random() * chunks.length)]!;
    const at = chunk.offset + 40 + Math.floor(random() * (chunk.length - 41));
    const flipped = Buffer.from(base);
    flipped[at] = flipped[at]! ^ (1 << Math.floor(random() * 8));
    out.push([`bitflip-in-chunk-at-${at}`, flipped]);
  }
  const summaryFlip = Buffer.from(base);
  summaryFlip[size - 200] = summaryFlip[size - 200]! ^ 0x10;
  out.push(['bitflip-in-summary', summaryFlip]);
  const wrongMagic = Buffer.from(base);
  wrongMagic[1] = 0x4e;
  out.push(['wrong-magic', wrongMagic]);
  out.push(['zero-bytes', Buffer.alloc(0)]);
  out.push(['all-zeros', Buffer.alloc(4096)]);
  out.push(['random-bytes', Buffer.from(Array.from({ length: 10_000 }, () => Math.floor(random() * 256)))]);
  const absurdChunk = Buffer.from(base);
  chunkAt = chunks[1]!.offset;
  absurdChunk.writeBigUInt64LE(1n << 50n, chunkAt + 1);
  out.push(['absurd-chunk-length', absurdChunk]);
  const absurdHeader = Buffer.from(base);
  absurdHeader.writeBigUInt64LE(1n << 60n, 9);
  out.push(['absurd-header-length', absurdHeader]);
  return out;
}

beforeAll(async () => {
  harness = await startHarness('bad', { MCAPFLOW_SPAN_MAX_BYTES: String(128 * 1024), MCAPFLOW_MAX_RECORD_BYTES: String(64 * 1024 * 1024) });
  dir = mkdtempSync(join(tmpdir(), 'mcapflow-bad-'));
  const run = await generateRobotRun({ path: join(dir, 'base.mcap'), sizeBytes: 400 * 1024, seed: 5, chunkSizeBytes: 32 * 1024 });
  base = readFileSync(run.path);
  baseMessages = run.messages;
  const chunks = (await chunkIndexesOf(base)).map((c) => ({ offset: Number(c.chunkStartOffset), length: Number(c.chunkLength) }));
  for (const [name, bytes] of variants(chunks)) {
    const path = join(dir, `${name}.mcap`);
    writeFileSync(path, bytes);
    results.set(name, await harness.process(path, 30_000));
  }
}, 240_000);

afterAll(async () => {
  await harness?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('bad input', () => {
  it('ends every file committed or quarantined, with a reason whenever anything was lost', () => {
    for (const [name, result] of results) {
      expect(['committed', 'quarantined'], name).toContain(result.status);
      if (result.status === 'quarantined' || result.recovered) expect(result.reason, name).toMatch(/\w{3,}/);
      expect(result.messages, name).toBeLessThanOrEqual(baseMessages);
    }
  });

  it('files nothing in the dead-letter queue: bad input is not a system failure', async () => {
    expect(await harness.services.deadLetters.list()).toEqual([]);
  });

  it('quarantines what is not MCAP or is cut before its header', () => {
    for (const name of [
      'zero-bytes',
      'all-zeros',
      'random-bytes',
      'wrong-magic',
      'truncated-at-1',
      'truncated-at-7',
      'truncated-at-8',
      'truncated-at-12',
      'absurd-header-length',
    ]) {
      expect(results.get(name)?.status, name).toBe('quarantined');
    }
    expect(results.get('zero-bytes')!.reason).toMatch(/empty/);
    expect(results.get('wrong-magic')!.reason).toMatch(/not an MCAP file/);
  });

  it('recovers the complete chunks of truncated files, saying what was lost', () => {
    const half = results.get(`truncated-at-${Math.floor(base.length * 0.5)}`)!;
    expect(half).toMatchObject({ status: 'committed', recovered: true });
    expect(half.reason).toMatch(/truncated/);
    expect(half.messages).toBeGreaterThan(baseMessages * 0.3);
    expect(half.messages).toBeLessThan(baseMessages * 0.6);
  });

  it('skips a chunk whose bytes were flipped, reporting it by offset, and keeps the rest', () => {
    const flips = [...results].filter(([name]) => name.startsWith('bitflip-in-chunk'));
    expect(flips.length).toBe(8);
    for (const [name, result] of flips) {
      expect(result.status, name).toBe('committed');
      if (result.recovered) {
        expect(result.reason, name).toMatch(/chunk at offset \d+/);
        expect(result.messages, name).toBeGreaterThan(baseMessages * 0.8);
      } else {
        // A flip inside message payload of an uncompressed region can decode; it must be counted then.
        expect(result.messages, name).toBe(baseMessages);
      }
    }
    expect(flips.some(([, r]) => r.recovered)).toBe(true);
  });

  it('reads a file whose summary is damaged by scanning it, losing nothing', () => {
    expect(results.get('bitflip-in-summary')).toMatchObject({ status: 'committed', messages: baseMessages });
  });

  it('rejects a declared chunk length beyond the limit before allocating, and keeps what precedes it', () => {
    const result = results.get('absurd-chunk-length')!;
    expect(result.status).toBe('committed');
    expect(result.recovered).toBe(true);
    expect(result.reason).toMatch(new RegExp(`chunk at offset ${chunkAt}: record at offset ${chunkAt} declares \\d+ bytes`));
  });
});

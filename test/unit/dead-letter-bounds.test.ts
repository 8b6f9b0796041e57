import { describe, expect, it } from 'vitest';
import { boundEntry, clip, jsonBytes } from '../../src/queue/dead-letter-bounds.ts';

function entry(data: unknown, attempts: number, errorText: string, stackText: string) {
  return {
    id: 'extract-0123456789abcdef0123456789abcdef-extract-12',
    queue: 'extract',
    jobId: '0123456789abcdef0123456789abcdef-extract-12',
    name: 'extract',
    recordingId: '0123456789abcdef0123456789abcdef',
    data,
    attempts: Array.from({ length: attempts }, (_, i) => ({
      attempt: i + 1,
      at: '2026-12-02T10:00:00.000Z',
      worker: 'host:1234',
      error: errorText,
      code: 'STORAGE_FAILED',
      stack: stackText,
    })),
    failedReason: errorText,
    enqueuedAt: '2026-12-02T10:00:00.000Z',
    deadAt: '2026-12-02T10:05:00.000Z',
  };
}

describe('dead-letter entry bounds', () => {
  it('leaves a small entry exactly as it was', () => {
    const small = entry({ recordingId: 'r', planKey: 'objects/plans/ab/x.json', span: 3 }, 4, 'S3 GET failed (HTTP 503)', 'Error: x\n    at y (z.ts:1:1)');
    expect(boundEntry(small, 8192)).toEqual(small);
  });

  it.each([2048, 4096, 8192, 65_536])('keeps any entry within %i bytes and says what it cut', (budget) => {
    // Multi-byte characters, quotes and newlines: clipping measures encoded JSON, not characters.
    const error = 'Ünïcødé "quoted"\n'.repeat(2000);
    const stack = 'Error: 💥\n    at somewhere (file.ts:1:1)\n'.repeat(3000);
    const bounded = boundEntry(entry({ blob: 'é'.repeat(500_000) }, 40, error, stack), budget);
    expect(jsonBytes(bounded)).toBeLessThanOrEqual(budget);
    expect(bounded.data).toMatchObject({ truncated: true, bytes: jsonBytes({ blob: 'é'.repeat(500_000) }) });
    expect(bounded.attempts.length).toBeGreaterThanOrEqual(1);
    expect(bounded.attempts.at(-1)!.attempt).toBe(40);
    expect(bounded.attempts.length + (bounded.attemptsOmitted ?? 0)).toBe(40);
    expect(bounded.failedReason).toMatch(/clipped, \d+ bytes in all/);
    expect(bounded.id).toBe('extract-0123456789abcdef0123456789abcdef-extract-12');
  });

  it('clips text to an encoded size and keeps its beginning', () => {
    const text = `start ${'x'.repeat(10_000)}`;
    const clipped = clip(text, 200);
    expect(jsonBytes(clipped)).toBeLessThanOrEqual(200);
    expect(clipped.startsWith('start xxx')).toBe(true);
    expect(clip('short', 200)).toBe('short');
  });
});

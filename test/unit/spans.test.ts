import { describe, expect, it } from 'vitest';
import { planSpans, type Segment } from '../../src/domain/spans.ts';

function seg(offset: number, length: number, start: string | number = offset, end: string | number = offset + 1): Segment {
  return {
    kind: 'chunk',
    offset,
    length,
    compression: 'zstd',
    compressedSize: length - 50,
    uncompressedSize: length * 3,
    messageStartTime: String(start),
    messageEndTime: String(end),
  };
}

describe('planSpans', () => {
  it('groups neighbouring segments while the whole byte range (gaps included) stays within the limit', () => {
    // Chunks of 100 bytes with 20-byte message indexes between them.
    const segments = [seg(0, 100), seg(120, 100), seg(240, 100), seg(360, 100), seg(480, 100)];
    const spans = planSpans(segments, 340);
    expect(spans.map((s) => [s.start, s.end, s.segments.map((x) => x.offset)])).toEqual([
      [0, 340, [0, 120, 240]],
      [360, 580, [360, 480]],
    ]);
    expect(spans.map((s) => s.index)).toEqual([0, 1]);
    // One byte less and the third chunk no longer fits in the first span.
    expect(planSpans(segments, 339).map((s) => s.segments.length)).toEqual([2, 2, 1]);
  });

  it('gives a segment larger than the limit a span of its own, unsplit', () => {
    const spans = planSpans([seg(0, 10), seg(10, 1000), seg(1010, 10)], 100);
    expect(spans.map((s) => [s.start, s.end])).toEqual([
      [0, 10],
      [10, 1010],
      [1010, 1020],
    ]);
    expect(spans[1]!.segments).toHaveLength(1);
  });

  it('sorts segments by file offset before grouping', () => {
    const spans = planSpans([seg(300, 100), seg(0, 100), seg(200, 100), seg(100, 100)], 250);
    expect(spans.map((s) => s.segments.map((x) => x.offset))).toEqual([
      [0, 100],
      [200, 300],
    ]);
  });

  it("does not reorder the caller's array", () => {
    const input = [seg(300, 100), seg(0, 100)];
    planSpans(input, 1000);
    expect(input.map((s) => s.offset)).toEqual([300, 0]);
  });

  it('spans the earliest start and latest end of their segments, compared as numbers not strings', () => {
    // Chunks out of time order; '9' < '10' numerically but not as text.
    const spans = planSpans([seg(0, 10, '10', '20'), seg(10, 10, '9', '11'), seg(20, 10, '12', '100')], 1000);
    expect(spans).toHaveLength(1);
    expect(spans[0]!.messageStartTime).toBe('9');
    expect(spans[0]!.messageEndTime).toBe('100');
  });

  it('keeps nanosecond times beyond 2^53 exact', () => {
    const a = '1768467600000000001';
    const b = '1768467600000000002';
    const spans = planSpans([seg(0, 10, b, b), seg(10, 10, a, a)], 100);
    expect(spans[0]!.messageStartTime).toBe(a);
    expect(spans[0]!.messageEndTime).toBe(b);
  });

  it('returns no spans for no segments', () => {
    expect(planSpans([], 10)).toEqual([]);
  });

  it.each([0, -1, Number.NaN])('rejects a size limit of %s', (max) => {
    expect(() => planSpans([seg(0, 10)], max)).toThrow(RangeError);
  });
});

/** The data browser's pure parts: numeric leaves of DuckDB column types, SQL literals, and the recording list. */
import { describe, expect, it } from 'vitest';
import { coverageSql, fieldExpression, numericLeaves, quoteString, seriesSql } from '../../src/catalog/browse-sql.ts';
import { listRecordings, recordingListItems, type RecordingFilter } from '../../src/catalog/recording-list.ts';
import type { Manifest } from '../../src/domain/manifest.ts';
import { manifestFromJson } from '../../src/domain/manifest-schema.ts';
import { V1_ID, v1Manifest } from '../helpers/manifest-fixture.ts';

function manifestFixture(o: { recordingId: string; topics: string[]; start: bigint; end: bigint; size: number }): Manifest {
  const base = manifestFromJson(v1Manifest(), V1_ID);
  return {
    ...base,
    recording_id: o.recordingId,
    source: { ...base.source, size: o.size },
    start_time: o.start.toString(),
    end_time: o.end.toString(),
    topics: o.topics.map((topic) => ({ ...base.topics[0]!, topic })),
  };
}

describe('numeric leaves of column types', () => {
  it('walks structs (quoted member names too) and skips lists, maps and text', () => {
    const leaves = numericLeaves([
      ['log_time', 'BIGINT'],
      ['header', 'STRUCT(stamp STRUCT(sec INTEGER, nanosec UINTEGER), frame_id VARCHAR)'],
      ['pose', 'STRUCT("x y" DOUBLE, "say ""hi""" FLOAT, q DECIMAL(18,3))'],
      ['covariance', 'DOUBLE[]'],
      ['tags', 'MAP(VARCHAR, INTEGER)'],
      ['points', 'STRUCT(x DOUBLE)[]'],
      ['ok', 'BOOLEAN'],
    ]);
    expect(leaves).toEqual([
      ['log_time'],
      ['header', 'stamp', 'sec'],
      ['header', 'stamp', 'nanosec'],
      ['pose', 'x y'],
      ['pose', 'say "hi"'],
      ['pose', 'q'],
      ['ok'],
    ]);
    expect(fieldExpression(['pose', 'say "hi"'])).toBe('"pose"."say ""hi"""');
  });

  it('quotes values so a topic cannot end the literal', () => {
    expect(quoteString("/a'; DROP")).toBe("'/a''; DROP'");
    expect(coverageSql("x'y", { start: 0n, end: 10n, count: 5 })).toContain("recording_id = 'x''y'");
    expect(() => seriesSql({ table: 't', recordingId: 'r', timeColumn: 'log_time', fields: [['v']], buckets: { start: 5n, end: 5n, count: 3 } })).toThrow(
      /empty/,
    );
  });
});

describe('recording list', () => {
  const a = manifestFixture({ recordingId: 'a'.repeat(32), topics: ['/imu'], start: 1_000n, end: 2_000n, size: 10 });
  const b = manifestFixture({ recordingId: 'b'.repeat(32), topics: ['/odom'], start: 5_000n, end: 9_000n, size: 30 });
  const rows = recordingListItems(
    [
      { manifest: a, committedAt: new Date('2026-01-01T00:00:00Z') },
      { manifest: b, committedAt: new Date('2026-01-02T00:00:00Z') },
    ],
    [
      {
        recordingId: 'c'.repeat(32),
        state: 'processing',
        source: 's3://raw/c.mcap',
        reason: null,
        jobsTotal: 4,
        jobsDone: 1,
        updatedAt: '2026-01-03T00:00:00.000Z',
      },
    ],
  );
  const filter = (f: Partial<RecordingFilter>) =>
    listRecordings(rows, { sort: 'updated', descending: true, page: 1, perPage: 50, ...f }).items.map((i) => i.recording_id[0]);

  it('filters by topic, state and the recorded range it overlaps', () => {
    expect(filter({})).toEqual(['c', 'b', 'a']);
    expect(filter({ topic: '/imu' })).toEqual(['a']);
    expect(filter({ state: 'processing' })).toEqual(['c']);
    expect(filter({ from: 1_500n, to: 5_001n })).toEqual(['b', 'a']);
    expect(filter({ from: 2_001n })).toEqual(['b']);
    expect(filter({ text: 'C.MCAP' })).toEqual(['c']);
  });

  it('sorts with missing values last and pages stably', () => {
    expect(filter({ sort: 'size', descending: false })).toEqual(['a', 'b', 'c']);
    expect(filter({ sort: 'size', descending: true })).toEqual(['b', 'a', 'c']);
    const page = listRecordings(rows, { sort: 'size', descending: false, page: 2, perPage: 2 });
    expect(page).toMatchObject({ total: 3, pages: 2, page: 2 });
    expect(page.items.map((i) => i.recording_id[0])).toEqual(['c']);
    expect(() => listRecordings(rows, { sort: 'size', descending: false, page: 1, perPage: 2, from: 5n, to: 5n })).toThrow(/ends before it starts/);
  });
});

import { describe, expect, it } from 'vitest';
import { findQueryWindow, searchIndex } from '../../src/catalog/similarity.ts';
import { newSimilarityIndex } from '../../src/catalog/similarity-index-store.ts';
import { windowsOf, windowsSql, type FeatureWindow } from '../../src/catalog/window-table.ts';
import {
  normalise,
  normaliserOf,
  parseSimilarityDescriptor,
  parseSimilarityPointer,
  windowOfLabel,
  type IndexedRecording,
} from '../../src/domain/similarity-index.ts';
import { parseTime } from '../../src/cli/commands/cat.ts';

const S = 1_000_000_000n;
const w = (recordingId: string, second: number, features: number[], topic = '/imu'): FeatureWindow => ({
  recordingId,
  topic,
  windowStart: BigInt(second) * S,
  windowEnd: BigInt(second + 1) * S,
  features,
});

describe('reading a window-feature table', () => {
  it('selects the window columns of the named table', () => {
    expect(windowsSql('imu_windows')).toMatch(/^SELECT recording_id, topic, window_start, window_end, features FROM "imu_windows"/);
  });

  it('turns rows into windows, 64-bit times as strings or numbers', () => {
    const result = {
      columns: ['recording_id', 'topic', 'window_start', 'window_end', 'features'],
      rows: [['a', '/imu', '1768467600000000000', '1768467601000000000', [1, 2.5]]],
    };
    expect(windowsOf(result, 'imu_windows')).toEqual([
      { recordingId: 'a', topic: '/imu', windowStart: 1_768_467_600_000_000_000n, windowEnd: 1_768_467_601_000_000_000n, features: [1, 2.5] },
    ]);
  });

  it('refuses a malformed row instead of zeroing or skipping it', () => {
    const columns = ['recording_id', 'topic', 'window_start', 'window_end', 'features'];
    const table = (rows: unknown[][]) => windowsOf({ columns, rows }, 't');
    expect(() => table([['a', '/imu', 0, 1, [1, 'NaN']]])).toThrow(/t, recording a topic \/imu window 0: features must be a non-empty list of finite numbers/);
    expect(() => table([['a', '/imu', 0, 1, null]])).toThrow(/features must be/);
    expect(() => table([['a', '/imu', 0, 1, []]])).toThrow(/features must be/);
    expect(() => table([['a', '/imu', 5, 5, [1]]])).toThrow(/not a window row/);
    expect(() =>
      table([
        ['a', '/imu', 0, 1, [1, 2]],
        ['b', '/imu', 0, 1, [1, 2, 3]],
      ]),
    ).toThrow(/mixes feature vectors of 2 and 3 values \(recording b\)/);
  });
});

describe('finding the query window', () => {
  const windows = [w('a', 0, [0]), w('a', 1, [1]), w('a', 1, [2], '/imu2'), w('a', 3, [3]), w('b', 1, [4])];

  it('is the window of the recording containing the time, on the topic asked for', () => {
    expect(findQueryWindow(windows, 't', { recordingId: 'a', at: 0n })).toBe(0);
    expect(findQueryWindow(windows, 't', { recordingId: 'a', at: 4n * S - 1n })).toBe(3);
    expect(findQueryWindow(windows, 't', { recordingId: 'a', at: S, topic: '/imu2' })).toBe(2);
    expect(findQueryWindow(windows, 't', { recordingId: 'b', at: S + 5n })).toBe(4);
  });

  it('says clearly why there is none, or which topics to choose from', () => {
    expect(() => findQueryWindow(windows, 'imu_windows', { recordingId: 'c', at: 0n })).toThrow(/recording c has no windows in table imu_windows/);
    expect(() => findQueryWindow(windows, 't', { recordingId: 'a', at: 2n * S })).toThrow(
      /no window in table t containing 2000000000 \(no data was recorded then; its windows span \[0, 4000000000\)\)/,
    );
    expect(() => findQueryWindow(windows, 't', { recordingId: 'a', at: 0n, topic: '/gps' })).toThrow(
      /no windows on topic \/gps .* its topics there: \/imu, \/imu2/,
    );
    expect(() => findQueryWindow(windows, 't', { recordingId: 'a', at: S })).toThrow(/several topics .* \(\/imu, \/imu2\): name one topic/);
  });
});

describe('nearest windows', () => {
  it('z-normalises every feature: mean 0, standard deviation 1, constants to 0', () => {
    const vectors = [
      [1, 100, 7],
      [3, 300, 7],
    ];
    const normaliser = normaliserOf(vectors, 3);
    expect(vectors.map((v) => normalise(v, normaliser))).toEqual([
      [-1, -1, 0],
      [1, 1, 0],
    ]);
  });

  const byRecording = (windows: FeatureWindow[]): [string, string, FeatureWindow[]][] =>
    [...new Set(windows.map((x) => x.recordingId))].map((id) => [id, 'c'.repeat(64), windows.filter((x) => x.recordingId === id)]);

  it('answers the k nearest other windows, nearest first, never the query window itself', () => {
    // Feature 2 is in units 1000 times larger: unnormalised, b@1 (off by 10 in feature 1 only) would come before b@0 (off by 200 in feature 2).
    const windows = [
      w('a', 0, [0, 0]),
      w('a', 1, [10, 10_000]),
      w('a', 2, [0.1, 200]),
      w('b', 0, [9.5, 10_200]),
      w('b', 1, [0, 10_000]),
      w('b', 2, [10, 10_000]),
    ];
    const index = newSimilarityIndex('t', byRecording(windows));
    const search = (k: number) => searchIndex(index, { recordingId: 'a', at: S, k }, 't');
    const { neighbours, query, windows: searched } = search(3);
    expect(query).toEqual({ recording_id: 'a', topic: '/imu', window_start: '1000000000', window_end: '2000000000' });
    expect(searched).toBe(6);
    expect(neighbours.map((n) => [n.recording_id, n.window_start])).toEqual([
      ['b', '2000000000'], // identical features: distance 0, still another window
      ['b', '0'],
      ['b', '1000000000'],
    ]);
    expect(neighbours[0]!.distance).toBe(0);
    const distances = neighbours.map((n) => n.distance);
    expect(distances).toEqual([...distances].sort((x, y) => x - y));
    expect(neighbours[1]).toMatchObject({ topic: '/imu', window_end: '1000000000' });
    // Fewer windows than asked for: every other window, the query still left out.
    expect(search(50).neighbours).toHaveLength(5);
    const lonely = newSimilarityIndex('t', byRecording([w('a', 0, [1])]));
    expect(searchIndex(lonely, { recordingId: 'a', at: 0n, k: 5 }, 't').neighbours).toEqual([]);
  });

  it('names the recording a label belongs to, and no recording for a deleted label', () => {
    const recordings: IndexedRecording[] = [
      { recording_id: 'a'.repeat(32), content: 'c'.repeat(64), first_label: 0, windows: [['/imu', '0', '1']] },
      {
        recording_id: 'b'.repeat(32),
        content: 'c'.repeat(64),
        first_label: 3,
        windows: [
          ['/imu', '0', '1'],
          ['/imu', '1', '2'],
        ],
      },
    ];
    expect(windowOfLabel(recordings, 0)?.recording.recording_id).toBe('a'.repeat(32));
    expect(windowOfLabel(recordings, 4)?.window).toEqual(['/imu', '1', '2']);
    expect(windowOfLabel(recordings, 1)).toBeUndefined();
    expect(windowOfLabel(recordings, 5)).toBeUndefined();
  });

  it('refuses a stored index of another format or shape, naming the field', () => {
    expect(() => parseSimilarityPointer('{"format":"mcapflow.similarity-pointer/9"}')).toThrow(/format "mcapflow.similarity-pointer\/9"; this version reads/);
    expect(() => parseSimilarityPointer('nope')).toThrow(/pointer is not JSON/);
    const descriptor = {
      format: 'mcapflow.similarity-index/1',
      table: 'imu_windows',
      dims: 2,
      m: 16,
      ef_construction: 200,
      normaliser: { mean: [0], std: [1] },
      graph: { key: `similarity/imu_windows/${'a'.repeat(64)}.hnsw`, sha256: 'a'.repeat(64), bytes: 1 },
      next_label: 0,
      deleted: 0,
      recordings: [],
    };
    expect(() => parseSimilarityDescriptor(JSON.stringify(descriptor))).toThrow(/normaliser must have 2 means/);
    expect(() => parseSimilarityDescriptor(JSON.stringify({ ...descriptor, dims: 1, graph: { ...descriptor.graph, key: '../x' } }))).toThrow(
      /field graph.key is not a similarity object key/,
    );
    expect(parseSimilarityDescriptor(JSON.stringify({ ...descriptor, dims: 1 })).dims).toBe(1);
  });

  it('parses times', () => {
    expect(parseTime('2026-01-15T09:00:01.000000001Z')).toBe(1_768_467_601_000_000_001n);
    expect(parseTime('42')).toBe(42n);
    expect(() => parseTime('noon')).toThrow(/ISO 8601/);
  });
});

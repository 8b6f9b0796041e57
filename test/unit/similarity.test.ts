import { describe, expect, it } from 'vitest';
import { buildWindowIndex, findQueryWindow, nearestWindows, windowsOf, windowsSql, zNormalise, type FeatureWindow } from '../../src/catalog/similarity.ts';
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
    const out = zNormalise([
      [1, 100, 7],
      [3, 300, 7],
    ]);
    expect(out).toEqual([
      [-1, -1, 0],
      [1, 1, 0],
    ]);
  });

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
    const neighbours = nearestWindows(windows, 1, 3);
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
    expect(nearestWindows(windows, 0, 50).map((n) => `${n.recording_id}@${n.window_start}`)).toHaveLength(5);
    expect(nearestWindows([w('a', 0, [1])], 0, 5)).toEqual([]);
  });

  it('builds the index in one replaceable function', () => {
    const index = buildWindowIndex([
      [0, 0],
      [3, 4],
      [1, 0],
    ]);
    expect(index.size).toBe(3);
    expect(index.nearest([0, 0], 3)).toEqual([
      { label: 0, distance: 0 },
      { label: 2, distance: 1 },
      { label: 1, distance: 5 },
    ]);
    const asked: number[][][] = [];
    const fake = (vectors: readonly number[][]) => (
      asked.push([...vectors]),
      {
        size: vectors.length,
        nearest: () => [
          { label: 0, distance: 0 },
          { label: 1, distance: 2 },
        ],
      }
    );
    expect(nearestWindows([w('a', 0, [1]), w('a', 1, [3])], 0, 1, fake)).toMatchObject([{ window_start: '1000000000', distance: 2 }]);
    expect(asked).toEqual([[[-1], [1]]]);
  });

  it('parses times', () => {
    expect(parseTime('2026-01-15T09:00:01.000000001Z')).toBe(1_768_467_601_000_000_001n);
    expect(parseTime('42')).toBe(42n);
    expect(() => parseTime('noon')).toThrow(/ISO 8601/);
  });
});

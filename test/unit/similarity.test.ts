import { describe, expect, it } from 'vitest';
import { parse } from '@foxglove/rosmsg';
import { planColumns } from '../../src/decode/column-plan.ts';
import { nearestWindows, numericLeaves, windowFeaturesSql, type Window } from '../../src/catalog/similarity.ts';
import { parseWindow } from '../../src/cli/commands/similar.ts';
import { parseTime } from '../../src/cli/commands/cat.ts';
import { ROS2_SCHEMAS } from '../../src/synth/ros2-schemas.ts';

describe('window features', () => {
  it('flattens the numeric scalar fields of a message, leaving out lists and strings', () => {
    const columns = planColumns(parse(ROS2_SCHEMAS['sensor_msgs/msg/Imu'], { ros2: true }), { blobThresholdBytes: 4096 });
    const leaves = numericLeaves(columns);
    // Vector components are features; timestamps, strings and covariance lists are not.
    expect(leaves).toEqual(
      ['x', 'y', 'z', 'w']
        .map((c) => `"orientation"."${c}"`)
        .concat(['angular_velocity', 'linear_acceleration'].flatMap((v) => ['x', 'y', 'z'].map((c) => `"${v}"."${c}"`))),
    );
    expect(windowFeaturesSql('sensor_msgs_msg_Imu', ['"a"'], 1_000_000_000n)).toMatch(/avg\(CAST\("a" AS DOUBLE\)\) AS m0, coalesce\(stddev_pop/);
    expect(() => windowFeaturesSql('t', [], 1n)).toThrow(/no numeric fields/);
  });

  it('finds the nearest windows, excluding the query window itself', () => {
    const w = (recordingId: string, second: number, vector: number[]): Window => ({ recordingId, windowStart: BigInt(second) * 1_000_000_000n, vector });
    const windows = [w('a', 0, [0, 0]), w('a', 1, [10, 10]), w('a', 2, [0.1, 0.2]), w('b', 0, [9.5, 10.2]), w('b', 1, [5, 5])];
    const { query, neighbours } = nearestWindows(windows, 'a', 1_500_000_000n, 1_000_000_000n, 2);
    expect(query.windowStart).toBe(1_000_000_000n);
    expect(neighbours.map((n) => [n.recording_id, n.window_start])).toEqual([
      ['b', '0'],
      ['b', '1000000000'],
    ]);
    expect(neighbours[0]!.distance).toBeLessThan(neighbours[1]!.distance);
    expect(() => nearestWindows(windows, 'c', 0n, 1_000_000_000n, 2)).toThrow(/no data/);
  });

  it('parses windows and times', () => {
    expect(parseWindow('1s')).toBe(1_000_000_000n);
    expect(parseWindow('250ms')).toBe(250_000_000n);
    expect(() => parseWindow('10us')).toThrow(/at least 1ms/);
    expect(parseTime('2026-01-15T09:00:01.000000001Z')).toBe(1_768_467_601_000_000_001n);
    expect(parseTime('42')).toBe(42n);
    expect(() => parseTime('noon')).toThrow(/ISO 8601/);
  });
});

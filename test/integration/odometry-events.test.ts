/**
 * The built-in message operator example: stops and hard turns found in odometry as it is
 * decoded, in the same pass, queryable as `odometry_events`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { queryCatalog } from '../../src/catalog/query-session.ts';
import { ROS2_SCHEMAS } from '../../src/synth/ros2-schemas.ts';
import { recordingWith } from '../helpers/hostile-files.ts';
import { startHarness, type Harness } from '../helpers/pipeline-harness.ts';

let harness: Harness;
let dir: string;
const HZ = 50;

function odometry(i: number, linear: number, yawRate: number) {
  const t = 1_700_000_000 + i / HZ;
  return {
    header: { stamp: { sec: Math.floor(t), nanosec: Math.round((t % 1) * 1e9) }, frame_id: 'odom' },
    child_frame_id: 'base_link',
    pose: { pose: { position: { x: i, y: 0, z: 0 }, orientation: { x: 0, y: 0, z: 0, w: 1 } }, covariance: new Float64Array(36) },
    twist: { twist: { linear: { x: linear, y: 0, z: 0 }, angular: { x: 0, y: 0, z: yawRate } }, covariance: new Float64Array(36) },
  };
}

beforeAll(async () => {
  harness = await startHarness('odom-events');
  dir = mkdtempSync(join(tmpdir(), 'mcapflow-odom-'));
}, 60_000);

afterAll(async () => {
  await harness?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('finds a 2 s stop and a hard turn, and nothing while driving straight', async () => {
  // 0–2 s driving, 2–4 s stopped, 4–5 s driving, 5–5.5 s turning at 1.2 rad/s, then straight.
  const messages = Array.from({ length: 7 * HZ }, (_, i) => {
    const s = i / HZ;
    if (s >= 2 && s < 4) return odometry(i, 0, 0);
    if (s >= 5 && s < 5.5) return odometry(i, 1, 1.2);
    return odometry(i, 1, 0.1);
  });
  const path = join(dir, 'drive.mcap');
  writeFileSync(
    path,
    await recordingWith(
      [{ topic: '/odom', schema: { name: 'nav_msgs/msg/Odometry', text: ROS2_SCHEMAS['nav_msgs/msg/Odometry'] }, messages }],
      BigInt(1e9 / HZ),
    ),
  );
  const summary = await harness.process(path);
  expect(summary).toMatchObject({ status: 'committed', messages: 7 * HZ });
  const rows = (
    await queryCatalog(
      { store: harness.services.store, derivedBucket: harness.config.derivedBucket, home: harness.home },
      `SELECT kind, messages, round(duration_ns / 1e9, 2), round(peak, 2), truncated FROM odometry_events WHERE recording_id = '${summary.recording_id}' ORDER BY log_time`,
    )
  ).rows;
  expect(rows).toEqual([
    ['stop', 2 * HZ, 1.98, 0, false],
    ['hard_turn', HZ / 2, 0.48, 1.2, false],
  ]);
});

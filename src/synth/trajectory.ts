/** Ground-truth planar motion of base_link in the odom frame at one instant. */
export interface RobotState {
  x: number;
  y: number;
  yaw: number;
  /** Forward speed along the heading, m/s. */
  speed: number;
  yawRate: number;
  /** Body-frame acceleration (tangential, centripetal), m/s². */
  accelForward: number;
  accelLateral: number;
  /** Path length covered since t = 0, m (approximate, grows with time). */
  distance: number;
}

// Figure-eight (Gerono lemniscate) x = A sin θ, y = A/2 sin 2θ with θ = ωt. With A = 8 m and
// ω = 0.13 rad/s the speed stays between ~0.7 and ~1.5 m/s (mean ~1 m/s) and one lap takes ~48 s,
// and the heading never reverses, so the robot always drives forwards.
const AMPLITUDE_M = 8;
const OMEGA = 0.13;
const MEAN_SPEED = 1.01; // numerically averaged over one lap

export function robotStateAt(tSec: number, out: RobotState): RobotState {
  const th = OMEGA * tSec;
  const s1 = Math.sin(th);
  const c1 = Math.cos(th);
  const s2 = Math.sin(2 * th);
  const c2 = Math.cos(2 * th);
  const aw = AMPLITUDE_M * OMEGA;
  const aww = aw * OMEGA;
  const dx = aw * c1;
  const dy = aw * c2;
  const ddx = -aww * s1;
  const ddy = -2 * aww * s2;
  const v2 = dx * dx + dy * dy;
  const v = Math.sqrt(v2);
  out.x = AMPLITUDE_M * s1;
  out.y = (AMPLITUDE_M / 2) * s2;
  out.yaw = Math.atan2(dy, dx);
  out.speed = v;
  out.yawRate = (dx * ddy - dy * ddx) / v2;
  out.accelForward = (dx * ddx + dy * ddy) / v;
  out.accelLateral = v * out.yawRate;
  out.distance = MEAN_SPEED * tSec;
  return out;
}

export function newRobotState(): RobotState {
  return { x: 0, y: 0, yaw: 0, speed: 0, yawRate: 0, accelForward: 0, accelLateral: 0, distance: 0 };
}

export interface Quaternion {
  x: number;
  y: number;
  z: number;
  w: number;
}

export function yawToQuaternion(yaw: number): Quaternion {
  return { x: 0, y: 0, z: Math.sin(yaw / 2), w: Math.cos(yaw / 2) };
}

export function rpyToQuaternion(roll: number, pitch: number, yaw: number): Quaternion {
  const cr = Math.cos(roll / 2);
  const sr = Math.sin(roll / 2);
  const cp = Math.cos(pitch / 2);
  const sp = Math.sin(pitch / 2);
  const cy = Math.cos(yaw / 2);
  const sy = Math.sin(yaw / 2);
  return {
    x: sr * cp * cy - cr * sp * sy,
    y: cr * sp * cy + sr * cp * sy,
    z: cr * cp * sy - sr * sp * cy,
    w: cr * cp * cy + sr * sp * sy,
  };
}

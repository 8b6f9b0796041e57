import { JpegSynth } from './camera.ts';
import { CdrEncoder } from './cdr-encoder.ts';
import { LIDAR_POINTS, LIDAR_POINT_STEP, LidarScanner } from './lidar.ts';
import { Prng } from './prng.ts';
import { ROS2_SCHEMAS, type Ros2SchemaName } from './ros2-schemas.ts';
import { newRobotState, robotStateAt, rpyToQuaternion, yawToQuaternion, type Quaternion, type RobotState } from './trajectory.ts';

export interface StreamSpec {
  topic: string;
  schemaName: Ros2SchemaName;
  rateHz: number;
  /** Drives the offered QoS recorded in channel metadata, as rosbag2 does. */
  reliable: boolean;
}

export const STREAMS: readonly StreamSpec[] = [
  { topic: '/imu', schemaName: 'sensor_msgs/msg/Imu', rateHz: 200, reliable: false },
  { topic: '/odom', schemaName: 'nav_msgs/msg/Odometry', rateHz: 50, reliable: true },
  { topic: '/tf', schemaName: 'tf2_msgs/msg/TFMessage', rateHz: 100, reliable: true },
  { topic: '/lidar/points', schemaName: 'sensor_msgs/msg/PointCloud2', rateHz: 10, reliable: false },
  { topic: '/camera/image/compressed', schemaName: 'sensor_msgs/msg/CompressedImage', rateHz: 15, reliable: false },
];

// Indexes into STREAMS.
const Stream = { Imu: 0, Odom: 1, Tf: 2, Lidar: 3, Camera: 4 } as const;

export interface SimMessage {
  stream: number;
  /** Per-stream counter starting at 0. */
  sequence: number;
  logTime: bigint;
  /** CDR payload; only valid until the next call to `next()`. */
  data: Uint8Array;
}

const NS_PER_S = 1_000_000_000;
const GRAVITY = 9.80665;
const IMU_GYRO_SIGMA = 0.0015; // rad/s
const IMU_ACCEL_SIGMA = 0.02; // m/s²
const ODOM_TWIST_SIGMA = 0.005;
const UNOBSERVED_VARIANCE = 1e6; // z, roll and pitch of a planar odometry source

const LIDAR_MOUNT = { x: 0.15, y: 0, z: 0.45 } as const;
const CAMERA_MOUNT = { x: 0.25, y: 0, z: 0.35, pitch: (5 * Math.PI) / 180 } as const;
const IDENTITY: Quaternion = { x: 0, y: 0, z: 0, w: 1 };
const CAMERA_ROTATION = rpyToQuaternion(0, CAMERA_MOUNT.pitch, 0);

const POINT_FIELDS = ['x', 'y', 'z', 'intensity'].map((name, i) => ({
  name,
  offset: i * 4,
  datatype: 7, // sensor_msgs/PointField.FLOAT32
  count: 1,
}));

function diagonal(size: number, values: readonly number[]): Float64Array {
  const m = new Float64Array(size * size);
  values.forEach((v, i) => (m[i * size + i] = v));
  return m;
}

/**
 * Deterministic robot: drives a figure-eight and emits the five sensor streams, merged in log-time
 * order (ties go to the stream listed first). Each sensor draws from its own PRNG stream so
 * changing one sensor's model does not perturb the others.
 */
export class RobotSimulator {
  readonly #startNs: bigint;
  readonly #encoders: CdrEncoder[];
  readonly #nextIndex: number[] = STREAMS.map(() => 0);
  readonly #state: RobotState = newRobotState();

  readonly #imuPrng: Prng;
  readonly #odomPrng: Prng;
  readonly #gyroBias: number;
  #imuYaw: number;
  readonly #imuOrientationCov = diagonal(3, [2.5e-3, 2.5e-3, 2.5e-3]);
  readonly #imuGyroCov = diagonal(3, Array(3).fill(IMU_GYRO_SIGMA ** 2));
  readonly #imuAccelCov = diagonal(3, Array(3).fill(IMU_ACCEL_SIGMA ** 2));
  readonly #poseCov = diagonal(6, [0, 0, UNOBSERVED_VARIANCE, UNOBSERVED_VARIANCE, UNOBSERVED_VARIANCE, 0]);
  readonly #twistCov = diagonal(6, [1e-3, 1e-3, UNOBSERVED_VARIANCE, UNOBSERVED_VARIANCE, UNOBSERVED_VARIANCE, 1e-3]);
  readonly #lidar: LidarScanner;
  readonly #camera: JpegSynth;

  constructor(seed: number, startNs: bigint) {
    this.#startNs = startNs;
    const stream = (id: number) => new Prng((Math.imul(seed | 0, 31) + id) | 0);
    this.#imuPrng = stream(1);
    this.#odomPrng = stream(2);
    this.#lidar = new LidarScanner(stream(3));
    this.#camera = new JpegSynth(stream(4));
    this.#gyroBias = stream(5).gaussian(0.002);
    this.#imuYaw = robotStateAt(0, this.#state).yaw;
    this.#encoders = STREAMS.map((s) => new CdrEncoder(ROS2_SCHEMAS[s.schemaName], s.schemaName === 'sensor_msgs/msg/PointCloud2' ? 72_000 : 4096));
  }

  /** Nanoseconds after the start at which the next message is stamped. */
  peekOffsetNs(): number {
    return this.#offsetNs(this.#nextStream());
  }

  next(): SimMessage {
    const stream = this.#nextStream();
    const sequence = this.#nextIndex[stream] ?? 0;
    const offsetNs = this.#offsetNs(stream);
    this.#nextIndex[stream] = sequence + 1;
    const logTime = this.#startNs + BigInt(offsetNs);
    const tSec = offsetNs / NS_PER_S;
    const stamp = { sec: Number(logTime / 1_000_000_000n), nanosec: Number(logTime % 1_000_000_000n) };
    const message = this.#build(stream, sequence, tSec, stamp);
    const encoder = this.#encoders[stream];
    if (!encoder) throw new Error(`no encoder for stream ${stream}`);
    return { stream, sequence, logTime, data: encoder.encode(message) };
  }

  #offsetNs(stream: number): number {
    const spec = STREAMS[stream];
    const index = this.#nextIndex[stream] ?? 0;
    // Integer nanoseconds on an ideal clock; exact for the 200/100/50/10 Hz streams.
    return spec ? Math.floor((index * NS_PER_S) / spec.rateHz) : Infinity;
  }

  #nextStream(): number {
    let best = 0;
    let bestOffset = Infinity;
    for (let s = 0; s < STREAMS.length; s++) {
      const offset = this.#offsetNs(s);
      if (offset < bestOffset) {
        best = s;
        bestOffset = offset;
      }
    }
    return best;
  }

  #build(stream: number, seq: number, tSec: number, stamp: Stamp): unknown {
    const state = robotStateAt(tSec, this.#state);
    switch (stream) {
      case Stream.Imu:
        return this.#imu(seq, state, stamp);
      case Stream.Odom:
        return this.#odom(state, stamp);
      case Stream.Tf:
        return this.#tf(seq, state, stamp);
      case Stream.Lidar:
        return this.#pointCloud(state, stamp);
      case Stream.Camera:
        return { header: { stamp, frame_id: 'camera_link' }, format: 'jpeg', data: this.#camera.frame(seq) };
      default:
        throw new Error(`unknown stream ${stream}`);
    }
  }

  #imu(seq: number, state: RobotState, stamp: Stamp): unknown {
    const prng = this.#imuPrng;
    const gz = state.yawRate + this.#gyroBias + prng.gaussian(IMU_GYRO_SIGMA);
    // The orientation is what an onboard filter would report: the integrated (biased, noisy) gyro,
    // so it slowly drifts away from the odometry heading like a real IMU.
    if (seq > 0) this.#imuYaw += gz / (STREAMS[Stream.Imu]?.rateHz ?? 200);
    return {
      header: { stamp, frame_id: 'imu_link' },
      orientation: yawToQuaternion(this.#imuYaw),
      orientation_covariance: this.#imuOrientationCov,
      angular_velocity: { x: prng.gaussian(IMU_GYRO_SIGMA), y: prng.gaussian(IMU_GYRO_SIGMA), z: gz },
      angular_velocity_covariance: this.#imuGyroCov,
      linear_acceleration: {
        x: state.accelForward + prng.gaussian(IMU_ACCEL_SIGMA),
        y: state.accelLateral + prng.gaussian(IMU_ACCEL_SIGMA),
        z: GRAVITY + prng.gaussian(IMU_ACCEL_SIGMA),
      },
      linear_acceleration_covariance: this.#imuAccelCov,
    };
  }

  #odom(state: RobotState, stamp: Stamp): unknown {
    const prng = this.#odomPrng;
    // Dead-reckoning uncertainty grows with distance travelled.
    const xyVar = 1e-3 + 2e-4 * state.distance;
    this.#poseCov[0] = xyVar;
    this.#poseCov[7] = xyVar;
    this.#poseCov[35] = 1e-3 + 1e-4 * state.distance;
    return {
      header: { stamp, frame_id: 'odom' },
      child_frame_id: 'base_link',
      pose: {
        pose: { position: { x: state.x, y: state.y, z: 0 }, orientation: yawToQuaternion(state.yaw) },
        covariance: this.#poseCov,
      },
      twist: {
        twist: {
          linear: { x: state.speed + prng.gaussian(ODOM_TWIST_SIGMA), y: 0, z: 0 },
          angular: { x: 0, y: 0, z: state.yawRate + prng.gaussian(ODOM_TWIST_SIGMA) },
        },
        covariance: this.#twistCov,
      },
    };
  }

  #tf(seq: number, state: RobotState, stamp: Stamp): unknown {
    const transforms = [
      transform(stamp, 'odom', 'base_link', { x: state.x, y: state.y, z: 0 }, yawToQuaternion(state.yaw)),
      transform(stamp, 'base_link', 'lidar_link', LIDAR_MOUNT, IDENTITY),
    ];
    // The camera extrinsic is republished at half rate, so messages carry 3 or 2 transforms.
    if (seq % 2 === 0) transforms.push(transform(stamp, 'base_link', 'camera_link', CAMERA_MOUNT, CAMERA_ROTATION));
    return { transforms };
  }

  #pointCloud(state: RobotState, stamp: Stamp): unknown {
    const c = Math.cos(state.yaw);
    const s = Math.sin(state.yaw);
    const data = this.#lidar.scan(state.x + c * LIDAR_MOUNT.x - s * LIDAR_MOUNT.y, state.y + s * LIDAR_MOUNT.x + c * LIDAR_MOUNT.y, LIDAR_MOUNT.z, state.yaw);
    return {
      header: { stamp, frame_id: 'lidar_link' },
      height: 1,
      width: LIDAR_POINTS,
      fields: POINT_FIELDS,
      is_bigendian: false,
      point_step: LIDAR_POINT_STEP,
      row_step: LIDAR_POINTS * LIDAR_POINT_STEP,
      data,
      is_dense: true,
    };
  }
}

interface Stamp {
  sec: number;
  nanosec: number;
}

function transform(stamp: Stamp, parent: string, child: string, t: { x: number; y: number; z: number }, q: Quaternion): unknown {
  return {
    header: { stamp, frame_id: parent },
    child_frame_id: child,
    transform: { translation: { x: t.x, y: t.y, z: t.z }, rotation: q },
  };
}

/**
 * Decode benchmark: the object path (MessageReader + SchemaTableBuilder) against the columnar
 * fast path (ColumnarCdrTableBuilder), both from raw CDR to a finished Arrow table, on
 * synthetic sensor_msgs/msg/Imu and nav_msgs/msg/Odometry messages generated in memory.
 *
 *   npx tsx bench/decode.ts [--imu N] [--odometry N] [--tf N] [--rounds N]
 *
 * Messages are packed into 4 MiB buffers and handed over as views, as the span reader does
 * with decompressed chunks. Each round times both paths; the best round of each is reported
 * (2 cores and a shared machine: the minimum is the least noisy estimate). A full GC runs
 * before every timed run so neither path pays for the other's garbage. Before timing, the
 * two tables are checked to be identical (values and IPC bytes).
 */
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as arrow from 'apache-arrow';
import { planColumns } from '../src/decode/column-plan.ts';
import { ColumnarCdrTableBuilder, tableDifference } from '../src/decode/columnar/index.ts';
import { compileRos2Schema } from '../src/decode/ros2msg.ts';
import { SchemaTableBuilder, type BlobSink } from '../src/decode/table-builder.ts';
import { CdrEncoder } from '../src/synth/cdr-encoder.ts';
import { Prng } from '../src/synth/prng.ts';
import { ROS2_SCHEMAS, type Ros2SchemaName } from '../src/synth/ros2-schemas.ts';

const { values: args } = parseArgs({
  options: {
    imu: { type: 'string', default: '200000' },
    odometry: { type: 'string', default: '50000' },
    tf: { type: 'string', default: '0' },
    rounds: { type: 'string', default: '5' },
  },
});

// A full collection between timed runs, without having to pass --expose-gc through tsx.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const BLOB_THRESHOLD = 4096;
const CHUNK_BYTES = 4 * 1024 * 1024;
const RECORDING_ID = 'bench-recording';

const noBlobs: BlobSink = {
  put() {
    throw new Error('these schemas have no blob fields');
  },
};

interface Message {
  logTime: bigint;
  data: Uint8Array;
}

function vec3(prng: Prng): { x: number; y: number; z: number } {
  return { x: prng.gaussian(), y: prng.gaussian(), z: prng.gaussian() };
}

function quaternion(prng: Prng): { x: number; y: number; z: number; w: number } {
  return { x: prng.gaussian(), y: prng.gaussian(), z: prng.gaussian(), w: prng.gaussian() };
}

function covariance(prng: Prng, n: number): Float64Array {
  return Float64Array.from({ length: n }, () => prng.next());
}

function header(i: number, frame: string): unknown {
  return { stamp: { sec: 1_768_467_600 + Math.floor(i / 200), nanosec: (i % 200) * 5_000_000 }, frame_id: frame };
}

const MAKERS: Record<string, (prng: Prng, i: number) => unknown> = {
  'sensor_msgs/msg/Imu': (prng, i) => ({
    header: header(i, 'imu_link'),
    orientation: quaternion(prng),
    orientation_covariance: covariance(prng, 9),
    angular_velocity: vec3(prng),
    angular_velocity_covariance: covariance(prng, 9),
    linear_acceleration: vec3(prng),
    linear_acceleration_covariance: covariance(prng, 9),
  }),
  'nav_msgs/msg/Odometry': (prng, i) => ({
    header: header(i, 'odom'),
    child_frame_id: 'base_link',
    pose: { pose: { position: vec3(prng), orientation: quaternion(prng) }, covariance: covariance(prng, 36) },
    twist: { twist: { linear: vec3(prng), angular: vec3(prng) }, covariance: covariance(prng, 36) },
  }),
  'tf2_msgs/msg/TFMessage': (prng, i) => ({
    transforms: ['base_link', 'lidar_link', 'camera_link'].map((child) => ({
      header: header(i, 'odom'),
      child_frame_id: child,
      transform: { translation: vec3(prng), rotation: quaternion(prng) },
    })),
  }),
};

/** `count` messages of `schema`, CDR-encoded and packed into chunk-sized buffers. */
function generate(schema: Ros2SchemaName, count: number, seed: number): Message[] {
  const encoder = new CdrEncoder(ROS2_SCHEMAS[schema]);
  const prng = new Prng(seed);
  const make = MAKERS[schema]!;
  const messages: Message[] = [];
  let chunk = new Uint8Array(CHUNK_BYTES);
  let used = 0;
  for (let i = 0; i < count; i++) {
    const bytes = encoder.encode(make(prng, i));
    if (used + bytes.length > chunk.length) {
      chunk = new Uint8Array(Math.max(CHUNK_BYTES, bytes.length));
      used = 0;
    }
    chunk.set(bytes, used);
    messages.push({ logTime: 1_768_467_600_000_000_000n + BigInt(i) * 5_000_000n, data: chunk.subarray(used, used + bytes.length) });
    // Keep the next message 8-byte aligned in the chunk, like records in a real chunk are not: vary it.
    used += bytes.length + (i % 3);
  }
  return messages;
}

/** A schema compiled once, as the decoder registry does per process; builders are per span. */
interface Compiled {
  decode(data: Uint8Array): Record<string, unknown>;
  definitions: ReturnType<typeof compileRos2Schema>['definitions'];
  columns: ReturnType<typeof planColumns>;
}

function compile(schemaText: string): Compiled {
  const compiled = compileRos2Schema(schemaText);
  return { ...compiled, columns: planColumns(compiled.definitions, { blobThresholdBytes: BLOB_THRESHOLD }) };
}

function objectPath(schema: Compiled, messages: Message[], topic: string): arrow.Table {
  const builder = new SchemaTableBuilder(schema.columns, { blobThresholdBytes: BLOB_THRESHOLD, blobs: noBlobs });
  for (const m of messages) builder.append(RECORDING_ID, topic, m.logTime, m.logTime, schema.decode(m.data));
  return builder.finish();
}

function columnarPath(schema: Compiled, messages: Message[], topic: string): arrow.Table {
  const builder = new ColumnarCdrTableBuilder(schema.definitions, schema.columns, { blobThresholdBytes: BLOB_THRESHOLD, blobs: noBlobs });
  for (const m of messages) builder.append(RECORDING_ID, topic, m.logTime, m.logTime, m.data);
  return builder.finish();
}

function seconds(run: () => unknown): number {
  gc();
  const start = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

interface Result {
  name: string;
  messages: number;
  bytes: number;
  baselineS: number;
  columnarS: number;
  ipcIdentical: boolean;
}

function bench(name: string, schema: Ros2SchemaName, count: number, rounds: number, seed: number): Result {
  const messages = generate(schema, count, seed);
  const text = compile(ROS2_SCHEMAS[schema]);
  const topic = `/${name}`;

  // Correctness first: a fast wrong answer is no answer.
  const expected = objectPath(text, messages, topic);
  const actual = columnarPath(text, messages, topic);
  const ipcIdentical = Buffer.from(arrow.tableToIPC(expected)).equals(Buffer.from(arrow.tableToIPC(actual)));
  if (!ipcIdentical) {
    const difference = tableDifference(actual, expected);
    if (difference !== undefined) throw new Error(`${name}: columnar table differs from the object path: ${difference}`);
  }

  let baselineS = Infinity;
  let columnarS = Infinity;
  for (let round = 0; round < rounds; round++) {
    baselineS = Math.min(
      baselineS,
      seconds(() => objectPath(text, messages, topic)),
    );
    columnarS = Math.min(
      columnarS,
      seconds(() => columnarPath(text, messages, topic)),
    );
  }
  return { name, messages: count, bytes: messages.reduce((n, m) => n + m.data.length, 0), baselineS, columnarS, ipcIdentical };
}

const rounds = Number(args.rounds);
const plan: [string, Ros2SchemaName, number][] = [
  ['imu', 'sensor_msgs/msg/Imu', Number(args.imu)],
  ['odometry', 'nav_msgs/msg/Odometry', Number(args.odometry)],
  ['tf', 'tf2_msgs/msg/TFMessage', Number(args.tf)],
];
const results = plan.filter(([, , n]) => n > 0).map(([name, schema, n], i) => bench(name, schema, n, rounds, i + 1));

const round2 = (x: number): number => Math.round(x * 100) / 100;
const perName = (f: (r: Result) => number): Record<string, number> => Object.fromEntries(results.map((r) => [r.name, f(r)]));
const summary = {
  decode_speedup: perName((r) => round2(r.baselineS / r.columnarS)),
  baseline_msgs_per_s: perName((r) => Math.round(r.messages / r.baselineS)),
  columnar_msgs_per_s: perName((r) => Math.round(r.messages / r.columnarS)),
  columnar_mb_per_s: perName((r) => round2(r.bytes / r.columnarS / 1e6)),
  messages: perName((r) => r.messages),
  ipc_identical: Object.fromEntries(results.map((r) => [r.name, r.ipcIdentical])),
  rounds,
  node: process.version,
};
console.log(JSON.stringify(summary));
console.log();
console.log('schema     messages   baseline msg/s   columnar msg/s   speedup   IPC identical');
for (const r of results) {
  console.log(
    `${r.name.padEnd(10)} ${String(r.messages).padStart(8)}   ${String(Math.round(r.messages / r.baselineS)).padStart(14)}   ${String(Math.round(r.messages / r.columnarS)).padStart(14)}   ${(r.baselineS / r.columnarS).toFixed(2).padStart(6)}x   ${r.ipcIdentical ? 'yes' : 'no'}`,
  );
}

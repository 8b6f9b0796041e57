import { rm } from 'node:fs/promises';
import { McapWriter, type McapWriterOptions } from '@mcap/core';
import { loadChunkCompressor, type ChunkCompression, type CompressChunk } from './compression.ts';
import { BufferedFileWritable } from './file-writable.ts';
import { ROS2_SCHEMAS } from './ros2-schemas.ts';
import { RobotSimulator, STREAMS, type StreamSpec } from './simulator.ts';
import { SizeEstimator } from './size-estimator.ts';

export { STREAMS as ROBOT_RUN_STREAMS, type StreamSpec } from './simulator.ts';

/** 2026-01-15T09:00:00Z. */
export const DEFAULT_START_TIME_NS = 1_768_467_600_000_000_000n;
export const SYNTH_LIBRARY = 'mcapflow-synth/1';
export const DEFAULT_CHUNK_SIZE_BYTES = 4 * 1024 * 1024;

/** McapWriter options a caller may override; the output sink is always the target file. */
export type RobotRunWriterOptions = Partial<Omit<McapWriterOptions, 'writable'>>;

export interface RobotRunOptions {
  /** Output file; overwritten if it exists. */
  path: string;
  /** Approximate target file size; the recording duration is derived from it. */
  sizeBytes: number;
  /** Integer in [0, 2^32), default 1. Same seed, size and options give a byte-identical file. */
  seed?: number;
  /** Chunk compression, default 'zstd'. */
  compression?: ChunkCompression;
  /** Uncompressed chunk size, default 4 MiB. */
  chunkSizeBytes?: number;
  /** Log time of the first message, default {@link DEFAULT_START_TIME_NS}. */
  startTimeNs?: bigint;
  /** Merged over the defaults derived from the options above (so these win). */
  writerOptions?: RobotRunWriterOptions;
  /** Called with the number of bytes on disk each time a block is flushed. */
  onProgress?: (bytesWritten: number) => void;
}

export interface RobotRunSummary {
  path: string;
  bytes: number;
  /** Length of the recorded window: messages have log times in [start, start + durationNs). */
  durationNs: bigint;
  messages: number;
  topics: { topic: string; schema: string; messages: number }[];
}

const NS_PER_S = 1_000_000_000;
// Stop decisions happen on 100 ms boundaries so every stream covers the same time window.
const STOP_CHECK_INTERVAL_NS = 100_000_000;
const MIN_DURATION_NS = NS_PER_S;
// Recording length used to sample how well the data compresses before writing starts.
const COMPRESSION_SAMPLE_NS = NS_PER_S;

const textEncoder = new TextEncoder();

export async function generateRobotRun(options: RobotRunOptions): Promise<RobotRunSummary> {
  const seed = options.seed ?? 1;
  const startNs = options.startTimeNs ?? DEFAULT_START_TIME_NS;
  validate(options, seed, startNs);

  const writerOptions: RobotRunWriterOptions = {
    chunkSize: options.chunkSizeBytes ?? DEFAULT_CHUNK_SIZE_BYTES,
    compressChunk: await loadChunkCompressor(options.compression ?? 'zstd'),
    ...options.writerOptions,
  };
  const chunked = writerOptions.useChunks !== false;
  const initialRatio = chunked && writerOptions.compressChunk ? sampleCompressionRatio(seed, startNs, writerOptions.compressChunk) : 1;

  const writable = await BufferedFileWritable.create(options.path, { onFlush: options.onProgress });
  try {
    const summary = await writeRun(writable, writerOptions, {
      path: options.path,
      seed,
      startNs,
      targetBytes: options.sizeBytes,
      initialRatio,
      messageIndex: chunked && writerOptions.useMessageIndex !== false,
      repeatSchemas: writerOptions.repeatSchemas !== false,
      repeatChannels: writerOptions.repeatChannels !== false,
    });
    await writable.close();
    return summary;
  } catch (err) {
    await writable.abort().catch(() => undefined);
    await rm(options.path, { force: true });
    throw err;
  }
}

interface RunPlan {
  path: string;
  seed: number;
  startNs: bigint;
  targetBytes: number;
  initialRatio: number;
  messageIndex: boolean;
  repeatSchemas: boolean;
  repeatChannels: boolean;
}

async function writeRun(writable: BufferedFileWritable, writerOptions: RobotRunWriterOptions, plan: RunPlan): Promise<RobotRunSummary> {
  const writer = new McapWriter({ ...writerOptions, writable });
  await writer.start({ profile: 'ros2', library: SYNTH_LIBRARY });

  const schemaIds = new Map<string, number>();
  const channelIds: number[] = [];
  let schemaBytes = 0;
  let channelBytes = 0;
  for (const spec of STREAMS) {
    let schemaId = schemaIds.get(spec.schemaName);
    if (schemaId === undefined) {
      const data = textEncoder.encode(ROS2_SCHEMAS[spec.schemaName]);
      schemaId = await writer.registerSchema({ name: spec.schemaName, encoding: 'ros2msg', data });
      schemaIds.set(spec.schemaName, schemaId);
      schemaBytes += 1 + 8 + 2 + 4 + spec.schemaName.length + 4 + 'ros2msg'.length + 4 + data.byteLength;
    }
    const metadata = new Map([['offered_qos_profiles', offeredQosYaml(spec)]]);
    channelIds.push(await writer.registerChannel({ topic: spec.topic, schemaId, messageEncoding: 'cdr', metadata }));
    channelBytes +=
      1 + 8 + 2 + 2 + 4 + spec.topic.length + 4 + 3 + 4 + 4 + 'offered_qos_profiles'.length + 4 + (metadata.get('offered_qos_profiles')?.length ?? 0);
  }

  const estimator = new SizeEstimator({
    initialRatio: plan.initialRatio,
    startPosition: Number(writable.position()),
    messageIndex: plan.messageIndex,
    summaryBaseBytes: (plan.repeatSchemas ? schemaBytes : 0) + (plan.repeatChannels ? channelBytes : 0),
  });
  // Schema and channel records are written into the first chunk.
  estimator.addRecordBytes(schemaBytes + channelBytes);

  const sim = new RobotSimulator(plan.seed, plan.startNs);
  const counts = STREAMS.map(() => 0);
  let nextCheckNs = STOP_CHECK_INTERVAL_NS;
  let previousEstimate = estimator.estimate();
  let durationNs: number;
  for (;;) {
    const offsetNs = sim.peekOffsetNs();
    if (offsetNs >= nextCheckNs) {
      const estimate = estimator.estimate();
      // Stop at the boundary closest to the target: overshooting by less than half a step beats
      // stopping a whole step short.
      const step = estimate - previousEstimate;
      if (nextCheckNs >= MIN_DURATION_NS && estimate + step / 2 >= plan.targetBytes) {
        durationNs = nextCheckNs;
        break;
      }
      previousEstimate = estimate;
      nextCheckNs += STOP_CHECK_INTERVAL_NS;
      continue;
    }
    const msg = sim.next();
    const channelId = channelIds[msg.stream];
    if (channelId === undefined) throw new Error(`no channel for stream ${msg.stream}`);
    await writer.addMessage({
      channelId,
      sequence: msg.sequence,
      logTime: msg.logTime,
      publishTime: msg.logTime,
      data: msg.data,
    });
    counts[msg.stream] = (counts[msg.stream] ?? 0) + 1;
    estimator.addMessage(msg.data.byteLength, Number(writable.position()));
  }

  await writer.end();
  return {
    path: plan.path,
    bytes: Number(writable.position()),
    durationNs: BigInt(durationNs),
    messages: counts.reduce((a, b) => a + b, 0),
    topics: STREAMS.map((spec, i) => ({ topic: spec.topic, schema: spec.schemaName, messages: counts[i] ?? 0 })),
  };
}

/** Compressed/uncompressed ratio of the first second of the same recording. */
function sampleCompressionRatio(seed: number, startNs: bigint, compress: CompressChunk): number {
  const sim = new RobotSimulator(seed, startNs);
  const parts: Uint8Array[] = [];
  let total = 0;
  while (sim.peekOffsetNs() < COMPRESSION_SAMPLE_NS) {
    const { data } = sim.next();
    parts.push(data.slice());
    total += data.byteLength;
  }
  const sample = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    sample.set(part, offset);
    offset += part.byteLength;
  }
  return compress(sample).compressedData.byteLength / total;
}

// rosbag2 records each publisher's offered QoS as YAML in the channel metadata. Numbers are the
// rmw enum values: history 3 = unknown, reliability 1/2 = reliable/best effort, durability 2 =
// volatile, liveliness 1 = automatic; the durations are "infinite".
function offeredQosYaml(spec: StreamSpec): string {
  const infinite = '\n    sec: 9223372036\n    nsec: 854775807';
  return (
    `- history: 3\n  depth: 0\n  reliability: ${spec.reliable ? 1 : 2}\n  durability: 2\n` +
    `  deadline:${infinite}\n  lifespan:${infinite}\n  liveliness: 1\n` +
    `  liveliness_lease_duration:${infinite}\n  avoid_ros_namespace_conventions: false`
  );
}

function validate(options: RobotRunOptions, seed: number, startNs: bigint): void {
  if (!Number.isFinite(options.sizeBytes) || options.sizeBytes <= 0) {
    throw new RangeError(`sizeBytes must be a positive number, got ${options.sizeBytes}`);
  }
  // The PRNG state is 32-bit, so larger seeds would silently alias smaller ones.
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) {
    throw new RangeError(`seed must be an integer in [0, 2^32), got ${seed}`);
  }
  if (options.chunkSizeBytes !== undefined && !(options.chunkSizeBytes > 0)) {
    throw new RangeError(`chunkSizeBytes must be positive, got ${options.chunkSizeBytes}`);
  }
  // builtin_interfaces/Time.sec is an int32; keep a day of headroom for the run itself.
  if (startNs < 0n || startNs / BigInt(NS_PER_S) >= 2n ** 31n - 86_400n) {
    throw new RangeError(`startTimeNs out of range for ROS 2 time: ${startNs}`);
  }
}

/**
 * Small in-memory MCAP recordings for unit tests: real bytes from @mcap/core's McapWriter with
 * CDR payloads from @foxglove/rosmsg2-serialization, plus in-memory readables.
 */
import { parse } from '@foxglove/rosmsg';
import { MessageWriter } from '@foxglove/rosmsg2-serialization';
import zstd from '@foxglove/wasm-zstd';
import { McapIndexedReader, McapWriter, type IReadable, type IWritable, type McapTypes, type McapWriterOptions } from '@mcap/core';
import { loadDecompressHandlers } from '@mcap/support';

/** An IWritable that keeps everything in memory. */
export class MemoryWritable implements IWritable {
  #pieces: Uint8Array[] = [];
  #position = 0n;

  position(): bigint {
    return this.#position;
  }

  async write(buf: Uint8Array): Promise<void> {
    // The writer reuses its buffer between calls: keep a copy.
    this.#pieces.push(buf.slice());
    this.#position += BigInt(buf.byteLength);
  }

  bytes(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.#pieces));
  }
}

/** An IReadable over bytes in memory, counting the reads made through it. */
export function memoryReadable(bytes: Uint8Array): IReadable & { reads: number } {
  const readable = {
    reads: 0,
    size: async () => BigInt(bytes.byteLength),
    read: async (offset: bigint, size: bigint) => {
      readable.reads += 1;
      if (offset + size > BigInt(bytes.byteLength)) throw new Error(`read past end: ${offset}+${size} > ${bytes.byteLength}`);
      return bytes.subarray(Number(offset), Number(offset + size));
    },
  };
  return readable;
}

/** Encodes messages of one ros2msg schema to CDR. */
export function cdrEncoder(schemaText: string): (message: unknown) => Uint8Array {
  const writer = new MessageWriter(parse(schemaText, { ros2: true }));
  return (message) => {
    const size = writer.calculateByteSize(message);
    // MessageWriter hands `output` to CdrWriter, which needs an ArrayBuffer.
    const out = writer.writeMessage(message, new ArrayBuffer(size) as unknown as Uint8Array);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength).slice();
  };
}

export const STRING_SCHEMA = { name: 'std_msgs/msg/String', text: 'string data\n' };
export const COUNTER_SCHEMA = { name: 'example_msgs/msg/Counter', text: 'int64 count\nfloat64 value\n' };

export interface WrittenMessage {
  channelId: number;
  topic: string;
  sequence: number;
  logTime: bigint;
  publishTime: bigint;
  data: Uint8Array;
}

export type ChunkCompressionMode = 'zstd' | 'none' | 'alternate';

export interface TestRecordingOptions {
  /** Messages per topic (two topics, interleaved). Default 60. */
  messagesPerTopic?: number;
  /** Uncompressed chunk size; small values give many chunks. Default 2048. */
  chunkSize?: number;
  /** `alternate`: even chunks zstd, odd chunks uncompressed. Default `alternate`. */
  compression?: ChunkCompressionMode;
  /** Log time of the first message, ns. */
  startTime?: bigint;
  /** Nanoseconds between consecutive messages. */
  stepNs?: bigint;
  writerOptions?: Partial<Omit<McapWriterOptions, 'writable'>>;
}

export interface TestRecording {
  bytes: Uint8Array;
  messages: WrittenMessage[];
  /** topic → channel id */
  channels: Map<string, number>;
}

async function chunkCompressor(mode: ChunkCompressionMode): Promise<McapWriterOptions['compressChunk']> {
  if (mode === 'none') return undefined;
  await zstd.isLoaded;
  let n = 0;
  return (data) => {
    const useZstd = mode === 'zstd' || n % 2 === 0;
    n += 1;
    return useZstd ? { compression: 'zstd', compressedData: zstd.compress(data, 1) } : { compression: '', compressedData: data };
  };
}

/**
 * Two topics (`/chatter` std_msgs/msg/String and `/counter` example_msgs/msg/Counter), messages
 * interleaved in log-time order with distinct CDR payloads.
 */
export async function buildTestRecording(options: TestRecordingOptions = {}): Promise<TestRecording> {
  const count = options.messagesPerTopic ?? 60;
  const start = options.startTime ?? 1_700_000_000_000_000_000n;
  const step = options.stepNs ?? 1_000_000n;
  const writable = new MemoryWritable();
  const writer = new McapWriter({
    writable,
    chunkSize: options.chunkSize ?? 2048,
    compressChunk: await chunkCompressor(options.compression ?? 'alternate'),
    ...options.writerOptions,
  });
  await writer.start({ profile: 'ros2', library: 'mcapflow-test' });
  const channels = new Map<string, number>();
  const encoders = new Map<number, (m: unknown) => Uint8Array>();
  for (const [topic, schema] of [
    ['/chatter', STRING_SCHEMA],
    ['/counter', COUNTER_SCHEMA],
  ] as const) {
    const schemaId = await writer.registerSchema({ name: schema.name, encoding: 'ros2msg', data: new TextEncoder().encode(schema.text) });
    const channelId = await writer.registerChannel({ topic, schemaId, messageEncoding: 'cdr', metadata: new Map() });
    channels.set(topic, channelId);
    encoders.set(channelId, cdrEncoder(schema.text));
  }
  const chatter = channels.get('/chatter')!;
  const counter = channels.get('/counter')!;
  const messages: WrittenMessage[] = [];
  let t = start;
  for (let i = 0; i < count; i++) {
    for (const channelId of [chatter, counter]) {
      const payload = channelId === chatter ? { data: `hello ${i} ${'x'.repeat(40 + (i % 7))}` } : { count: BigInt(i), value: i / 3 };
      const message: WrittenMessage = {
        channelId,
        topic: channelId === chatter ? '/chatter' : '/counter',
        sequence: i,
        logTime: t,
        publishTime: t - 1n,
        data: encoders.get(channelId)!(payload),
      };
      await writer.addMessage({ channelId, sequence: message.sequence, logTime: message.logTime, publishTime: message.publishTime, data: message.data });
      messages.push(message);
      t += step;
    }
  }
  await writer.end();
  return { bytes: writable.bytes(), messages, channels };
}

/** Chunk indexes of a recording with a summary, read with @mcap/core itself. */
export async function chunkIndexesOf(bytes: Uint8Array): Promise<readonly McapTypes.ChunkIndex[]> {
  const reader = await McapIndexedReader.Initialize({ readable: memoryReadable(bytes), decompressHandlers: await loadDecompressHandlers() });
  return [...reader.chunkIndexes].sort((a, b) => Number(a.chunkStartOffset - b.chunkStartOffset));
}

/** Splits bytes into pieces of `size` (the last may be shorter), as a stream would. */
export async function* inPieces(bytes: Uint8Array, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < bytes.byteLength; i += size) yield Buffer.from(bytes.subarray(i, Math.min(bytes.byteLength, i + size)));
}

/** Opens a recording held in memory with @mcap/core's indexed reader (summary required). */
export async function openIndexed(bytes: Uint8Array): Promise<McapIndexedReader> {
  return McapIndexedReader.Initialize({ readable: memoryReadable(bytes), decompressHandlers: await loadDecompressHandlers() });
}

/** Schema text of each schema in a recording, by schema name. */
export async function schemaTexts(bytes: Uint8Array): Promise<Map<string, string>> {
  const reader = await openIndexed(bytes);
  return new Map([...reader.schemasById.values()].map((s) => [s.name, new TextDecoder().decode(s.data)]));
}

/**
 * Files made to hurt: tiny MCAPs whose one chunk inflates to hundreds of MB or a GB of
 * zeros (hand-made zstd RLE blocks, so the file itself stays a few KB, written record by
 * record without a summary), recordings with thousands of channels or with schemas of any
 * shape and name.
 */
import { McapWriter } from '@mcap/core';
import { cdrEncoder, MemoryWritable } from './mcap-builders.ts';

const MAGIC = new Uint8Array([0x89, 0x4d, 0x43, 0x41, 0x50, 0x30, 0x0d, 0x0a]);
const ZSTD_MAX_BLOCK = 128 * 1024;

/** A zstd frame that decompresses to `size` copies of `byte`, at 4 bytes per 128 KiB. */
export function zstdRleFrame(size: number, byte = 0): Uint8Array {
  const blocks = Math.max(1, Math.ceil(size / ZSTD_MAX_BLOCK));
  const out = new Uint8Array(4 + 1 + 8 + blocks * 4);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0xfd2fb528, true);
  // Frame header: 8-byte content size, single segment (no window descriptor), no checksum.
  out[4] = 0xe0;
  view.setBigUint64(5, BigInt(size), true);
  for (let i = 0, o = 13; i < blocks; i++, o += 4) {
    const n = Math.min(ZSTD_MAX_BLOCK, size - i * ZSTD_MAX_BLOCK);
    // Block header: last-block bit, type 1 (RLE), regenerated size.
    const header = (i === blocks - 1 ? 1 : 0) | (1 << 1) | (n << 3);
    out.set([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff, byte], o);
  }
  return out;
}

function record(opcode: number, content: Uint8Array): Uint8Array {
  const out = new Uint8Array(9 + content.length);
  out[0] = opcode;
  new DataView(out.buffer).setBigUint64(1, BigInt(content.length), true);
  out.set(content, 9);
  return out;
}

function fields(parts: (['u32', number] | ['u64', bigint] | ['str', string] | ['bytes', Uint8Array])[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (const [kind, value] of parts) {
    if (kind === 'u32') chunks.push(new Uint8Array(new Uint32Array([value]).buffer));
    else if (kind === 'u64') chunks.push(new Uint8Array(new BigUint64Array([value]).buffer));
    else if (kind === 'str') {
      const text = new TextEncoder().encode(value);
      chunks.push(new Uint8Array(new Uint32Array([text.length]).buffer), text);
    } else chunks.push(new Uint8Array(new BigUint64Array([BigInt(value.length)]).buffer), value);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

/** An MCAP with no summary whose single zstd chunk declares and inflates to `uncompressedSize` zero bytes. */
export function zeroChunkBomb(uncompressedSize: number): Uint8Array {
  const chunk = fields([
    ['u64', 0n],
    ['u64', 0n],
    ['u64', BigInt(uncompressedSize)],
    ['u32', 0],
    ['str', 'zstd'],
    ['bytes', zstdRleFrame(uncompressedSize)],
  ]);
  return new Uint8Array(
    Buffer.concat([
      MAGIC,
      record(
        0x01,
        fields([
          ['str', ''],
          ['str', 'hostile-files'],
        ]),
      ),
      record(0x06, chunk),
      record(0x0f, fields([['u32', 0]])),
      record(
        0x02,
        fields([
          ['u64', 0n],
          ['u64', 0n],
          ['u32', 0],
        ]),
      ),
      MAGIC,
    ]),
  );
}

interface TopicSpec {
  topic: string;
  schema: { name: string; text: string };
  /** Messages to write; CDR-encoded with the schema. Empty messages ({}) need a schema of defaults. */
  messages: Record<string, unknown>[];
}

/** An indexed MCAP (McapWriter defaults) with the given topics, one channel each. */
export async function recordingWith(topics: TopicSpec[], stepNs = 1_000n): Promise<Uint8Array> {
  const writable = new MemoryWritable();
  const writer = new McapWriter({ writable, chunkSize: 1024 * 1024 });
  await writer.start({ profile: 'ros2', library: 'hostile-files' });
  let time = 1_700_000_000_000_000_000n;
  for (const spec of topics) {
    const schemaId = await writer.registerSchema({ name: spec.schema.name, encoding: 'ros2msg', data: new TextEncoder().encode(spec.schema.text) });
    const channelId = await writer.registerChannel({ topic: spec.topic, schemaId, messageEncoding: 'cdr', metadata: new Map() });
    const encode = cdrEncoder(spec.schema.text);
    for (const [i, message] of spec.messages.entries()) {
      time += stepNs;
      await writer.addMessage({ channelId, sequence: i, logTime: time, publishTime: time, data: encode(message) });
    }
  }
  await writer.end();
  return writable.bytes();
}

/** One small recording with `count` channels of one schema, one message each (1.9 MB for 20,000). */
export async function manyChannels(count: number): Promise<Uint8Array> {
  const schema = { name: 'pkg/msg/Many', text: 'int32 x\n' };
  const encode = cdrEncoder(schema.text);
  const writable = new MemoryWritable();
  const writer = new McapWriter({ writable, chunkSize: 1024 * 1024 });
  await writer.start({ profile: 'ros2', library: 'hostile-files' });
  const schemaId = await writer.registerSchema({ name: schema.name, encoding: 'ros2msg', data: new TextEncoder().encode(schema.text) });
  let time = 1_700_000_000_000_000_000n;
  for (let i = 0; i < count; i++) {
    const channelId = await writer.registerChannel({ topic: `/sensor_${i}`, schemaId, messageEncoding: 'cdr', metadata: new Map() });
    time += 1_000n;
    await writer.addMessage({ channelId, sequence: 0, logTime: time, publishTime: time, data: encode({ x: i }) });
  }
  await writer.end();
  return writable.bytes();
}

import type { Command } from 'commander';
import { listCommitted } from '../../catalog/catalog.ts';
import { fetchMessage } from '../../catalog/fetch-message.ts';
import { catalogLocation, objectCache, queryCatalog } from '../../catalog/query-session.ts';
import { loadConfig } from '../../config/config.ts';
import { isRecordingId } from '../../domain/identity.ts';
import { InvalidInputError, NotFoundError } from '../../errors.ts';
import { prepareEnvironment } from '../../runtime/environment.ts';
import { createStore } from '../../runtime/services.ts';

/** Nanoseconds from `1768467600000000000` or an ISO 8601 time (with up to 9 fractional digits). */
export function parseTime(text: string): bigint {
  if (/^\d+$/.test(text)) return BigInt(text);
  const match = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d)$/.exec(text);
  const ms = match ? Date.parse(`${match[1]}${match[3]}`) : Number.NaN;
  if (!match || Number.isNaN(ms))
    throw new InvalidInputError('BAD_ARGUMENT', `--at ${JSON.stringify(text)} is neither nanoseconds nor an ISO 8601 time such as 2026-01-15T09:00:01.5Z`);
  return BigInt(ms) * 1_000_000n + BigInt((match[2] ?? '').padEnd(9, '0'));
}

/** JSON of a decoded message: 64-bit integers as strings, byte arrays as base64, other typed arrays as arrays. */
function json(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (typeof v === 'bigint') return v.toString();
      if (v instanceof Uint8Array) return { base64: Buffer.from(v).toString('base64'), length: v.length };
      if (ArrayBuffer.isView(v) && !(v instanceof DataView))
        return Array.from(v as unknown as ArrayLike<number | bigint>, (x) => (typeof x === 'bigint' ? x.toString() : x));
      return v;
    },
    2,
  );
}

export function registerCat(program: Command): void {
  program
    .command('cat')
    .description(
      'Fetch one message of a committed recording by range (one ranged GET of its chunk) and print it decoded as JSON: the last message on TOPIC logged at or before --at.',
    )
    .argument('<recording>', 'recording id (32 hex)')
    .argument('<topic>', 'topic, e.g. /imu')
    .requiredOption('--at <time>', 'log time: nanoseconds or ISO 8601 (e.g. 2026-01-15T09:00:01.25Z)')
    .action(async (recordingId: string, topic: string, options: { at: string }) => {
      if (!isRecordingId(recordingId)) throw new InvalidInputError('BAD_ARGUMENT', `${JSON.stringify(recordingId)} is not a recording id (32 hex characters)`);
      const at = parseTime(options.at);
      const config = loadConfig();
      const env = await prepareEnvironment(config, { redis: false });
      const store = createStore(config, env.endpoints);
      try {
        const location = catalogLocation(config, store);
        const cache = objectCache(location);
        const manifest = (await listCommitted(store, config.derivedBucket, cache)).find((r) => r.manifest.recording_id === recordingId)?.manifest;
        if (manifest === undefined) throw new NotFoundError(`no committed recording ${recordingId}`);
        const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
        const { rows } = await queryCatalog(
          location,
          `SELECT chunk_offset, offset_in_chunk FROM messages WHERE recording_id = ${quote(recordingId)} AND topic = ${quote(topic)} AND log_time <= ${at} ORDER BY log_time DESC LIMIT 1`,
        );
        if (rows.length === 0) throw new NotFoundError(`no message on ${topic} at or before ${at} in recording ${recordingId}`);
        const [chunkOffset, offsetInChunk] = rows[0] as [number, number];
        const message = await fetchMessage(store, cache, manifest, { chunkOffset, offsetInChunk }, { maxRecordBytes: config.maxRecordBytes });
        process.stdout.write(`${json(message)}\n`);
      } finally {
        store.close();
        await env.stop();
      }
    });
}

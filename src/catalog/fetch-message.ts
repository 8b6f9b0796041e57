/**
 * One message fetched again by range: the `messages` table says which chunk holds it and
 * where inside; one ranged GET of that chunk and one decompression give it back, decoded.
 */
import type { Manifest } from '../domain/manifest.ts';
import { parsePlan } from '../domain/plan-schema.ts';
import type { MessageLocation } from '../domain/work.ts';
import { decoderFor } from '../decode/registry.ts';
import { NotFoundError } from '../errors.ts';
import { loadDecompressors } from '../mcap/decompress.ts';
import { readSpan } from '../mcap/span-reader.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { ObjectCache } from './catalog.ts';

export interface FetchedMessage {
  recording_id: string;
  topic: string;
  log_time: string;
  publish_time: string;
  sequence: number;
  /** The decoded message, or null when its topic is undecodable. */
  message: unknown;
  /** Raw payload size in bytes. */
  size: number;
}

export async function fetchMessage(
  store: ObjectStore,
  cache: ObjectCache,
  manifest: Manifest,
  location: MessageLocation,
  options: { maxRecordBytes: number },
): Promise<FetchedMessage> {
  const plan = parsePlan((await cache.read(manifest.plan_key)).toString('utf8'), manifest.plan_key);
  const segment = plan.spans
    .flatMap((s) => s.segments)
    .find((s) => s.offset === location.chunkOffset || (s.kind === 'records' && location.chunkOffset >= s.offset && location.chunkOffset < s.offset + s.length));
  if (segment === undefined) throw new NotFoundError(`recording ${manifest.recording_id} has no chunk at offset ${location.chunkOffset}`);
  const span = {
    index: 0,
    start: segment.offset,
    end: segment.offset + segment.length,
    segments: [segment],
    messageStartTime: segment.messageStartTime,
    messageEndTime: segment.messageEndTime,
  };
  const bytes = await store.getRange(plan.source.bucket, plan.source.key, span.start, span.end, 'span');
  await loadDecompressors();
  let found: FetchedMessage | undefined;
  readSpan(
    bytes,
    span,
    { maxRecordBytes: options.maxRecordBytes, validateCrc: true },
    {
      message(message, where) {
        if (found !== undefined || where.chunkOffset !== location.chunkOffset || where.offsetInChunk !== location.offsetInChunk) return;
        const topic = plan.topics.find((t) => t.channelId === message.channelId);
        let decoded: unknown = null;
        if (topic?.status === 'ok') {
          decoded = decoderFor(
            plan.schemas.find((s) => s.id === topic.schemaId),
            { blobThresholdBytes: Number.MAX_SAFE_INTEGER },
            topic.messageEncoding,
          ).decode(message.data);
        }
        found = {
          recording_id: manifest.recording_id,
          topic: topic?.topic ?? '',
          log_time: message.logTime.toString(),
          publish_time: message.publishTime.toString(),
          sequence: message.sequence,
          message: decoded,
          size: message.data.length,
        };
      },
    },
  );
  if (found === undefined) throw new NotFoundError(`no message at offset ${location.offsetInChunk} of the chunk at ${location.chunkOffset}`);
  return found;
}

/**
 * extract: decodes the messages of one span into per-schema Arrow parts. Large byte arrays
 * go to blob packs (content-addressed objects) and the rows keep references to them.
 */
import { contentAddress } from '../domain/addresses.ts';
import { sha256Hex } from '../domain/hash.ts';
import { objectKey, s3Uri } from '../domain/layout.ts';
import type { RecordingPlan, TopicPlan } from '../domain/plan.ts';
import { tableToIpc } from '../columnar/arrow-columns.ts';
import { decoderFor } from '../decode/registry.ts';
import type { BlobRef, BlobSink, MessageTableBuilder } from '../decode/table-builder.ts';
import { loadDecompressors } from '../mcap/decompress.ts';
import { readSpan } from '../mcap/span-reader.ts';
import type { DecodeErrors, ExtractResult, PartRef, StoredObject } from '../queue/jobs.ts';
import { writeObject, type OperatorContext } from './context.ts';
import { fetchSpan, spanReadOptions } from './span-bytes.ts';
import { OPERATOR_VERSIONS } from './versions.ts';

/** A blob pack is closed at this size and a new one started, bounding memory per job. */
const BLOB_PACK_BYTES = 64 * 1024 * 1024;

/** Collects large byte arrays of a span into packs whose URIs are known before writing. */
class BlobPacks implements BlobSink {
  readonly packs: { key: string; pieces: Uint8Array[]; bytes: number }[] = [];
  readonly #addressOf: (pack: number) => string;
  readonly #bucket: string;

  constructor(bucket: string, addressOf: (pack: number) => string) {
    this.#bucket = bucket;
    this.#addressOf = addressOf;
  }

  put(bytes: Uint8Array): BlobRef {
    let pack = this.packs.at(-1);
    if (pack === undefined || (pack.bytes + bytes.length > BLOB_PACK_BYTES && pack.bytes > 0)) {
      pack = { key: objectKey('blobs', this.#addressOf(this.packs.length), 'bin'), pieces: [], bytes: 0 };
      this.packs.push(pack);
    }
    const offset = pack.bytes;
    // Borrowed from the chunk buffer, which lives until the span is done: copied once, at write.
    pack.pieces.push(bytes);
    pack.bytes += bytes.length;
    return { uri: s3Uri(this.#bucket, pack.key), offset, length: bytes.length, sha256: sha256Hex(bytes), chunkOffset: null };
  }
}

interface TopicTarget {
  topic: TopicPlan;
  builder: MessageTableBuilder;
}

export async function runExtract(ctx: OperatorContext, plan: RecordingPlan, spanIndex: number): Promise<ExtractResult> {
  const { span, bytes, read } = await fetchSpan(ctx, plan, spanIndex);
  await loadDecompressors();
  const { blobThresholdBytes, derivedBucket } = ctx.settings;
  const addressOf = (slice: Record<string, unknown>): string =>
    contentAddress({
      recordingId: plan.recordingId,
      operator: OPERATOR_VERSIONS.extract,
      slice: { start: span.start, end: span.end, ...slice },
      params: { blobThresholdBytes },
    });
  const blobs = new BlobPacks(derivedBucket, (pack) => addressOf({ blobPack: pack }));

  const schemasById = new Map(plan.schemas.map((s) => [s.id, s]));
  const builders = new Map<string, MessageTableBuilder>();
  const byChannel = new Map<number, TopicTarget>();
  for (const topic of plan.topics) {
    if (topic.status !== 'ok' || topic.table === null) continue;
    const decoder = decoderFor(schemasById.get(topic.schemaId), { blobThresholdBytes }, topic.messageEncoding);
    let builder = builders.get(topic.table);
    if (builder === undefined) {
      builder = decoder.tableBuilder({ blobThresholdBytes, blobs });
      builders.set(topic.table, builder);
    }
    byChannel.set(topic.channelId, { topic, builder });
  }

  const errors = new Map<number, DecodeErrors>();
  readSpan(bytes, span, spanReadOptions(ctx, plan), {
    message(message) {
      const target = byChannel.get(message.channelId);
      if (target === undefined) return;
      try {
        target.builder.append(plan.recordingId, target.topic.topic, message.logTime, message.publishTime, message.data);
      } catch (error) {
        const e = errors.get(message.channelId);
        if (e) e.count += 1;
        else errors.set(message.channelId, { channelId: message.channelId, count: 1, first: error instanceof Error ? error.message : String(error) });
      }
    },
  });

  // Blobs first: a part must never reference a blob that is not stored yet.
  const storedBlobs: StoredObject[] = [];
  for (const pack of blobs.packs) {
    storedBlobs.push(await writeObject(ctx, pack.key, Buffer.concat(pack.pieces, pack.bytes), { contentType: 'application/octet-stream' }));
  }
  const parts: PartRef[] = [];
  for (const [table, builder] of [...builders].sort(([a], [b]) => a.localeCompare(b))) {
    if (builder.rowCount === 0) continue;
    const key = objectKey('parts', addressOf({ table }), 'arrow');
    const stored = await writeObject(ctx, key, tableToIpc(builder.finish()), { contentType: 'application/vnd.apache.arrow.stream' });
    parts.push({ table, key, rows: builder.rowCount, bytes: stored.bytes });
  }
  return {
    kind: 'extract',
    span: spanIndex,
    read,
    parts,
    blobs: storedBlobs,
    decodeErrors: [...errors.values()].sort((a, b) => a.channelId - b.channelId),
  };
}

/**
 * An attachment operator's batch: the recording's top-level Attachment and Metadata records,
 * read by range where the plan located them. An attachment's data is hashed as it streams by
 * and never held; a record that cannot be read is reported by offset and left out.
 */
import { createHash } from 'node:crypto';
import type { AttachmentRef, MetadataRef } from '../domain/recording.ts';
import type { RecordingPlan } from '../domain/plan.ts';
import type { Damage } from '../domain/work.ts';
import { InvalidRecordingError } from '../errors.ts';
import { ByteCursor, Opcode, RECORD_PREFIX_BYTES } from '../mcap/records.ts';
import type { AttachmentBatch, AttachmentInfo, MetadataInfo } from '../sdk/operator.ts';
import type { WorkContext } from './context.ts';

/** Bytes of an attachment record before its data: enough for any realistic name and media type. */
const ATTACHMENT_HEAD_BYTES = 64 * 1024;

async function readAttachment(ctx: WorkContext, plan: RecordingPlan, ref: AttachmentRef): Promise<AttachmentInfo> {
  const { bucket, key } = plan.source;
  const head = await ctx.store.getRange(bucket, key, ref.offset, ref.offset + Math.min(ref.length, ATTACHMENT_HEAD_BYTES), 'span');
  if (head[0] !== Opcode.Attachment) throw new InvalidRecordingError('CORRUPT_RECORD', `no attachment record at offset ${ref.offset}`);
  const c = new ByteCursor(head, RECORD_PREFIX_BYTES);
  const logTime = c.uint64();
  const createTime = c.uint64();
  const name = c.string();
  const mediaType = c.string();
  const dataLength = Number(c.uint64());
  const dataOffset = ref.offset + c.offset;
  if (dataOffset + dataLength > ref.offset + ref.length)
    throw new InvalidRecordingError('CORRUPT_RECORD', `attachment at offset ${ref.offset} declares more data than its record holds`);
  const hash = createHash('sha256');
  if (dataLength > 0) {
    const body = await ctx.store.stream(bucket, key, 'span', { start: dataOffset, end: dataOffset + dataLength });
    for await (const piece of body) hash.update(piece as Buffer);
  }
  return { offset: ref.offset, name, mediaType, logTime, createTime, dataOffset, dataLength, sha256: hash.digest('hex') };
}

async function readMetadata(ctx: WorkContext, plan: RecordingPlan, ref: MetadataRef): Promise<MetadataInfo> {
  const record = await ctx.store.getRange(plan.source.bucket, plan.source.key, ref.offset, ref.offset + ref.length, 'span');
  if (record[0] !== Opcode.Metadata) throw new InvalidRecordingError('CORRUPT_RECORD', `no metadata record at offset ${ref.offset}`);
  const c = new ByteCursor(record, RECORD_PREFIX_BYTES);
  return { offset: ref.offset, name: c.string(), entries: c.stringMap() };
}

/** The batch, and the records it could not read once the operator has iterated them. */
export function attachmentBatch(ctx: WorkContext, plan: RecordingPlan): AttachmentBatch & { damaged: Damage[] } {
  const damaged: Damage[] = [];
  async function* each<R, T>(refs: readonly R[], read: (ref: R) => Promise<T>, what: string, offsetOf: (ref: R) => number): AsyncGenerator<T> {
    for (const ref of refs) {
      let item: T;
      try {
        item = await read(ref);
      } catch (error) {
        if (!(error instanceof InvalidRecordingError)) throw error;
        damaged.push({ offset: offsetOf(ref), reason: `skipped the ${what} record at offset ${offsetOf(ref)}: ${error.message}` });
        continue;
      }
      yield item;
    }
  }
  return {
    damaged,
    attachments: () =>
      each(
        plan.attachments ?? [],
        (ref) => readAttachment(ctx, plan, ref),
        'attachment',
        (r) => r.offset,
      ),
    metadata: () =>
      each(
        plan.metadata ?? [],
        (ref) => readMetadata(ctx, plan, ref),
        'metadata',
        (r) => r.offset,
      ),
  };
}

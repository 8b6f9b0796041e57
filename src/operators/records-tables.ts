/**
 * The `attachments` and `metadata` tables, built from the recording's top-level Attachment
 * and Metadata records (located by the summary or the scan and read by range). Attachment
 * bodies stay where they are: rows reference them in the raw recording by
 * (uri, offset, length, sha256).
 */
import { createHash } from 'node:crypto';
import * as arrow from 'apache-arrow';
import { s3Uri } from '../domain/layout.ts';
import type { RecordingPlan } from '../domain/plan.ts';
import { tableFromBuilders } from '../decode/table-builder.ts';
import { BLOB_TYPE } from '../decode/column-plan.ts';
import { ByteCursor, Opcode, RECORD_PREFIX_BYTES } from '../mcap/records.ts';
import { InvalidRecordingError } from '../errors.ts';
import type { Damage } from '../queue/jobs.ts';
import type { OperatorContext } from './context.ts';

export { ATTACHMENTS_TABLE, METADATA_TABLE } from '../domain/table-names.ts';

export const ATTACHMENTS_FIELDS = [
  new arrow.Field('recording_id', new arrow.Utf8(), false),
  new arrow.Field('name', new arrow.Utf8(), false),
  new arrow.Field('media_type', new arrow.Utf8(), false),
  new arrow.Field('log_time', new arrow.Int64(), false),
  new arrow.Field('create_time', new arrow.Int64(), false),
  new arrow.Field('size', new arrow.Int64(), false),
  new arrow.Field('data', BLOB_TYPE, false),
];

const KEY_VALUE = new arrow.Struct([new arrow.Field('key', new arrow.Utf8(), false), new arrow.Field('value', new arrow.Utf8(), false)]);

export const METADATA_FIELDS = [
  new arrow.Field('recording_id', new arrow.Utf8(), false),
  new arrow.Field('name', new arrow.Utf8(), false),
  new arrow.Field('metadata', new arrow.List(new arrow.Field('item', KEY_VALUE, false)), false),
];

/** Bytes of an attachment record before its data: enough for any realistic name and media type. */
const ATTACHMENT_HEAD_BYTES = 64 * 1024;

async function readAttachment(ctx: OperatorContext, plan: RecordingPlan, ref: NonNullable<RecordingPlan['attachments']>[number]) {
  const { bucket, key } = plan.source;
  const headLength = Math.min(ref.length, ATTACHMENT_HEAD_BYTES);
  const head = await ctx.store.getRange(bucket, key, ref.offset, ref.offset + headLength, 'span');
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
  return { name, mediaType, logTime, createTime, dataOffset, dataLength, sha256: hash.digest('hex') };
}

export interface RecordsTable {
  table: arrow.Table;
  /** Records that could not be read, by offset: reported, the rest of the table is kept. */
  damaged: Damage[];
}

function damageOf(error: unknown, offset: number): Damage {
  if (error instanceof InvalidRecordingError) return { offset, reason: error.message };
  throw error;
}

export async function attachmentsTable(ctx: OperatorContext, plan: RecordingPlan): Promise<RecordsTable> {
  const builders = ATTACHMENTS_FIELDS.map((f) => arrow.makeBuilder({ type: f.type, nullValues: [null, undefined] }));
  const uri = s3Uri(plan.source.bucket, plan.source.key);
  const damaged: Damage[] = [];
  let rows = 0;
  for (const ref of plan.attachments ?? []) {
    let a: Awaited<ReturnType<typeof readAttachment>>;
    try {
      a = await readAttachment(ctx, plan, ref);
    } catch (error) {
      damaged.push(damageOf(error, ref.offset));
      continue;
    }
    const row = [
      plan.recordingId,
      a.name,
      a.mediaType,
      BigInt.asIntN(64, a.logTime),
      BigInt.asIntN(64, a.createTime),
      BigInt(a.dataLength),
      { inline: null, uri, offset: BigInt(a.dataOffset), length: BigInt(a.dataLength), sha256: a.sha256 },
    ];
    row.forEach((value, i) => (builders[i] as arrow.Builder<arrow.DataType>).append(value));
    rows += 1;
  }
  return { table: tableFromBuilders(ATTACHMENTS_FIELDS, builders, rows), damaged };
}

export async function metadataTable(ctx: OperatorContext, plan: RecordingPlan): Promise<RecordsTable> {
  const builders = METADATA_FIELDS.map((f) => arrow.makeBuilder({ type: f.type, nullValues: [null, undefined] }));
  const damaged: Damage[] = [];
  let rows = 0;
  for (const ref of plan.metadata ?? []) {
    let row: unknown[];
    try {
      const record = await ctx.store.getRange(plan.source.bucket, plan.source.key, ref.offset, ref.offset + ref.length, 'span');
      if (record[0] !== Opcode.Metadata) throw new InvalidRecordingError('CORRUPT_RECORD', `no metadata record at offset ${ref.offset}`);
      const c = new ByteCursor(record, RECORD_PREFIX_BYTES);
      const name = c.string();
      row = [plan.recordingId, name, Object.entries(c.stringMap()).map(([key, value]) => ({ key, value }))];
    } catch (error) {
      damaged.push(damageOf(error, ref.offset));
      continue;
    }
    row.forEach((value, i) => (builders[i] as arrow.Builder<arrow.DataType>).append(value));
    rows += 1;
  }
  return { table: tableFromBuilders(METADATA_FIELDS, builders, rows), damaged };
}

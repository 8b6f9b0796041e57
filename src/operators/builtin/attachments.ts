/**
 * `attachments` and `metadata`: the recording's top-level Attachment and Metadata records.
 * Attachment bodies stay where they are: rows reference them in the raw recording by
 * (uri, offset, length, sha256).
 */
import * as arrow from 'apache-arrow';
import { tableFromBuilders } from '../../decode/table-builder.ts';
import { BLOB_TYPE } from '../../decode/column-plan.ts';
import { ATTACHMENTS_TABLE, METADATA_TABLE } from '../../domain/table-names.ts';
import type { AttachmentOperator } from '../../sdk/operator.ts';

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

function builders(fields: arrow.Field[]): arrow.Builder[] {
  return fields.map((f) => arrow.makeBuilder({ type: f.type, nullValues: [null, undefined] }));
}

export const attachmentsOperator: AttachmentOperator = {
  name: 'attachments',
  version: '2',
  description: 'One row per Attachment record, its data referenced in place in the raw recording.',
  inputs: { kind: 'attachments' },
  outputs: [{ name: ATTACHMENTS_TABLE, schema: new arrow.Schema(ATTACHMENTS_FIELDS), sortKeys: ['log_time'] }],
  async transform(batch, ctx) {
    const columns = builders(ATTACHMENTS_FIELDS);
    let rows = 0;
    for await (const a of batch.attachments()) {
      const data = {
        inline: null,
        uri: ctx.recording.source.uri,
        offset: BigInt(a.dataOffset),
        length: BigInt(a.dataLength),
        sha256: a.sha256,
        chunk_offset: null,
      };
      const row = [ctx.recording.id, a.name, a.mediaType, BigInt.asIntN(64, a.logTime), BigInt.asIntN(64, a.createTime), BigInt(a.dataLength), data];
      row.forEach((value, i) => columns[i]!.append(value));
      rows += 1;
    }
    return { [ATTACHMENTS_TABLE]: tableFromBuilders(ATTACHMENTS_FIELDS, columns, rows) };
  },
};

export const metadataOperator: AttachmentOperator = {
  name: 'metadata',
  version: '2',
  description: 'One row per Metadata record: its name and key/value pairs.',
  inputs: { kind: 'attachments' },
  outputs: [{ name: METADATA_TABLE, schema: new arrow.Schema(METADATA_FIELDS), sortKeys: [] }],
  async transform(batch, ctx) {
    const columns = builders(METADATA_FIELDS);
    let rows = 0;
    for await (const m of batch.metadata()) {
      const row = [ctx.recording.id, m.name, Object.entries(m.entries).map(([key, value]) => ({ key, value }))];
      row.forEach((value, i) => columns[i]!.append(value));
      rows += 1;
    }
    return { [METADATA_TABLE]: tableFromBuilders(METADATA_FIELDS, columns, rows) };
  },
};

/**
 * Columns derived from decoded ones when a table is converted: `header_stamp`, the
 * message's own `header.stamp` as integer nanoseconds next to log_time and publish_time, so
 * time-based queries need not unpack the struct.
 */
import * as arrow from 'apache-arrow';

export const HEADER_STAMP = 'header_stamp';

function stampData(header: arrow.Data): arrow.Data<arrow.Int64> | undefined {
  const headerType = header.type as arrow.Struct;
  const stampIndex = headerType.children.findIndex((f) => f.name === 'stamp');
  const stamp = header.children[stampIndex];
  if (stampIndex < 0 || stamp === undefined) return undefined;
  const stampType = stamp.type as arrow.Struct;
  const sec = stamp.children[stampType.children.findIndex((f) => f.name === 'sec')];
  const nanosec = stamp.children[stampType.children.findIndex((f) => f.name === 'nanosec' || f.name === 'nsec')];
  if (sec === undefined || nanosec === undefined) return undefined;
  const values = new BigInt64Array(header.length);
  const valid = new Uint8Array(Math.ceil(header.length / 8));
  let nullCount = 0;
  for (let i = 0; i < header.length; i++) {
    const present = header.getValid(i) && stamp.getValid(i) && sec.getValid(i) && nanosec.getValid(i);
    if (!present) {
      nullCount += 1;
      continue;
    }
    const s = (sec.values as Int32Array | Uint32Array)[sec.offset + i]!;
    const n = (nanosec.values as Uint32Array | Int32Array)[nanosec.offset + i]!;
    values[i] = BigInt(s) * 1_000_000_000n + BigInt(n);
    valid[i >> 3]! |= 1 << (i & 7);
  }
  return arrow.makeData({ type: new arrow.Int64(), length: header.length, nullCount, data: values, ...(nullCount > 0 ? { nullBitmap: valid } : {}) });
}

/** Adds `header_stamp` after publish_time when the message has a header with a stamp. */
export function withHeaderStamp(table: arrow.Table): arrow.Table {
  const fields = table.schema.fields;
  const headerIndex = fields.findIndex((f) => f.name === 'header' && f.type instanceof arrow.Struct);
  if (headerIndex < 0 || fields.some((f) => f.name === HEADER_STAMP)) return table;
  const insertAt = fields.findIndex((f) => f.name === 'publish_time') + 1;
  const newFields = [...fields.slice(0, insertAt), new arrow.Field(HEADER_STAMP, new arrow.Int64(), true), ...fields.slice(insertAt)];
  const schema = new arrow.Schema(newFields);
  const batches: arrow.RecordBatch[] = [];
  for (const batch of table.batches) {
    const header = batch.data.children[headerIndex]!;
    const stamp = stampData(header);
    if (stamp === undefined) return table;
    const children = [...batch.data.children.slice(0, insertAt), stamp, ...batch.data.children.slice(insertAt)];
    batches.push(new arrow.RecordBatch(schema, arrow.makeData({ type: new arrow.Struct(newFields), length: batch.numRows, nullCount: 0, children })));
  }
  return new arrow.Table(schema, batches);
}

/**
 * convert: compacts the Arrow parts of one table into Parquet files of about the target size.
 * A table whose topics had no messages still gets one empty file, so it exists for queries.
 */
import * as arrow from 'apache-arrow';
import { contentAddress } from '../domain/addresses.ts';
import { objectKey } from '../domain/layout.ts';
import type { RecordingPlan } from '../domain/plan.ts';
import { tableFromData, tableFromIpc } from '../columnar/arrow-columns.ts';
import { MESSAGES_FIELDS, MESSAGES_TABLE } from '../columnar/messages-table.ts';
import { encodeParquet } from '../columnar/parquet.ts';
import { tableFields } from '../decode/column-plan.ts';
import { decoderFor } from '../decode/registry.ts';
import { NotFoundError, StorageError } from '../errors.ts';
import type { ConvertResult, PartRef, TableObject } from '../queue/jobs.ts';
import { writeObject, type OperatorContext } from './context.ts';
import { OPERATOR_VERSIONS } from './versions.ts';

function fieldsOf(plan: RecordingPlan, table: string, blobThresholdBytes: number): arrow.Field[] {
  if (table === MESSAGES_TABLE) return MESSAGES_FIELDS;
  const topic = plan.topics.find((t) => t.table === table);
  const schema = topic && plan.schemas.find((s) => s.id === topic.schemaId);
  if (topic === undefined || (schema === undefined && topic.schemaId !== 0)) throw new NotFoundError(`recording ${plan.recordingId} has no schema for table ${table}`);
  return tableFields(decoderFor(schema, { blobThresholdBytes }, topic.messageEncoding).columns);
}

function logTimeRange(table: arrow.Table): { min: bigint; max: bigint } | undefined {
  const column = table.getChild('log_time');
  if (column === null || table.numRows === 0) return undefined;
  let min = BigInt.asIntN(64, (1n << 63n) - 1n);
  let max = -min - 1n;
  for (const data of column.data) {
    const values = data.values as BigInt64Array;
    for (let i = 0; i < data.length; i++) {
      const v = values[i]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  return { min, max };
}

function emptyTable(fields: arrow.Field[]): arrow.Table {
  return tableFromData(
    fields,
    fields.map((f) => arrow.makeBuilder({ type: f.type }).finish().toVector().data[0]!),
    0,
  );
}

/** Splits parts, in order, into groups of about `targetBytes` each. */
function groupParts(parts: PartRef[], targetBytes: number): PartRef[][] {
  const groups: PartRef[][] = [];
  let current: PartRef[] = [];
  let bytes = 0;
  for (const part of parts) {
    if (current.length > 0 && bytes + part.bytes > targetBytes) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(part);
    bytes += part.bytes;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

export async function runConvert(ctx: OperatorContext, plan: RecordingPlan, table: string, parts: PartRef[]): Promise<ConvertResult> {
  const { derivedBucket, parquetTargetBytes, parquetRowGroupRows, blobThresholdBytes } = ctx.settings;
  const fields = fieldsOf(plan, table, blobThresholdBytes);
  const groups = parts.length > 0 ? groupParts(parts, parquetTargetBytes) : [[]];
  const objects: TableObject[] = [];
  for (const [file, group] of groups.entries()) {
    const tables: arrow.Table[] = [];
    for (const part of group) {
      const bytes = await ctx.store.get(derivedBucket, part.key, 'derived');
      if (bytes === undefined) throw new StorageError(`part ${part.key} of table ${table} is missing`, undefined, true);
      tables.push(tableFromIpc(bytes));
    }
    const merged = tables.length > 0 ? new arrow.Table(tables.flatMap((t) => t.batches)) : emptyTable(fields);
    const address = contentAddress({
      recordingId: plan.recordingId,
      operator: OPERATOR_VERSIONS.convert,
      slice: { table, file },
      params: { parts: group.map((p) => p.key), rowGroupRows: parquetRowGroupRows, compression: 'zstd' },
    });
    const stored = await writeObject(ctx, objectKey('tables', address, 'parquet'), encodeParquet(merged, { rowGroupRows: parquetRowGroupRows }), {
      contentType: 'application/vnd.apache.parquet',
    });
    const range = logTimeRange(merged);
    objects.push({ ...stored, rows: merged.numRows, minLogTime: range?.min.toString() ?? null, maxLogTime: range?.max.toString() ?? null });
  }
  return { kind: 'convert', table, objects };
}

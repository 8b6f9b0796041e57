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
import { withHeaderStamp } from '../columnar/derived-columns.ts';
import { topicTiming } from '../domain/topic-timing.ts';
import type { ChannelTiming, ConvertResult, PartRef, TableObject } from '../queue/jobs.ts';
import { attachmentsTable, ATTACHMENTS_TABLE, metadataTable, METADATA_TABLE } from './records-tables.ts';
import { writeObject, type OperatorContext } from './context.ts';
import { OPERATOR_VERSIONS } from './versions.ts';

function fieldsOf(plan: RecordingPlan, table: string, blobThresholdBytes: number): arrow.Field[] {
  if (table === MESSAGES_TABLE) return MESSAGES_FIELDS;
  const topic = plan.topics.find((t) => t.table === table);
  const schema = topic && plan.schemas.find((s) => s.id === topic.schemaId);
  if (topic === undefined || (schema === undefined && topic.schemaId !== 0))
    throw new NotFoundError(`recording ${plan.recordingId} has no schema for table ${table}`);
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

/** Per-channel log times in file order, across every part of the messages table. */
class ChannelTimes {
  readonly #times = new Map<number, bigint[]>();

  add(table: arrow.Table): void {
    const channels = table.getChild('channel_id');
    const times = table.getChild('log_time');
    if (channels === null || times === null) return;
    channels.data.forEach((channelData, b) => {
      const ids = channelData.values as Uint16Array;
      const logTimes = times.data[b]!.values as BigInt64Array;
      for (let i = 0; i < channelData.length; i++) {
        let list = this.#times.get(ids[i]!);
        if (list === undefined) this.#times.set(ids[i]!, (list = []));
        list.push(logTimes[i]!);
      }
    });
  }

  timing(): ChannelTiming[] {
    return [...this.#times].sort(([a], [b]) => a - b).map(([channelId, list]) => ({ channelId, ...topicTiming(BigInt64Array.from(list)) }));
  }
}

async function writeTable(
  ctx: OperatorContext,
  plan: RecordingPlan,
  table: string,
  file: number,
  params: Record<string, unknown>,
  data: arrow.Table,
): Promise<TableObject> {
  const { parquetRowGroupRows } = ctx.settings;
  const address = contentAddress({
    recordingId: plan.recordingId,
    operator: OPERATOR_VERSIONS.convert,
    slice: { table, file },
    params: { ...params, rowGroupRows: parquetRowGroupRows, compression: 'zstd' },
  });
  const stored = await writeObject(ctx, objectKey('tables', address, 'parquet'), encodeParquet(data, { rowGroupRows: parquetRowGroupRows }), {
    contentType: 'application/vnd.apache.parquet',
  });
  const range = logTimeRange(data);
  return { ...stored, rows: data.numRows, minLogTime: range?.min.toString() ?? null, maxLogTime: range?.max.toString() ?? null };
}

/** `attachments` and `metadata`: read from the recording's own records, one file each. */
async function convertRecordsTable(ctx: OperatorContext, plan: RecordingPlan, table: string): Promise<ConvertResult> {
  const built = table === ATTACHMENTS_TABLE ? await attachmentsTable(ctx, plan) : await metadataTable(ctx, plan);
  const refs = table === ATTACHMENTS_TABLE ? plan.attachments : plan.metadata;
  const object = await writeTable(ctx, plan, table, 0, { records: (refs ?? []).map((r) => r.offset) }, built.table);
  return { kind: 'convert', table, objects: [object], damaged: built.damaged };
}

export async function runConvert(ctx: OperatorContext, plan: RecordingPlan, table: string, parts: PartRef[]): Promise<ConvertResult> {
  if (table === ATTACHMENTS_TABLE || table === METADATA_TABLE) return convertRecordsTable(ctx, plan, table);
  const { derivedBucket, parquetTargetBytes, blobThresholdBytes } = ctx.settings;
  const fields = fieldsOf(plan, table, blobThresholdBytes);
  const times = table === MESSAGES_TABLE ? new ChannelTimes() : undefined;
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
    times?.add(merged);
    const data = table === MESSAGES_TABLE ? merged : withHeaderStamp(merged);
    objects.push(await writeTable(ctx, plan, table, file, { parts: group.map((p) => p.key) }, data));
  }
  return { kind: 'convert', table, objects, ...(times ? { timing: times.timing() } : {}) };
}

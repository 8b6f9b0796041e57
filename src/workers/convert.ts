/**
 * convert: a table's span parts become Parquet files, and recording-level operators (table
 * operators over the recording's finished tables, attachment operators over its top-level
 * records) run and write their tables — both in the convert queue, one job per table or
 * operator, each writing content-addressed files.
 */
import * as arrow from 'apache-arrow';
import { ObjectCache } from '../catalog/catalog.ts';
import { MESSAGES_TABLE } from '../columnar/messages-table.ts';
import { PARQUET_ENCODING } from '../columnar/parquet.ts';
import { contentAddress } from '../domain/addresses.ts';
import type { RecordingPlan } from '../domain/plan.ts';
import { topicTiming } from '../domain/topic-timing.ts';
import type { ChannelTiming, ConvertResult, OperatorResult, PartRef } from '../domain/work.ts';
import { McapflowError, NotFoundError, describeError } from '../errors.ts';
import { attachmentBatch } from '../operators/attachment-batch.ts';
import { tableBatch } from '../operators/batches.ts';
import type { WorkContext } from '../operators/context.ts';
import { recordingInfo } from '../operators/recording-info.ts';
import { operatorId, paramsDigest, type OperatorRegistry } from '../operators/registry.ts';
import { checkOutputs } from '../operators/span-pass.ts';
import { convertParts, sorted, sortColumn, writeTableFile } from '../operators/table-files.ts';
import type { AttachmentOperator, Operator, OperatorContext, TableOperator } from '../sdk/operator.ts';
import { readParquet } from 'parquet-wasm';
import { readFile } from 'node:fs/promises';
import { emptyTable, tableFromIpc } from '../columnar/arrow-columns.ts';

/** Per-channel log times in file order, across the parts of the `messages` table. */
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

function tableAddress(plan: RecordingPlan, operator: Operator, table: string, file: number, params: Record<string, unknown>, ctx: WorkContext): string {
  return contentAddress({
    recordingId: plan.recordingId,
    operator: operatorId(operator),
    slice: { table, file },
    params: { operatorParams: paramsDigest(operator), rowGroupRows: ctx.settings.parquetRowGroupRows, encoding: PARQUET_ENCODING, ...params },
  });
}

/** One span operator's table: its parts, in span order, as Parquet. */
export async function runConvert(
  ctx: WorkContext,
  registry: OperatorRegistry,
  plan: RecordingPlan,
  table: string,
  id: string,
  parts: PartRef[],
): Promise<ConvertResult> {
  const [operator] = registry.resolve([id]);
  const spec = registry.outputsOf(operator!, recordingInfo(plan)).find((s) => s.name === table);
  if (spec === undefined) throw new NotFoundError(`operator ${id} writes no table ${table} for recording ${plan.recordingId}`);
  // The messages table in file order gives each topic's timing quality (out-of-order messages, gaps).
  const times = table === MESSAGES_TABLE ? new ChannelTimes() : undefined;
  const objects = await convertParts(
    ctx,
    spec,
    parts,
    (file, group) => tableAddress(plan, operator!, table, file, { parts: group.map((p) => p.key) }, ctx),
    times === undefined ? undefined : (t) => times.add(t),
  );
  return { kind: 'convert', table, operator: id, objects, ...(times ? { timing: times.timing() } : {}) };
}

/** A recording operator: reads its input (tables or top-level records), writes its tables. */
export async function runRecordingOperator(
  ctx: WorkContext,
  registry: OperatorRegistry,
  plan: RecordingPlan,
  id: string,
  inputs: Record<string, { key: string; sha256: string }[]>,
): Promise<OperatorResult> {
  const [operator] = registry.resolve([id]) as (TableOperator | AttachmentOperator)[];
  const recording = recordingInfo(plan);
  const declared = registry.outputsOf(operator!, recording);
  const context = { recording, params: operator!.params ?? {} };
  let returned: Record<string, arrow.Table>;
  let damaged: ConvertResult['damaged'];
  try {
    if (operator!.inputs.kind === 'attachments') {
      const batch = attachmentBatch(ctx, plan);
      returned = await (operator as AttachmentOperator).transform(batch, context);
      damaged = batch.damaged;
    } else {
      returned = await runTableOperator(ctx, operator as TableOperator, inputs, context);
    }
  } catch (error) {
    if (error instanceof McapflowError && error.code !== 'OPERATOR_FAILED') throw error;
    throw new McapflowError('OPERATOR_FAILED', `operator ${id} failed on recording ${plan.recordingId}: ${describeError(error)}`, { cause: error });
  }
  const tables = checkOutputs(operator!.name, returned, declared);
  const results: ConvertResult[] = [];
  for (const spec of declared) {
    const data = tables.get(spec.name);
    const rows = data === undefined ? undefined : sorted(data, sortColumn(spec));
    const inputKeys = Object.fromEntries(Object.entries(inputs).map(([t, files]) => [t, files.map((f) => f.key)]));
    const object = await writeTableFile(
      ctx,
      tableAddress(plan, operator!, spec.name, 0, { inputs: inputKeys, records: operator!.inputs.kind === 'attachments' }, ctx),
      rows ?? emptyTable(spec.schema.fields),
      spec,
    );
    results.push({ kind: 'convert', table: spec.name, operator: id, objects: [object], ...(damaged && damaged.length > 0 ? { damaged } : {}) });
  }
  return { kind: 'operator', operator: id, tables: results };
}

/**
 * A table operator over local copies of its input files (immutable, verified by hash). An input
 * table the recording does not have leaves the operator nothing to do: its tables are empty.
 */
async function runTableOperator(
  ctx: WorkContext,
  operator: TableOperator,
  inputs: Record<string, { key: string; sha256: string }[]>,
  context: OperatorContext,
): Promise<Record<string, arrow.Table>> {
  if (operator.inputs.tables.some((t) => (inputs[t]?.length ?? 0) === 0)) return {};
  const cache = new ObjectCache(ctx.settings.cacheDir, ctx.store, ctx.settings.derivedBucket);
  const files = new Map<string, string[]>();
  for (const table of operator.inputs.tables) {
    const paths: string[] = [];
    for (const file of inputs[table]!) paths.push(await cache.path(file.key, file.sha256));
    files.set(table, paths);
  }
  const batch = tableBatch(files, ctx.settings.sql, async (table) => {
    const tables = await Promise.all(files.get(table)!.map(async (p) => tableFromIpc(readParquet(await readFile(p)).intoIPCStream())));
    return tables.length === 1 ? tables[0]! : new arrow.Table(tables.flatMap((t) => t.batches));
  });
  try {
    return await operator.transform(batch, context);
  } finally {
    await batch.close();
  }
}

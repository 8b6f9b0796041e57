/**
 * The one pass over a chunk span: its bytes are read once as they stream in, each chunk is
 * decompressed and CRC-checked once, its records walked once, and every span operator is fed
 * from that walk — record operators with the raw records, message operators with the decoded
 * rows of the channels they asked for (decoded once, whoever asked).
 */
import type * as arrow from 'apache-arrow';
import type { RecordingPlan, TopicPlan } from '../domain/plan.ts';
import type { Span } from '../domain/spans.ts';
import type { ChannelStats, Damage, DecodeErrors } from '../domain/work.ts';
import { decoderFor } from '../decode/registry.ts';
import type { MessageTableBuilder } from '../decode/table-builder.ts';
import { McapflowError, describeError } from '../errors.ts';
import { readSpanStream, type SpanReadOptions } from '../mcap/span-reader.ts';
import type { MessageBatch, MessageOperator, OperatorContext, RecordingInfo, RecordSink, TableSpec } from '../sdk/operator.ts';
import type { SpanBlobSink } from './blobs.ts';
import { messageBatch } from './batches.ts';
import { recordingInfo } from './recording-info.ts';
import { operatorId, type OperatorRegistry, type SpanOperator } from './registry.ts';
import { spanInfo } from './span-info.ts';
import type { SqlSettings } from './sql-session.ts';

export interface SpanPassInput {
  plan: RecordingPlan;
  span: Span;
  /** The span operators to run (all of them on ingest; the stale ones in a backfill). */
  operators: readonly SpanOperator[];
  registry: OperatorRegistry;
  read: SpanReadOptions;
  blobThresholdBytes: number;
  blobs: SpanBlobSink;
  sql: SqlSettings;
}

export interface SpanTable {
  operator: SpanOperator;
  table: string;
  data: arrow.Table;
}

export interface SpanPassOutput {
  tables: SpanTable[];
  channels: ChannelStats[];
  damaged: Damage[];
  mismatches: string[];
  decodeErrors: DecodeErrors[];
}

/** The decodable channels a message operator reads: those whose schema or topic it names, or all. */
export function inputChannels(operator: MessageOperator, topics: readonly TopicPlan[]): TopicPlan[] {
  const { schemas, topics: wanted } = operator.inputs;
  const all = schemas === undefined && wanted === undefined;
  return topics.filter((t) => t.status === 'ok' && t.table !== null && (all || schemas?.includes(t.schemaName) === true || wanted?.includes(t.topic) === true));
}

/** Why a returned table does not match its declared spec, or undefined when it does. */
export function schemaDifference(actual: arrow.Schema, expected: arrow.Schema): string | undefined {
  const describe = (s: arrow.Schema) => s.fields.map((f) => `${f.name}: ${String(f.type)}`).join(', ');
  const same =
    actual.fields.length === expected.fields.length &&
    actual.fields.every((f, i) => f.name === expected.fields[i]!.name && String(f.type) === String(expected.fields[i]!.type));
  return same ? undefined : `has columns (${describe(actual)}) but declares (${describe(expected)})`;
}

/** Checks an operator's returned tables against what it declares, naming the operator on a mismatch. */
export function checkOutputs(operatorName: string, returned: Record<string, arrow.Table>, declared: readonly TableSpec[]): Map<string, arrow.Table> {
  const out = new Map<string, arrow.Table>();
  for (const [name, data] of Object.entries(returned)) {
    const spec = declared.find((s) => s.name === name);
    if (spec === undefined)
      throw new McapflowError(
        'OPERATOR_FAILED',
        `operator ${operatorName} returned table ${name}, which it does not declare (it declares ${declared.map((s) => s.name).join(', ') || 'none'})`,
      );
    const difference = schemaDifference(data.schema, spec.schema);
    if (difference !== undefined) throw new McapflowError('OPERATOR_FAILED', `operator ${operatorName}: table ${name} ${difference}`);
    out.set(name, data);
  }
  return out;
}

class ChannelCounter {
  readonly #stats = new Map<number, { count: number; first: bigint; last: bigint }>();

  add(channelId: number, logTime: bigint): void {
    const s = this.#stats.get(channelId);
    if (s === undefined) this.#stats.set(channelId, { count: 1, first: logTime, last: logTime });
    else {
      s.count += 1;
      if (logTime < s.first) s.first = logTime;
      if (logTime > s.last) s.last = logTime;
    }
  }

  stats(): ChannelStats[] {
    return [...this.#stats]
      .sort(([a], [b]) => a - b)
      .map(([channelId, s]) => ({ channelId, count: s.count, firstLogTime: s.first.toString(), lastLogTime: s.last.toString() }));
  }
}

interface Decoding {
  topic: TopicPlan;
  builder: MessageTableBuilder;
}

/** One table builder per decoded table, shared by its channels. */
function decoders(
  plan: RecordingPlan,
  channels: TopicPlan[],
  blobThresholdBytes: number,
  blobs: SpanBlobSink,
): { byChannel: Map<number, Decoding>; builders: Map<string, MessageTableBuilder> } {
  const schemasById = new Map(plan.schemas.map((s) => [s.id, s]));
  const builders = new Map<string, MessageTableBuilder>();
  const byChannel = new Map<number, Decoding>();
  for (const topic of channels) {
    let builder = builders.get(topic.table!);
    if (builder === undefined) {
      builder = decoderFor(schemasById.get(topic.schemaId), { blobThresholdBytes }, topic.messageEncoding).tableBuilder({ blobThresholdBytes, blobs });
      builders.set(topic.table!, builder);
    }
    byChannel.set(topic.channelId, { topic, builder });
  }
  return { byChannel, builders };
}

function contextOf(operator: SpanOperator, recording: RecordingInfo): OperatorContext {
  return { recording, params: operator.params ?? {} };
}

export async function runSpanPass(source: AsyncIterable<Uint8Array>, input: SpanPassInput): Promise<SpanPassOutput> {
  const { plan, span, registry } = input;
  const recording = recordingInfo(plan);
  const info = spanInfo(recording, span);
  const recordOperators = input.operators.filter((o) => o.inputs.kind === 'records');
  const messageOperators = input.operators.filter((o): o is MessageOperator => o.inputs.kind === 'messages');
  const sinks: { operator: SpanOperator; sink: RecordSink }[] = recordOperators.map((operator) => ({
    operator,
    sink: (operator as Extract<SpanOperator, { open: unknown }>).open(info, contextOf(operator, recording)),
  }));
  const wanted = new Map(messageOperators.map((o) => [o, inputChannels(o, plan.topics)]));
  const decodeSet = [...new Map([...wanted.values()].flat().map((t) => [t.channelId, t])).values()];
  const { byChannel, builders } = decoders(plan, decodeSet, input.blobThresholdBytes, input.blobs);

  const counter = new ChannelCounter();
  const errors = new Map<number, DecodeErrors>();
  const report = await readSpanStream(source, span, input.read, {
    segment: (records) => input.blobs.segment(records),
    message(message, location) {
      counter.add(message.channelId, message.logTime);
      for (const { sink } of sinks) sink.message(message, location);
      const decoding = byChannel.get(message.channelId);
      if (decoding === undefined) return;
      try {
        decoding.builder.append(plan.recordingId, decoding.topic.topic, message.logTime, message.publishTime, message.data);
      } catch (error) {
        const e = errors.get(message.channelId);
        if (e) e.count += 1;
        else errors.set(message.channelId, { channelId: message.channelId, count: 1, first: describeError(error) });
      }
    },
  });

  const tables: SpanTable[] = [];
  for (const { operator, sink } of sinks) {
    for (const [table, data] of checkOutputs(operator.name, sink.finish(), registry.outputsOf(operator, recording))) tables.push({ operator, table, data });
  }
  const decoded = new Map([...builders].filter(([, b]) => b.rowCount > 0).map(([table, b]) => [table, b.finish()]));
  for (const operator of messageOperators) {
    const channels = wanted.get(operator)!;
    const batch: MessageBatch & { close(): Promise<void> } = messageBatch(decoded, channels, span, input.sql);
    let returned: Record<string, arrow.Table>;
    try {
      if (batch.tables.length === 0) continue;
      returned = await operator.transform(batch, contextOf(operator, recording));
    } catch (error) {
      if (error instanceof McapflowError) throw error;
      throw new McapflowError('OPERATOR_FAILED', `operator ${operatorId(operator)} failed on span ${span.index}: ${describeError(error)}`, { cause: error });
    } finally {
      await batch.close();
    }
    for (const [table, data] of checkOutputs(operator.name, returned, registry.outputsOf(operator, recording))) tables.push({ operator, table, data });
  }
  return {
    tables,
    channels: counter.stats(),
    damaged: report.damaged,
    mismatches: report.mismatches,
    decodeErrors: [...errors.values()].sort((a, b) => a.channelId - b.channelId),
  };
}

/**
 * Schema flattening: a ROS message definition → a plan of Arrow columns. Nested messages
 * become structs, arrays become lists, byte arrays become binary or, when they can be large,
 * blob references. Pure: no decoding, no I/O.
 */
import * as arrow from 'apache-arrow';
import type { MessageDefinition, MessageDefinitionField } from '@foxglove/message-definition';
import { SchemaPlanError } from './schema-errors.ts';
import { checkSchemaComplexity } from './schema-limits.ts';

export type PrimitiveName =
  'bool' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'float32' | 'float64' | 'string' | 'wstring' | 'time' | 'duration';

/**
 * Field names of a time/duration struct: ROS 2 readers produce `{sec, nanosec}`, ROS 1 readers
 * `{sec, nsec}`. The Arrow struct must use the names the decoder produces ('sec,nsec' also
 * selects ROS 1's field widths: time as uint32 seconds, duration as int32 seconds and nsec).
 */
export type TimeFields = 'sec,nanosec' | 'sec,nsec';

export type ColumnPlan =
  /** `timeFields` only matters for time/duration; absent means 'sec,nanosec'. */
  | { kind: 'primitive'; name: string; primitive: PrimitiveName; timeFields?: TimeFields }
  | { kind: 'struct'; name: string; fields: ColumnPlan[] }
  | { kind: 'list'; name: string; element: ColumnPlan }
  /** A byte array short enough by definition to keep inline. */
  | { kind: 'bytes'; name: string }
  /** A byte array that may be large: inline when small, else a reference to a blob object. */
  | { kind: 'blob'; name: string };

const PRIMITIVE_ALIASES: Record<string, PrimitiveName> = {
  bool: 'bool',
  byte: 'uint8',
  char: 'uint8',
  int8: 'int8',
  uint8: 'uint8',
  int16: 'int16',
  uint16: 'uint16',
  int32: 'int32',
  uint32: 'uint32',
  int64: 'int64',
  uint64: 'uint64',
  float32: 'float32',
  float64: 'float64',
  string: 'string',
  wstring: 'wstring',
  time: 'time',
  duration: 'duration',
};

/** Columns every schema table starts with; message fields of the same name get a `_` suffix. */
export const FIXED_COLUMNS = ['recording_id', 'topic', 'log_time', 'publish_time'] as const;

export { SchemaPlanError };

export interface PlanOptions {
  /** Fixed-length byte arrays up to this size stay inline binary; longer or unbounded ones are blobs. */
  blobThresholdBytes: number;
  /** Names of the time/duration struct fields the decoder produces; default 'sec,nanosec' (ROS 2). */
  timeFields?: TimeFields;
}

function definitionByName(definitions: MessageDefinition[]): Map<string, MessageDefinition> {
  const byName = new Map<string, MessageDefinition>();
  for (const d of definitions) if (d.name !== undefined) byName.set(d.name, d);
  return byName;
}

function planField(field: MessageDefinitionField, byName: Map<string, MessageDefinition>, options: PlanOptions): ColumnPlan | undefined {
  const element = planElement(field, byName, options);
  if (element === undefined) return undefined;
  if (!field.isArray) return element;
  if (element.kind === 'primitive' && element.primitive === 'uint8') {
    const fixedSmall = field.arrayLength !== undefined && field.arrayLength <= options.blobThresholdBytes;
    return fixedSmall ? { kind: 'bytes', name: field.name } : { kind: 'blob', name: field.name };
  }
  return { kind: 'list', name: field.name, element: { ...element, name: 'item' } };
}

function planElement(field: MessageDefinitionField, byName: Map<string, MessageDefinition>, options: PlanOptions): ColumnPlan | undefined {
  if (!field.isComplex) {
    const primitive = PRIMITIVE_ALIASES[field.type];
    if (primitive === undefined) throw new SchemaPlanError(`field ${field.name} has unknown primitive type ${JSON.stringify(field.type)}`);
    const isTime = primitive === 'time' || primitive === 'duration';
    if (isTime && options.timeFields === 'sec,nsec') return { kind: 'primitive', name: field.name, primitive, timeFields: 'sec,nsec' };
    return { kind: 'primitive', name: field.name, primitive };
  }
  const nested = byName.get(field.type);
  if (nested === undefined) throw new SchemaPlanError(`field ${field.name} refers to type ${field.type}, which the schema does not define`);
  const fields = planFields(nested.definitions, byName, options);
  // Parquet cannot store a struct without children; a message with no fields carries no data.
  return fields.length === 0 ? undefined : { kind: 'struct', name: field.name, fields };
}

function planFields(fields: MessageDefinitionField[], byName: Map<string, MessageDefinition>, options: PlanOptions): ColumnPlan[] {
  const plans: ColumnPlan[] = [];
  for (const field of fields) {
    if (field.isConstant) continue;
    const plan = planField(field, byName, options);
    if (plan !== undefined) plans.push(plan);
  }
  return plans;
}

/** A top-level column: the message field it reads and its (possibly renamed) column plan. */
export interface TopColumn {
  source: string;
  plan: ColumnPlan;
}

/**
 * Columns of the root message's fields (the first definition), renamed away from the fixed
 * columns. Throws SchemaTooComplexError, before planning anything, for a schema past SCHEMA_LIMITS.
 */
export function planColumns(definitions: MessageDefinition[], options: PlanOptions): TopColumn[] {
  const root = definitions[0];
  if (root === undefined) throw new SchemaPlanError('the schema defines no message');
  const byName = definitionByName(definitions);
  checkSchemaComplexity(root.definitions, (type) => byName.get(type)?.definitions);
  return topColumns(planFields(root.definitions, byName, options));
}

/**
 * Top-level columns of already planned fields (for schema languages planned without a
 * MessageDefinition, e.g. protobuf or JSON Schema): fields named like a fixed column get `_`.
 */
export function topColumns(plans: ColumnPlan[]): TopColumn[] {
  const taken = new Set<string>(FIXED_COLUMNS);
  return plans.map((plan) => {
    let name = plan.name;
    while (taken.has(name)) name = `${name}_`;
    taken.add(name);
    return { source: plan.name, plan: { ...plan, name } };
  });
}

const TIME_TYPE = new arrow.Struct([new arrow.Field('sec', new arrow.Int32(), false), new arrow.Field('nanosec', new arrow.Uint32(), false)]);
// ROS 1 serializes time as two uint32 and duration as two int32 (the reader keeps the signs).
const ROS1_TIME_TYPE = new arrow.Struct([new arrow.Field('sec', new arrow.Uint32(), false), new arrow.Field('nsec', new arrow.Uint32(), false)]);
const ROS1_DURATION_TYPE = new arrow.Struct([new arrow.Field('sec', new arrow.Int32(), false), new arrow.Field('nsec', new arrow.Int32(), false)]);

/**
 * Reference to bytes stored outside the table; `inline` holds them when they are small. The
 * bytes are `[offset, offset + length)` of the object at `uri` — or, when `chunk_offset` is
 * set, of the decompressed records of the chunk at that file offset of `uri` (a blob left in
 * place inside a compressed chunk of the raw recording).
 */
export const BLOB_TYPE = new arrow.Struct([
  new arrow.Field('inline', new arrow.Binary(), true),
  new arrow.Field('uri', new arrow.Utf8(), true),
  new arrow.Field('offset', new arrow.Int64(), true),
  new arrow.Field('length', new arrow.Int64(), false),
  new arrow.Field('sha256', new arrow.Utf8(), true),
  new arrow.Field('chunk_offset', new arrow.Int64(), true),
]);

function primitiveType(primitive: PrimitiveName, timeFields: TimeFields | undefined): arrow.DataType {
  switch (primitive) {
    case 'bool':
      return new arrow.Bool();
    case 'int8':
      return new arrow.Int8();
    case 'uint8':
      return new arrow.Uint8();
    case 'int16':
      return new arrow.Int16();
    case 'uint16':
      return new arrow.Uint16();
    case 'int32':
      return new arrow.Int32();
    case 'uint32':
      return new arrow.Uint32();
    case 'int64':
      return new arrow.Int64();
    case 'uint64':
      return new arrow.Uint64();
    case 'float32':
      return new arrow.Float32();
    case 'float64':
      return new arrow.Float64();
    case 'string':
    case 'wstring':
      return new arrow.Utf8();
    case 'time':
      return timeFields === 'sec,nsec' ? ROS1_TIME_TYPE : TIME_TYPE;
    case 'duration':
      return timeFields === 'sec,nsec' ? ROS1_DURATION_TYPE : TIME_TYPE;
  }
}

export function arrowType(plan: ColumnPlan): arrow.DataType {
  switch (plan.kind) {
    case 'primitive':
      return primitiveType(plan.primitive, plan.timeFields);
    case 'struct':
      return new arrow.Struct(plan.fields.map((f) => new arrow.Field(f.name, arrowType(f), true)));
    case 'list':
      return new arrow.List(new arrow.Field('item', arrowType(plan.element), true));
    case 'bytes':
      return new arrow.Binary();
    case 'blob':
      return BLOB_TYPE;
  }
}

/** Arrow fields of a schema table: the fixed columns then the message's columns. */
export function tableFields(columns: TopColumn[]): arrow.Field[] {
  return [
    new arrow.Field('recording_id', new arrow.Utf8(), false),
    new arrow.Field('topic', new arrow.Utf8(), false),
    new arrow.Field('log_time', new arrow.Int64(), false),
    new arrow.Field('publish_time', new arrow.Int64(), false),
    ...columns.map(({ plan }) => new arrow.Field(plan.name, arrowType(plan), true)),
  ];
}

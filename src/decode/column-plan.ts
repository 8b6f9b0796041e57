/**
 * Schema flattening: a ROS message definition → a plan of Arrow columns. Nested messages
 * become structs, arrays become lists, byte arrays become binary or, when they can be large,
 * blob references. Pure: no decoding, no I/O.
 */
import * as arrow from 'apache-arrow';
import type { MessageDefinition, MessageDefinitionField } from '@foxglove/message-definition';

export type PrimitiveName =
  | 'bool'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'float32'
  | 'float64'
  | 'string'
  | 'wstring'
  | 'time'
  | 'duration';

export type ColumnPlan =
  | { kind: 'primitive'; name: string; primitive: PrimitiveName }
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

export class SchemaPlanError extends Error {}

export interface PlanOptions {
  /** Fixed-length byte arrays up to this size stay inline binary; longer or unbounded ones are blobs. */
  blobThresholdBytes: number;
}

function definitionByName(definitions: MessageDefinition[]): Map<string, MessageDefinition> {
  const byName = new Map<string, MessageDefinition>();
  for (const d of definitions) if (d.name !== undefined) byName.set(d.name, d);
  return byName;
}

function planField(field: MessageDefinitionField, byName: Map<string, MessageDefinition>, options: PlanOptions, depth: number): ColumnPlan | undefined {
  if (depth > 32) throw new SchemaPlanError(`message nesting deeper than 32 levels at field ${field.name} (recursive definition?)`);
  const element = planElement(field, byName, options, depth);
  if (element === undefined) return undefined;
  if (!field.isArray) return element;
  if (element.kind === 'primitive' && element.primitive === 'uint8') {
    const fixedSmall = field.arrayLength !== undefined && field.arrayLength <= options.blobThresholdBytes;
    return fixedSmall ? { kind: 'bytes', name: field.name } : { kind: 'blob', name: field.name };
  }
  return { kind: 'list', name: field.name, element: { ...element, name: 'item' } };
}

function planElement(field: MessageDefinitionField, byName: Map<string, MessageDefinition>, options: PlanOptions, depth: number): ColumnPlan | undefined {
  if (!field.isComplex) {
    const primitive = PRIMITIVE_ALIASES[field.type];
    if (primitive === undefined) throw new SchemaPlanError(`field ${field.name} has unknown primitive type ${JSON.stringify(field.type)}`);
    return { kind: 'primitive', name: field.name, primitive };
  }
  const nested = byName.get(field.type);
  if (nested === undefined) throw new SchemaPlanError(`field ${field.name} refers to type ${field.type}, which the schema does not define`);
  const fields = planFields(nested.definitions, byName, options, depth + 1);
  // Parquet cannot store a struct without children; a message with no fields carries no data.
  return fields.length === 0 ? undefined : { kind: 'struct', name: field.name, fields };
}

function planFields(fields: MessageDefinitionField[], byName: Map<string, MessageDefinition>, options: PlanOptions, depth: number): ColumnPlan[] {
  const plans: ColumnPlan[] = [];
  for (const field of fields) {
    if (field.isConstant) continue;
    const plan = planField(field, byName, options, depth);
    if (plan !== undefined) plans.push(plan);
  }
  return plans;
}

/** A top-level column: the message field it reads and its (possibly renamed) column plan. */
export interface TopColumn {
  source: string;
  plan: ColumnPlan;
}

/** Columns of the root message's fields (the first definition), renamed away from the fixed columns. */
export function planColumns(definitions: MessageDefinition[], options: PlanOptions): TopColumn[] {
  const root = definitions[0];
  if (root === undefined) throw new SchemaPlanError('the schema defines no message');
  const plans = planFields(root.definitions, definitionByName(definitions), options, 0);
  const taken = new Set<string>(FIXED_COLUMNS);
  return plans.map((plan) => {
    let name = plan.name;
    while (taken.has(name)) name = `${name}_`;
    taken.add(name);
    return { source: plan.name, plan: { ...plan, name } };
  });
}

const TIME_TYPE = new arrow.Struct([new arrow.Field('sec', new arrow.Int32(), false), new arrow.Field('nanosec', new arrow.Uint32(), false)]);

/** Reference to bytes stored outside the table; `inline` holds them when they are small. */
export const BLOB_TYPE = new arrow.Struct([
  new arrow.Field('inline', new arrow.Binary(), true),
  new arrow.Field('uri', new arrow.Utf8(), true),
  new arrow.Field('offset', new arrow.Int64(), true),
  new arrow.Field('length', new arrow.Int64(), false),
  new arrow.Field('sha256', new arrow.Utf8(), true),
]);

function primitiveType(primitive: PrimitiveName): arrow.DataType {
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
    case 'duration':
      return TIME_TYPE;
  }
}

export function arrowType(plan: ColumnPlan): arrow.DataType {
  switch (plan.kind) {
    case 'primitive':
      return primitiveType(plan.primitive);
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

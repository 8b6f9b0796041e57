/**
 * protobuf schemas (a binary FileDescriptorSet; the schema name is the full message type name)
 * → column plans, and messages → plain objects shaped like the plan.
 *
 * Mapping: scalars to their Arrow type (64-bit integers as bigint), `bytes` to blobs, enums
 * to their int32 number (names are in the schema, not repeated per row), nested messages to
 * structs, `repeated` to lists, maps to lists of `{key, value}` structs, oneof members to
 * ordinary nullable columns (null unless set). Recursive message types cannot be flattened
 * into columns and fail planning with the cycle named.
 */
import protobuf from 'protobufjs';
import { protobufFromBinaryDescriptor } from '@mcap/support';
import { SchemaPlanError, topColumns, type ColumnPlan, type PrimitiveName, type TopColumn } from './column-plan.ts';
import { ExpandedFieldBudget } from './schema-limits.ts';

export interface ProtobufCompiledSchema {
  columns: TopColumn[];
  decode: (data: Uint8Array) => Record<string, unknown>;
}

type Fix = (value: unknown) => unknown;

/** A field's column plan and, when toObject's output needs reshaping, how. */
interface Planned {
  plan: ColumnPlan;
  fix?: Fix;
}

const MAX_DEPTH = 32;

const SCALARS: Record<string, PrimitiveName> = {
  double: 'float64',
  float: 'float32',
  int32: 'int32',
  sint32: 'int32',
  sfixed32: 'int32',
  uint32: 'uint32',
  fixed32: 'uint32',
  int64: 'int64',
  sint64: 'int64',
  sfixed64: 'int64',
  uint64: 'uint64',
  fixed64: 'uint64',
  bool: 'bool',
  string: 'string',
};

const UNSIGNED_64 = new Set(['uint64', 'fixed64']);

/** Object keys of a decoded map back to typed keys (protobufjs keys 64-bit maps by an 8-char hash). */
function keyConverter(keyType: string): (key: string) => unknown {
  const primitive = SCALARS[keyType];
  if (primitive === 'int64' || primitive === 'uint64') {
    const unsigned = UNSIGNED_64.has(keyType);
    return (key) => (protobuf.util.Long ? BigInt(protobuf.util.longFromHash(key, unsigned).toString()) : BigInt(key));
  }
  if (primitive === 'bool') return (key) => key === 'true';
  if (primitive === 'string') return (key) => key;
  return (key) => Number(key);
}

class Planner {
  readonly #budget = new ExpandedFieldBudget();

  /** Plans of a message's fields; `path` holds the message types being planned, for cycles. */
  message(type: protobuf.Type, name: string, path: string[]): Planned | undefined {
    if (path.includes(type.fullName)) {
      const cycle = [...path.slice(path.indexOf(type.fullName)), type.fullName].map((n) => n.replace(/^\./, ''));
      throw new SchemaPlanError(`message type ${cycle[0]} is recursive (${cycle.join(' → ')}); recursive types cannot be flattened into columns`);
    }
    if (path.length >= MAX_DEPTH) throw new SchemaPlanError(`message nesting deeper than ${MAX_DEPTH} levels at ${type.fullName}`);
    const inner = [...path, type.fullName];
    const fields: Planned[] = [];
    for (const field of type.fieldsArray) {
      const planned = this.field(field, inner);
      if (planned !== undefined) fields.push(planned);
    }
    // Parquet cannot store a struct without children; a message with no fields carries no data.
    if (fields.length === 0) return undefined;
    const fixes = fields.filter((f) => f.fix !== undefined).map((f) => [f.plan.name, f.fix!] as const);
    const plan: ColumnPlan = { kind: 'struct', name, fields: fields.map((f) => f.plan) };
    if (fixes.length === 0) return { plan };
    return {
      plan,
      fix: (value) => {
        if (value === null || value === undefined) return null;
        const record = value as Record<string, unknown>;
        for (const [field, fix] of fixes) record[field] = fix(record[field]);
        return record;
      },
    };
  }

  field(field: protobuf.Field, path: string[]): Planned | undefined {
    this.#budget.take();
    field.resolve();
    if (field instanceof protobuf.MapField) return this.map(field, path);
    const element = this.value(field.type, field.resolvedType, field.name, path);
    if (element === undefined || !field.repeated) return element;
    const fix = element.fix;
    return {
      plan: { kind: 'list', name: field.name, element: { ...element.plan, name: 'item' } },
      ...(fix ? { fix: (v: unknown) => (Array.isArray(v) ? v.map(fix) : v) } : {}),
    };
  }

  map(field: protobuf.MapField, path: string[]): Planned | undefined {
    const key = SCALARS[field.keyType];
    if (key === undefined) throw new SchemaPlanError(`map field ${field.name} has key type ${field.keyType}, which protobuf does not allow`);
    const value = this.value(field.type, field.resolvedType, 'value', path);
    const toKey = keyConverter(field.keyType);
    const valueFix = value?.fix;
    const entry: ColumnPlan = { kind: 'struct', name: 'item', fields: [{ kind: 'primitive', name: 'key', primitive: key }, ...(value ? [value.plan] : [])] };
    return {
      plan: { kind: 'list', name: field.name, element: entry },
      fix: (v) => {
        if (v === null || v === undefined) return null;
        return Object.entries(v as Record<string, unknown>).map(([k, item]) => ({ key: toKey(k), value: valueFix ? valueFix(item) : item }));
      },
    };
  }

  value(typeName: string, resolved: protobuf.ReflectionObject | null, name: string, path: string[]): Planned | undefined {
    if (resolved instanceof protobuf.Type) return this.message(resolved, name, path);
    if (resolved instanceof protobuf.Enum) return { plan: { kind: 'primitive', name, primitive: 'int32' } };
    if (typeName === 'bytes') return { plan: { kind: 'blob', name } };
    const primitive = SCALARS[typeName];
    if (primitive === undefined) throw new SchemaPlanError(`field ${name} has type ${typeName}, which the descriptor does not define`);
    return { plan: { kind: 'primitive', name, primitive } };
  }
}

/**
 * Compiles the descriptor set in `data` for message type `typeName`; throws the reason it
 * cannot. Every `bytes` field is a blob column (inline when small), as protobuf bytes are
 * unbounded.
 */
export function compileProtobuf(data: Uint8Array, typeName: string): ProtobufCompiledSchema {
  const root = protobufFromBinaryDescriptor(data);
  root.resolveAll();
  let type: protobuf.Type;
  try {
    type = root.lookupType(typeName);
  } catch {
    throw new Error(`the descriptor set does not define message type ${typeName}`);
  }
  const planner = new Planner();
  const plans: ColumnPlan[] = [];
  const fixes: [string, Fix][] = [];
  for (const field of type.fieldsArray) {
    const planned = planner.field(field, [type.fullName]);
    if (planned === undefined) continue;
    plans.push(planned.plan);
    if (planned.fix) fixes.push([field.name, planned.fix]);
  }
  const conversion: protobuf.IConversionOptions = { longs: BigInt, defaults: true, arrays: true, objects: true };
  return {
    columns: topColumns(plans),
    decode(bytes) {
      const object = type.toObject(type.decode(bytes), conversion);
      for (const [field, fix] of fixes) object[field] = fix(object[field]);
      return object;
    },
  };
}

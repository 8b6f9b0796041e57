/**
 * Pairs a ros2msg definition with its column plan: what the CDR stream contains (every field,
 * in wire order, including fields whose columns were dropped) and where each value goes.
 *
 * The wire side follows @foxglove/rosmsg2-serialization's MessageReader exactly, because the
 * object path decodes with it: the root is the first definition that is not a constants-only
 * module, constants occupy no bytes, and a message without data fields is one uint8.
 */
import * as arrow from 'apache-arrow';
import type { MessageDefinition, MessageDefinitionField } from '@foxglove/message-definition';
import { arrowType, type ColumnPlan, type PrimitiveName, type TopColumn } from '../column-plan.ts';
import { checkSchemaComplexity } from '../schema-limits.ts';
import type { NumericKind } from './columns.ts';

export type SlotSpec =
  | { k: 'fixed'; kind: NumericKind; domain: number }
  | { k: 'bool'; domain: number }
  | { k: 'var'; domain: number }
  | { k: 'list'; domain: number; childDomain: number }
  | { k: 'blob'; domain: number };

/** Where decoded values go: a tree shaped like the Arrow type, leaves pointing at column slots. */
export type Out =
  | { k: 'fixed'; type: arrow.DataType; slot: number; kind: NumericKind }
  | { k: 'bool'; type: arrow.DataType; slot: number }
  | { k: 'var'; type: arrow.DataType; slot: number }
  | { k: 'struct'; type: arrow.DataType; children: Out[] }
  | { k: 'list'; type: arrow.DataType; slot: number; childDomain: number; element: Out }
  | { k: 'blob'; type: arrow.DataType; slot: number };

/** What the wire holds, field by field; `out` is null when the value is read but not kept. */
export type Read =
  | { k: 'prim'; prim: PrimitiveName; out: Out | null }
  | { k: 'primSeq'; prim: PrimitiveName; length: number | undefined; out: Out | null }
  | { k: 'struct'; fields: Read[]; empty: boolean; out: Out | null }
  | { k: 'structSeq'; length: number | undefined; element: Read & { k: 'struct' }; out: Out | null };

export interface Layout {
  root: Read & { k: 'struct' };
  /** Top-level message columns, in table order. */
  columns: Out[];
  slots: SlotSpec[];
  /** Number of domains; domain 0 is the table's rows. */
  domains: number;
}

export class ColumnarLayoutError extends Error {}

const PRIMITIVES = new Set<string>([
  'bool',
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'float32',
  'float64',
  'string',
  'wstring',
  'time',
  'duration',
]);

function isConstantModule(def: MessageDefinition): boolean {
  return def.definitions.length > 0 && def.definitions.every((f) => f.isConstant === true);
}

function hasDataFields(fields: MessageDefinitionField[]): boolean {
  return fields.some((f) => f.isConstant !== true);
}

/** Items by key; the first of equal keys wins, as `Array.find` would pick it. */
function firstByKey<T>(items: T[], key: (item: T) => string): Map<string, T> {
  const map = new Map<string, T>();
  for (const item of items) if (!map.has(key(item))) map.set(key(item), item);
  return map;
}

class LayoutBuilder {
  readonly slots: SlotSpec[] = [];
  domains = 1;
  readonly #byName: Map<string, MessageDefinitionField[]>;

  constructor(byName: Map<string, MessageDefinitionField[]>) {
    this.#byName = byName;
  }

  #slot(spec: SlotSpec): number {
    this.slots.push(spec);
    return this.slots.length - 1;
  }

  /** Output node for one value of `type` (as planned by `plan`) in `domain`. */
  out(plan: ColumnPlan, type: arrow.DataType, domain: number): Out {
    switch (plan.kind) {
      case 'primitive':
        return this.#primitiveOut(plan.primitive, type, domain);
      case 'bytes':
        return { k: 'var', type, slot: this.#slot({ k: 'var', domain }) };
      case 'blob':
        return { k: 'blob', type, slot: this.#slot({ k: 'blob', domain }) };
      case 'struct':
        throw new ColumnarLayoutError('struct outputs are built with their definition');
      case 'list':
        throw new ColumnarLayoutError('list outputs are built with their definition');
    }
  }

  #primitiveOut(primitive: PrimitiveName, type: arrow.DataType, domain: number): Out {
    switch (primitive) {
      case 'bool':
        return { k: 'bool', type, slot: this.#slot({ k: 'bool', domain }) };
      case 'string':
      case 'wstring':
        return { k: 'var', type, slot: this.#slot({ k: 'var', domain }) };
      case 'time':
      case 'duration': {
        const [sec, nanosec] = (type as arrow.Struct).children as [arrow.Field, arrow.Field];
        return {
          k: 'struct',
          type,
          children: [
            { k: 'fixed', type: sec.type, slot: this.#slot({ k: 'fixed', kind: 'int32', domain }), kind: 'int32' },
            { k: 'fixed', type: nanosec.type, slot: this.#slot({ k: 'fixed', kind: 'uint32', domain }), kind: 'uint32' },
          ],
        };
      }
      default:
        return { k: 'fixed', type, slot: this.#slot({ k: 'fixed', kind: primitive, domain }), kind: primitive };
    }
  }

  #list(type: arrow.DataType, domain: number, element: (childDomain: number, elementType: arrow.DataType) => Out): Out {
    const childDomain = this.domains++;
    const slot = this.#slot({ k: 'list', domain, childDomain });
    const elementType = (type as arrow.List).children[0]!.type;
    return { k: 'list', type, slot, childDomain, element: element(childDomain, elementType) };
  }

  /**
   * The wire reading of a struct's fields. `planOf` finds each field's plan (undefined when the
   * field has no column), `typeOf` its Arrow type; `domain` is null when nothing is kept.
   */
  struct(
    fields: MessageDefinitionField[],
    planOf: (field: MessageDefinitionField) => ColumnPlan | undefined,
    typeOf: (plan: ColumnPlan) => arrow.DataType,
    domain: number | null,
  ): { read: Read & { k: 'struct' }; outs: Out[] } {
    if (!hasDataFields(fields)) return { read: { k: 'struct', fields: [], empty: true, out: null }, outs: [] };
    const reads: Read[] = [];
    const outs: Out[] = [];
    for (const field of fields) {
      if (field.isConstant === true) continue;
      const plan = domain === null ? undefined : planOf(field);
      const type = plan === undefined ? undefined : typeOf(plan);
      const read = this.#field(field, plan, type, plan === undefined ? null : domain);
      reads.push(read);
      if (read.out !== null) outs.push(read.out);
    }
    return { read: { k: 'struct', fields: reads, empty: false, out: null }, outs };
  }

  #nested(field: MessageDefinitionField): MessageDefinitionField[] {
    const nested = this.#byName.get(field.type);
    if (nested === undefined) throw new ColumnarLayoutError(`Unrecognized complex type ${field.type}`);
    return nested;
  }

  #field(field: MessageDefinitionField, plan: ColumnPlan | undefined, type: arrow.DataType | undefined, domain: number | null): Read {
    const keep = plan !== undefined && type !== undefined && domain !== null;
    if (field.isComplex === true) {
      const nested = this.#nested(field);
      const structOf = (structPlan: ColumnPlan | undefined, structType: arrow.DataType | undefined, d: number | null): { read: Read & { k: 'struct' } } => {
        if (structPlan === undefined || structType === undefined || d === null)
          return {
            read: this.struct(
              nested,
              () => undefined,
              () => new arrow.Null(),
              null,
            ).read,
          };
        if (structPlan.kind !== 'struct') throw new ColumnarLayoutError(`field ${field.name}: expected a struct column, the plan has ${structPlan.kind}`);
        const children = structPlan.fields;
        const childTypes = (structType as arrow.Struct).children;
        // Maps, not searches: a wide struct would otherwise cost its width squared.
        const planByName = firstByKey(children, (c) => c.name);
        const typeByPlan = new Map(children.map((c, i) => [c, childTypes[i]!.type]));
        const { read, outs } = this.struct(
          nested,
          (f) => planByName.get(f.name),
          (p) => typeByPlan.get(p)!,
          d,
        );
        if (outs.length !== children.length || outs.some((o, i) => o.type !== childTypes[i]!.type)) {
          throw new ColumnarLayoutError(`field ${field.name}: the definition does not give the plan's ${children.length} columns in order`);
        }
        read.out = { k: 'struct', type: structType, children: outs };
        return { read };
      };
      if (field.isArray === true) {
        if (!keep) return { k: 'structSeq', length: field.arrayLength, element: structOf(undefined, undefined, null).read, out: null };
        if (plan.kind !== 'list') throw new ColumnarLayoutError(`field ${field.name}: expected a list column, the plan has ${plan.kind}`);
        let element: (Read & { k: 'struct' }) | undefined;
        const out = this.#list(type, domain, (childDomain, elementType) => {
          const read = structOf(plan.element, elementType, childDomain).read;
          element = read;
          return read.out!;
        });
        return { k: 'structSeq', length: field.arrayLength, element: element!, out };
      }
      return structOf(keep ? plan : undefined, type, keep ? domain : null).read;
    }

    if (!PRIMITIVES.has(field.type)) throw new ColumnarLayoutError(`Unrecognized primitive type ${field.type}`);
    const prim = field.type as PrimitiveName;
    if (field.isArray === true) {
      if (!keep) return { k: 'primSeq', prim, length: field.arrayLength, out: null };
      if (plan.kind === 'bytes' || plan.kind === 'blob') {
        if (prim !== 'uint8') throw new ColumnarLayoutError(`field ${field.name}: ${plan.kind} column for a ${prim} array`);
        return { k: 'primSeq', prim, length: field.arrayLength, out: this.out(plan, type, domain) };
      }
      if (plan.kind !== 'list' || plan.element.kind !== 'primitive')
        throw new ColumnarLayoutError(`field ${field.name}: expected a list of ${prim}, the plan has ${plan.kind}`);
      const element = plan.element;
      const out = this.#list(type, domain, (childDomain, elementType) => this.out(element, elementType, childDomain));
      return { k: 'primSeq', prim, length: field.arrayLength, out };
    }
    if (!keep) return { k: 'prim', prim, out: null };
    if (plan.kind !== 'primitive') throw new ColumnarLayoutError(`field ${field.name}: expected a ${prim} column, the plan has ${plan.kind}`);
    return { k: 'prim', prim, out: this.out(plan, type, domain) };
  }
}

/**
 * Builds the layout of `columns` (from `planColumns(definitions, …)`) over `definitions`.
 * Throws ColumnarLayoutError where MessageReader would refuse the schema.
 */
export function buildLayout(definitions: MessageDefinition[], columns: TopColumn[]): Layout {
  const root = definitions.find((d) => !isConstantModule(d));
  if (root === undefined) throw new ColumnarLayoutError('MessageReader initialized with no root MessageDefinition');
  if (root !== definitions[0] && columns.length > 0)
    throw new ColumnarLayoutError('the columns were planned from a constants-only definition the reader skips');
  // Same lookup as MessageReader: by name, later definitions win.
  const byName = new Map(definitions.map((d) => [d.name ?? '', d.definitions]));
  // Usually checked by planColumns already; the reader's root can differ from the planned one.
  checkSchemaComplexity(root.definitions, (type) => byName.get(type));
  const builder = new LayoutBuilder(byName);
  const types = columns.map((c) => arrowType(c.plan));
  const planBySource = new Map([...firstByKey(columns, (c) => c.source)].map(([source, c]) => [source, c.plan]));
  const typeByPlan = new Map(columns.map((c, i) => [c.plan, types[i]!]));
  const { read, outs } = builder.struct(
    root.definitions,
    (f) => planBySource.get(f.name),
    (plan) => typeByPlan.get(plan)!,
    0,
  );
  // Top-level outputs come out in definition order, which is the plan's order.
  if (outs.length !== columns.length || outs.some((o, i) => o.type !== types[i])) {
    throw new ColumnarLayoutError(`the definition does not give the plan's ${columns.length} columns in order`);
  }
  return { root: read, columns: outs, slots: builder.slots, domains: builder.domains };
}

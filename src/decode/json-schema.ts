/**
 * JSON Schema (schema encoding `jsonschema`) → column plans, and JSON messages → objects shaped
 * like the plan.
 *
 * Mapping: `object` with `properties` → struct, `array` with one `items` schema → list,
 * `string` → utf8 (with `contentEncoding: base64`, the Foxglove convention for bytes, → blob),
 * `number` → float64, `integer` → int64 (bigint), `boolean` → bool. Anything else (no type,
 * several types, `anyOf`/`oneOf`, an object without `properties`, a recursive `$ref`) is a
 * utf8 column holding the value as JSON text, so nothing is lost. A value that is missing
 * or does not have the planned type is null; JSON numbers beyond 2^53 have already lost
 * precision in JSON.parse.
 */
import { SchemaPlanError, topColumns, type ColumnPlan, type TopColumn } from './column-plan.ts';
import { ExpandedFieldBudget } from './schema-limits.ts';

export interface JsonCompiledSchema {
  columns: TopColumn[];
  decode: (data: Uint8Array) => Record<string, unknown>;
}

type JsonSchema = Record<string, unknown>;
type Coerce = (value: unknown) => unknown;

interface Planned {
  plan: ColumnPlan;
  coerce: Coerce;
}

const MAX_DEPTH = 32;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const asJsonText: Coerce = (v) => (v === undefined || v === null ? null : JSON.stringify(v));

class Planner {
  readonly #root: JsonSchema;
  readonly #budget = new ExpandedFieldBudget();
  constructor(root: JsonSchema) {
    this.#root = root;
  }

  /** Follows a local `$ref` (`#/definitions/X`, `#/$defs/X`); undefined when it points elsewhere. */
  #deref(ref: string): JsonSchema | undefined {
    if (!ref.startsWith('#')) return undefined;
    let node: unknown = this.#root;
    for (const raw of ref
      .slice(1)
      .split('/')
      .filter((p) => p !== '')) {
      const key = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
      node = isObject(node) ? node[key] : undefined;
    }
    return isObject(node) ? node : undefined;
  }

  node(schema: unknown, name: string, refs: string[]): Planned {
    const text: Planned = { plan: { kind: 'primitive', name, primitive: 'string' }, coerce: asJsonText };
    if (!isObject(schema)) return text;
    if (typeof schema.$ref === 'string') {
      // A recursive reference has no fixed column shape: keep such values as JSON text.
      if (refs.includes(schema.$ref) || refs.length >= MAX_DEPTH) return text;
      const target = this.#deref(schema.$ref);
      return target === undefined ? text : this.node(target, name, [...refs, schema.$ref]);
    }
    this.#budget.take();
    const declared = Array.isArray(schema.type) ? schema.type : schema.type === undefined ? [] : [schema.type];
    const types = declared.filter((t) => t !== 'null');
    const type = types.length === 1 ? types[0] : types.length === 0 && isObject(schema.properties) ? 'object' : undefined;
    switch (type) {
      case 'string':
        if (schema.contentEncoding === 'base64') {
          return { plan: { kind: 'blob', name }, coerce: (v) => (typeof v === 'string' ? new Uint8Array(Buffer.from(v, 'base64')) : null) };
        }
        return { plan: { kind: 'primitive', name, primitive: 'string' }, coerce: (v) => (typeof v === 'string' ? v : null) };
      case 'number':
        return { plan: { kind: 'primitive', name, primitive: 'float64' }, coerce: (v) => (typeof v === 'number' ? v : null) };
      case 'integer':
        return { plan: { kind: 'primitive', name, primitive: 'int64' }, coerce: (v) => (typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : null) };
      case 'boolean':
        return { plan: { kind: 'primitive', name, primitive: 'bool' }, coerce: (v) => (typeof v === 'boolean' ? v : null) };
      case 'object':
        return this.object(schema, name, refs) ?? text;
      case 'array': {
        if (!isObject(schema.items)) return text;
        const element = this.node(schema.items, 'item', refs);
        return {
          plan: { kind: 'list', name, element: element.plan },
          coerce: (v) => (Array.isArray(v) ? v.map(element.coerce) : null),
        };
      }
      default:
        return text;
    }
  }

  /** A struct of the object's properties, or undefined when it declares none. */
  object(schema: JsonSchema, name: string, refs: string[]): Planned | undefined {
    if (!isObject(schema.properties)) return undefined;
    const fields = Object.entries(schema.properties).map(([key, property]) => ({ key, ...this.node(property, key, refs) }));
    if (fields.length === 0) return undefined;
    return {
      plan: { kind: 'struct', name, fields: fields.map((f) => f.plan) },
      coerce: (v) => {
        if (!isObject(v)) return null;
        const out: Record<string, unknown> = {};
        for (const f of fields) out[f.key] = f.coerce(v[f.key]);
        return out;
      },
    };
  }
}

/** Compiles a JSON Schema text whose root describes an object; throws the reason it cannot. */
export function compileJsonSchema(schemaText: string, schemaName: string): JsonCompiledSchema {
  let root: unknown;
  try {
    root = JSON.parse(schemaText);
  } catch (error) {
    throw new SchemaPlanError(`the jsonschema schema ${schemaName} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!isObject(root)) throw new SchemaPlanError(`the jsonschema schema ${schemaName} is not a JSON object`);
  // node() rather than object(): the root may itself be a `$ref` into its `definitions`.
  const struct = new Planner(root).node(root, '', []);
  if (struct === undefined || struct.plan.kind !== 'struct') {
    throw new SchemaPlanError(`the jsonschema schema ${schemaName} does not describe an object with properties, so it has no columns`);
  }
  const coerce = struct.coerce;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  return {
    columns: topColumns(struct.plan.fields),
    decode(data) {
      const value: unknown = JSON.parse(decoder.decode(data));
      if (!isObject(value)) throw new Error(`the JSON message is ${Array.isArray(value) ? 'an array' : typeof value}, not an object`);
      return coerce(value) as Record<string, unknown>;
    },
  };
}

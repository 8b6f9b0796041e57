/**
 * How complex a message schema may be before mcapflow refuses to decode it. Decoders are
 * compiled on the process that plans a recording, and every nested message is expanded where
 * it is used (its own columns, its own code), so a few kilobytes of schema text naming one type
 * twice per level would otherwise expand to millions of columns. Checked before anything is
 * built, in time linear in the schema text (per message type, memoised), so a schema past a
 * limit costs milliseconds and its topic is planned as undecodable with the limit named.
 *
 * The limits sit far above real robotics schemas: common ROS 2 types nest at most a few levels
 * and expand to tens of fields (nav_msgs/Odometry: 3 levels, 27 fields, a 4.4 kB decoder);
 * large vendor messages have a few hundred fields.
 */
import type { MessageDefinitionField } from '@foxglove/message-definition';
import type { ColumnPlan } from './column-plan.ts';
import { SchemaPlanError, SchemaTooComplexError } from './schema-errors.ts';

export const SCHEMA_LIMITS = {
  /** Levels of nested messages below the root message. */
  maxNestingDepth: 32,
  /** Fields with every nested message expanded where it is used: bounds columns, layout and generated code. */
  maxExpandedFields: 10_000,
  /**
   * Characters of JavaScript generated for one schema's columnar decoder (V8 compiles it on the
   * first message). Deeply nested sequences cost more code per field than flat ones; 10,000 flat
   * fields generate about 2.6 MB.
   */
  maxDecoderSourceChars: 4 * 1024 * 1024,
  /**
   * Lists nested in one column (a sequence of messages holding a sequence …). DuckDB reads a
   * Parquet column in time that about doubles per nested list beyond ~12 (a 1-row file:
   * 16 lists 50 ms, 20 lists 0.5 s, 24 lists 4–15 s), so deeper tables would make queries stall.
   */
  maxNestedLists: 16,
  /**
   * Struct and list types nested in one column. The Parquet writer (parquet-wasm, reading the
   * table's Arrow IPC schema through a flatbuffer verifier of depth 64) refuses 61 and more.
   */
  maxColumnNesting: 60,
} as const;

interface Size {
  /** Levels of nested messages below this one. */
  depth: number;
  /** Fields of this message with its nested messages expanded. */
  fields: number;
}

const shown = (n: number): string => (n <= 1e12 ? String(n) : 'more than 10^12');

const mib = (chars: number): string => `${(chars / (1024 * 1024)).toFixed(1)} MiB`;

/** Throws SchemaTooComplexError when a generated decoder is longer than SCHEMA_LIMITS.maxDecoderSourceChars. */
export function checkDecoderSourceSize(source: string): void {
  if (source.length > SCHEMA_LIMITS.maxDecoderSourceChars) {
    throw new SchemaTooComplexError(
      `its columnar decoder would be ${mib(source.length)} of generated code, more than the limit of ${mib(SCHEMA_LIMITS.maxDecoderSourceChars)}`,
    );
  }
}

/**
 * Throws SchemaTooComplexError when the message with fields `root` nests deeper than
 * SCHEMA_LIMITS.maxNestingDepth or expands to more than
 * SCHEMA_LIMITS.maxExpandedFields fields. `lookup` resolves a complex field's type as the
 * decoder would; types it does not know are left for the decoder to report. A message type
 * that contains itself is a SchemaPlanError.
 */
export function checkSchemaComplexity(root: MessageDefinitionField[], lookup: (type: string) => MessageDefinitionField[] | undefined): void {
  const sizes = new Map<string, Size>();
  const visiting = new Set<string>();

  const sizeOf = (fields: MessageDefinitionField[]): Size => {
    let depth = 0;
    let count = 0;
    for (const field of fields) {
      if (field.isConstant === true) continue;
      count += 1;
      if (field.isComplex !== true) continue;
      const nested = typeSize(field.type);
      if (nested === undefined) continue;
      depth = Math.max(depth, nested.depth + 1);
      count += nested.fields;
    }
    return { depth, fields: count };
  };

  const typeSize = (type: string): Size | undefined => {
    const known = sizes.get(type);
    if (known !== undefined) return known;
    const fields = lookup(type);
    if (fields === undefined) return undefined;
    if (visiting.has(type)) {
      throw new SchemaPlanError(`message type ${type} contains itself; recursive messages cannot be flattened into columns`);
    }
    // Nested one level deeper than the limit already: stop here, before the stack grows with the schema.
    if (visiting.size >= SCHEMA_LIMITS.maxNestingDepth) {
      throw new SchemaTooComplexError(
        `nested messages deeper than the limit of ${SCHEMA_LIMITS.maxNestingDepth} levels (at least ${SCHEMA_LIMITS.maxNestingDepth + 1} levels deep)`,
      );
    }
    visiting.add(type);
    const size = sizeOf(fields);
    visiting.delete(type);
    sizes.set(type, size);
    return size;
  };

  const { depth, fields } = sizeOf(root);
  if (depth > SCHEMA_LIMITS.maxNestingDepth) {
    throw new SchemaTooComplexError(`nested messages deeper than the limit of ${SCHEMA_LIMITS.maxNestingDepth} levels (${depth} levels deep)`);
  }
  if (fields > SCHEMA_LIMITS.maxExpandedFields) {
    throw new SchemaTooComplexError(
      `${shown(fields)} fields with every nested message expanded where it is used, more than the limit of ${SCHEMA_LIMITS.maxExpandedFields} fields`,
    );
  }
}

/**
 * For planners that expand a schema as they go (protobuf, JSON Schema): count each field as it
 * is planned, so a schema that would expand past SCHEMA_LIMITS.maxExpandedFields stops there
 * instead of expanding exponentially.
 */
export class ExpandedFieldBudget {
  #fields = 0;

  take(): void {
    this.#fields += 1;
    if (this.#fields > SCHEMA_LIMITS.maxExpandedFields) {
      throw new SchemaTooComplexError(
        `over ${SCHEMA_LIMITS.maxExpandedFields} fields with every nested message expanded where it is used, more than the limit of ${SCHEMA_LIMITS.maxExpandedFields} fields`,
      );
    }
  }
}

interface Nesting {
  /** Struct and list types on the deepest path through a column's type (time and blob columns are structs). */
  types: number;
  /** List types on the path with the most of them. */
  lists: number;
}

function columnNesting(plan: ColumnPlan): Nesting {
  switch (plan.kind) {
    case 'primitive':
      return { types: plan.primitive === 'time' || plan.primitive === 'duration' ? 1 : 0, lists: 0 };
    case 'bytes':
      return { types: 0, lists: 0 };
    case 'blob':
      return { types: 1, lists: 0 };
    case 'list': {
      const element = columnNesting(plan.element);
      return { types: element.types + 1, lists: element.lists + 1 };
    }
    case 'struct': {
      const fields = plan.fields.map(columnNesting);
      return { types: 1 + Math.max(0, ...fields.map((f) => f.types)), lists: Math.max(0, ...fields.map((f) => f.lists)) };
    }
  }
}

/**
 * Throws SchemaTooComplexError when a column nests more lists than SCHEMA_LIMITS.maxNestedLists
 * or more struct and list types than SCHEMA_LIMITS.maxColumnNesting.
 */
export function checkColumnNesting(columns: readonly { plan: ColumnPlan }[]): void {
  for (const { plan } of columns) {
    const nesting = columnNesting(plan);
    if (nesting.lists > SCHEMA_LIMITS.maxNestedLists) {
      throw new SchemaTooComplexError(
        `column ${plan.name} nests ${nesting.lists} lists (sequences), more than the limit of ${SCHEMA_LIMITS.maxNestedLists} nested lists`,
      );
    }
    if (nesting.types > SCHEMA_LIMITS.maxColumnNesting) {
      throw new SchemaTooComplexError(
        `column ${plan.name} nests ${nesting.types} struct and list types, more than the limit of ${SCHEMA_LIMITS.maxColumnNesting} the Parquet writer accepts`,
      );
    }
  }
}

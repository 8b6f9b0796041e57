/**
 * A schema compiled for the columnar path: its layout and the generated decoder source, turned
 * into a factory once and instantiated per table builder (the code is shared, the columns are not).
 */
import type { MessageDefinition } from '@foxglove/message-definition';
import type { TopColumn } from '../column-plan.ts';
import { checkDecoderSourceSize } from '../schema-limits.ts';
import { generateSource } from './codegen.ts';
import type { Domain } from './columns.ts';
import type { DecoderHost } from './host.ts';
import { buildLayout, type Layout } from './layout.ts';

/** Decodes one message into row `row`; returns the absolute offset where decoding stopped. */
export type DecodeFn = (u8: Uint8Array, dv: DataView, origin: number, end: number, row: number, pend: number[]) => number;

export type DecoderFactory = (slots: unknown[], domains: Domain[], host: DecoderHost) => { decodeLE: DecodeFn; decodeBE: DecodeFn };

export interface ColumnarProgram {
  readonly columns: TopColumn[];
  readonly layout: Layout;
  /** The generated JavaScript, kept for debugging and profiling. */
  readonly source: string;
  readonly factory: DecoderFactory;
}

// By content, not identity: every builder of a schema then shares one generated function, and
// with it V8's optimised code and type feedback, however often the schema text was parsed.
const cache = new Map<string, ColumnarProgram>();
const CACHE_LIMIT = 256;

/**
 * Compiles (or returns the cached) columnar decoder of `definitions` (parsed ros2msg) for
 * `columns` (their `planColumns`). Throws ColumnarLayoutError where MessageReader would refuse
 * the schema, SchemaTooComplexError past SCHEMA_LIMITS. Generation is linear in the size of
 * the expanded schema (see codegen's loop states), which those limits bound.
 */
export function compileColumnarCdr(definitions: MessageDefinition[], columns: TopColumn[]): ColumnarProgram {
  const key = JSON.stringify([definitions, columns], (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
  let program = cache.get(key);
  if (program === undefined) {
    const layout = buildLayout(definitions, columns);
    const source = generateSource(layout);
    checkDecoderSourceSize(source);
    // new Function is the point: V8 compiles straight-line code specialised to this schema.
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const factory = new Function('S', 'D', 'H', source) as DecoderFactory;
    program = { columns, layout, source, factory };
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
    cache.set(key, program);
  }
  return program;
}

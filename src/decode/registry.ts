/**
 * Which (schema encoding, message encoding) pairs mcapflow decodes, and the compiled decoder
 * of each schema, cached per process because schemas repeat across every span of a recording.
 * A channel without a schema (schema id 0) is looked up with the schema encoding ''.
 */
import { sha256Hex } from '../domain/hash.ts';
import type { ChannelInfo, SchemaInfo } from '../domain/recording.ts';
import { planColumns, type TopColumn } from './column-plan.ts';
import { ColumnarCdrTableBuilder, compileColumnarCdr } from './columnar/index.ts';
import { compileJsonSchema } from './json-schema.ts';
import { DecodingTableBuilder, type BlobSink, type MessageTableBuilder } from './table-builder.ts';
import { compileProtobuf } from './protobuf.ts';
import { compileRos1Msg } from './ros1.ts';
import { compileRos2Idl, compileRos2Msg } from './ros2-schemas.ts';
import { SchemaTooComplexError } from './schema-errors.ts';
import { checkColumnNesting } from './schema-limits.ts';
import { compileSchemalessJson, tableNameForSchemalessTopic } from './schemaless.ts';

export interface CompiledDecoder {
  columns: TopColumn[];
  decode: (data: Uint8Array) => Record<string, unknown>;
  /** A builder for one table of one span, fed raw message bytes. */
  tableBuilder(options: { blobThresholdBytes: number; blobs: BlobSink }): MessageTableBuilder;
}

type Compiled = Omit<CompiledDecoder, 'tableBuilder'> & Partial<Pick<CompiledDecoder, 'tableBuilder'>>;

interface Options {
  blobThresholdBytes: number;
}

/** `schema` is undefined only for schemaless codecs. Without its own `tableBuilder` a codec gets the decode-then-append one. */
type Compile = (schema: SchemaInfo | undefined, options: Options) => Compiled;

interface Codec {
  /** '' for channels without a schema. */
  schemaEncoding: string;
  messageEncoding: string;
  compile: Compile;
}

const schemaText = (schema: SchemaInfo | undefined): string => Buffer.from(schema!.data, 'base64').toString('utf8');

const CODECS: Codec[] = [
  {
    schemaEncoding: 'ros2msg',
    messageEncoding: 'cdr',
    compile(schema, options) {
      const compiled = compileRos2Msg(schemaText(schema), schema!.name);
      const columns = planColumns(compiled.definitions, options);
      // The columnar fast path: CDR straight into Arrow columns. Compiled here so a schema
      // it cannot lay out is refused at planning, not mid-extract.
      compileColumnarCdr(compiled.definitions, columns);
      return {
        columns,
        decode: compiled.decode,
        tableBuilder: (builderOptions) => new ColumnarCdrTableBuilder(compiled.definitions, columns, builderOptions),
      };
    },
  },
  {
    schemaEncoding: 'ros2idl',
    messageEncoding: 'cdr',
    compile(schema, options) {
      const compiled = compileRos2Idl(schemaText(schema), schema!.name);
      return { columns: planColumns(compiled.definitions, options), decode: compiled.decode };
    },
  },
  {
    schemaEncoding: 'ros1msg',
    messageEncoding: 'ros1',
    compile: (schema, options) => compileRos1Msg(schemaText(schema), options),
  },
  {
    schemaEncoding: 'protobuf',
    messageEncoding: 'protobuf',
    compile: (schema) => compileProtobuf(Buffer.from(schema!.data, 'base64'), schema!.name),
  },
  {
    schemaEncoding: 'jsonschema',
    messageEncoding: 'json',
    compile: (schema) => compileJsonSchema(schemaText(schema), schema!.name),
  },
  {
    schemaEncoding: '',
    messageEncoding: 'json',
    compile: () => compileSchemalessJson(),
  },
];

function codecFor(schemaEncoding: string, messageEncoding: string): Codec | undefined {
  return CODECS.find((c) => c.schemaEncoding === schemaEncoding && c.messageEncoding === messageEncoding);
}

/** `ros2msg+cdr, …, schemaless json`, for reasons that list what would work. */
function supportedList(): string {
  return CODECS.map((c) => (c.schemaEncoding === '' ? `schemaless ${c.messageEncoding}` : `${c.schemaEncoding}+${c.messageEncoding}`)).join(', ');
}

function messageEncodingsOf(schemaEncoding: string): string[] {
  return CODECS.filter((c) => c.schemaEncoding === schemaEncoding).map((c) => c.messageEncoding);
}

const cache = new Map<string, CompiledDecoder>();
// Compiling is pure, so a refusal is kept too: a schema that costs its limits to refuse (up
// to a second) is then refused once per process, not once per channel that uses it.
const refusals = new Map<string, unknown>();
const CACHE_LIMIT = 256;

function remember<T>(map: Map<string, T>, key: string, value: T): void {
  if (map.size >= CACHE_LIMIT) map.delete(map.keys().next().value!);
  map.set(key, value);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Compiles (or returns the cached) decoder of a schema; throws the parser's reason, or
 * SchemaTooComplexError for a schema past SCHEMA_LIMITS (schema-limits.ts).
 * `messageEncoding` picks the pair when given; without it a schema uses its encoding's first
 * supported message encoding (`cdr` for ros2msg, …). A channel without a schema passes
 * `undefined` and its message encoding.
 */
export function decoderFor(schema: SchemaInfo | undefined, options: Options, messageEncoding?: string): CompiledDecoder {
  const schemaEncoding = schema?.encoding ?? '';
  const encoding = messageEncoding ?? messageEncodingsOf(schemaEncoding)[0];
  const codec = encoding === undefined ? undefined : codecFor(schemaEncoding, encoding);
  if (codec === undefined) {
    const what =
      schema === undefined
        ? `schemaless ${JSON.stringify(messageEncoding ?? '')} messages`
        : `schema encoding ${JSON.stringify(schemaEncoding)} with message encoding ${JSON.stringify(encoding ?? '')}`;
    throw new Error(`${what} is not supported (supported: ${supportedList()})`);
  }
  const key = sha256Hex(`${schemaEncoding}\n${codec.messageEncoding}\n${schema?.name ?? ''}\n${options.blobThresholdBytes}\n${schema?.data ?? ''}`);
  let decoder = cache.get(key);
  if (decoder === undefined) {
    if (refusals.has(key)) throw refusals.get(key);
    let compiled: Compiled;
    try {
      compiled = codec.compile(schema, options);
      // Every codec's table must be one the Parquet writer and the query engine can handle.
      checkColumnNesting(compiled.columns);
    } catch (error) {
      remember(refusals, key, error);
      throw error;
    }
    decoder = { ...compiled, tableBuilder: compiled.tableBuilder ?? ((o) => new DecodingTableBuilder(compiled.decode, compiled.columns, o)) };
    remember(cache, key, decoder);
  }
  return decoder;
}

/**
 * The planning verdict for a channel; assignable to ClassifyChannel. `table`, when present, is
 * the table the channel's rows go to in place of the one named after its schema: schemaless
 * channels have no schema name, so theirs is derived from the topic
 * (see tableNameForSchemalessTopic).
 */
export type ChannelVerdict = { ok: true; fingerprint: string; table?: string } | { ok: false; reason: string };

export interface ClassifierOptions extends Options {
  /**
   * Accept schemaless json channels (verdict with `table`). Off by default: the rest of the
   * pipeline must first route them by that `table` (domain/plan.ts) and look their decoder up
   * without a SchemaInfo, by message encoding (extract and convert operators); until then a
   * schemaless topic planned as ok makes its table's convert job fail the whole recording.
   */
  decodeSchemaless?: boolean;
}

/** The planning verdict for a channel, with a reason a user can act on when it is no. */
export function classifierFor(options: ClassifierOptions): (schema: SchemaInfo | undefined, channel: ChannelInfo) => ChannelVerdict {
  const decoderOptions: Options = { blobThresholdBytes: options.blobThresholdBytes };
  return (schema: SchemaInfo | undefined, channel: ChannelInfo): ChannelVerdict => {
    if (schema === undefined || channel.schemaId === 0) {
      const codec = options.decodeSchemaless === true ? codecFor('', channel.messageEncoding) : undefined;
      if (codec === undefined) {
        const schemaless =
          options.decodeSchemaless === true
            ? ` (without a schema only ${messageEncodingsOf('')
                .map((e) => JSON.stringify(e))
                .join(', ')} can)`
            : '';
        return {
          ok: false,
          reason: `channel ${channel.topic} has no schema (schema id ${channel.schemaId}), so its ${JSON.stringify(channel.messageEncoding)} messages cannot be decoded${schemaless}`,
        };
      }
      return {
        ok: true,
        fingerprint: sha256Hex(`schemaless\n${codec.messageEncoding}`),
        table: tableNameForSchemalessTopic(codec.messageEncoding, channel.topic),
      };
    }
    const pairs = messageEncodingsOf(schema.encoding);
    if (pairs.length === 0) {
      return { ok: false, reason: `schema encoding ${JSON.stringify(schema.encoding)} of ${schema.name} is not supported (supported: ${supportedList()})` };
    }
    if (!pairs.includes(channel.messageEncoding)) {
      return {
        ok: false,
        reason: `message encoding ${JSON.stringify(channel.messageEncoding)} is not supported for ${schema.encoding} schemas (expected ${pairs.map((e) => JSON.stringify(e)).join(' or ')})`,
      };
    }
    try {
      decoderFor(schema, decoderOptions, channel.messageEncoding);
    } catch (error) {
      if (error instanceof SchemaTooComplexError) return { ok: false, reason: `schema ${schema.name} is too complex to decode: ${error.message}` };
      return { ok: false, reason: `schema ${schema.name} could not be parsed: ${errorText(error)}` };
    }
    return { ok: true, fingerprint: sha256Hex(`${schema.encoding}\n${schema.data}`) };
  };
}

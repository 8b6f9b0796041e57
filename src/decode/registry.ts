/**
 * Which (schema encoding, message encoding) pairs mcapflow decodes, and the compiled decoder
 * of each schema, cached per process because schemas repeat across every span of a recording.
 */
import type { ClassifyChannel } from '../domain/plan.ts';
import { sha256Hex } from '../domain/hash.ts';
import type { ChannelInfo, SchemaInfo } from '../mcap/recording-index.ts';
import { planColumns, type TopColumn } from './column-plan.ts';
import { compileRos2Schema } from './ros2msg.ts';

export interface CompiledDecoder {
  columns: TopColumn[];
  decode(data: Uint8Array): Record<string, unknown>;
}

type Compile = (schema: SchemaInfo, options: { blobThresholdBytes: number }) => CompiledDecoder;

const COMPILERS: Record<string, { messageEncoding: string; compile: Compile }> = {
  ros2msg: {
    messageEncoding: 'cdr',
    compile(schema, options) {
      const compiled = compileRos2Schema(Buffer.from(schema.data, 'base64').toString('utf8'));
      return { columns: planColumns(compiled.definitions, options), decode: compiled.decode };
    },
  },
};

const cache = new Map<string, CompiledDecoder>();
const CACHE_LIMIT = 256;

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Compiles (or returns the cached) decoder of a schema; throws the parser's reason. */
export function decoderFor(schema: SchemaInfo, options: { blobThresholdBytes: number }): CompiledDecoder {
  const key = sha256Hex(`${schema.encoding}\n${schema.name}\n${options.blobThresholdBytes}\n${schema.data}`);
  let decoder = cache.get(key);
  if (decoder === undefined) {
    const compiler = COMPILERS[schema.encoding];
    if (compiler === undefined) throw new Error(`schema encoding ${JSON.stringify(schema.encoding)} is not supported`);
    decoder = compiler.compile(schema, options);
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
    cache.set(key, decoder);
  }
  return decoder;
}

/** The planning verdict for a channel, with a reason a user can act on when it is no. */
export function classifierFor(options: { blobThresholdBytes: number }): ClassifyChannel {
  return (schema: SchemaInfo | undefined, channel: ChannelInfo) => {
    if (schema === undefined || channel.schemaId === 0) {
      return { ok: false, reason: `channel ${channel.topic} has no schema (schema id ${channel.schemaId}), so its ${JSON.stringify(channel.messageEncoding)} messages cannot be decoded` };
    }
    const compiler = COMPILERS[schema.encoding];
    if (compiler === undefined) {
      return { ok: false, reason: `schema encoding ${JSON.stringify(schema.encoding)} of ${schema.name} is not supported (supported: ${Object.keys(COMPILERS).join(', ')})` };
    }
    if (channel.messageEncoding !== compiler.messageEncoding) {
      return { ok: false, reason: `message encoding ${JSON.stringify(channel.messageEncoding)} is not supported for ${schema.encoding} schemas (expected ${JSON.stringify(compiler.messageEncoding)})` };
    }
    try {
      decoderFor(schema, options);
    } catch (error) {
      return { ok: false, reason: `schema ${schema.name} could not be parsed: ${errorText(error)}` };
    }
    return { ok: true, fingerprint: sha256Hex(`${schema.encoding}\n${schema.data}`) };
  };
}

/**
 * Accumulates decoded messages of one schema into Arrow columns. Byte arrays over the blob
 * threshold go to a BlobSink and are stored as references.
 */
import * as arrow from 'apache-arrow';
import { tableFromData } from '../columnar/arrow-columns.ts';
import { arrowType, tableFields, type ColumnPlan, type TopColumn } from './column-plan.ts';

export interface BlobRef {
  uri: string;
  offset: number;
  length: number;
  sha256: string;
  /** Set when the bytes are inside a compressed chunk of `uri`: `offset` is then within its decompressed records. */
  chunkOffset: number | null;
}

/** Where large byte arrays go; returns where they can be read back by range. */
export interface BlobSink {
  put(bytes: Uint8Array): BlobRef;
}

/**
 * What extract feeds raw message bytes into: one per table and span. `append` throws when a
 * message cannot be decoded, leaving no partial row behind.
 */
export interface MessageTableBuilder {
  readonly rowCount: number;
  append(recordingId: string, topic: string, logTime: bigint, publishTime: bigint, data: Uint8Array): void;
  finish(): arrow.Table;
}

type Convert = (value: unknown) => unknown;

function converterFor(plan: ColumnPlan, blobThresholdBytes: number, blobs: BlobSink): Convert {
  switch (plan.kind) {
    case 'primitive':
      return (v) => v;
    case 'bytes':
      return (v) => (v instanceof Uint8Array ? v : v === undefined || v === null ? null : Uint8Array.from(v as ArrayLike<number>));
    case 'blob':
      return (v) => {
        if (v === undefined || v === null) return null;
        const bytes = v instanceof Uint8Array ? v : Uint8Array.from(v as ArrayLike<number>);
        if (bytes.length <= blobThresholdBytes)
          return { inline: bytes, uri: null, offset: null, length: BigInt(bytes.length), sha256: null, chunk_offset: null };
        const ref = blobs.put(bytes);
        return {
          inline: null,
          uri: ref.uri,
          offset: BigInt(ref.offset),
          length: BigInt(ref.length),
          sha256: ref.sha256,
          chunk_offset: ref.chunkOffset === null ? null : BigInt(ref.chunkOffset),
        };
      };
    case 'struct': {
      const fields = plan.fields.map((f) => [f.name, converterFor(f, blobThresholdBytes, blobs)] as const);
      const identity = plan.fields.every((f) => f.kind === 'primitive');
      return (v) => {
        if (v === undefined || v === null) return null;
        if (identity) return v;
        const record = v as Record<string, unknown>;
        const out: Record<string, unknown> = {};
        for (const [name, convert] of fields) out[name] = convert(record[name]);
        return out;
      };
    }
    case 'list': {
      if (plan.element.kind === 'primitive') return (v) => v ?? null;
      const convert = converterFor(plan.element, blobThresholdBytes, blobs);
      return (v) => (v === undefined || v === null ? null : Array.from(v as ArrayLike<unknown>, convert));
    }
  }
}

export class SchemaTableBuilder {
  readonly #fields: arrow.Field[];
  readonly #fixed: arrow.Builder[];
  readonly #columns: { source: string; convert: Convert; builder: arrow.Builder }[];
  #rows = 0;

  constructor(columns: TopColumn[], options: { blobThresholdBytes: number; blobs: BlobSink }) {
    this.#fields = tableFields(columns);
    this.#fixed = this.#fields.slice(0, 4).map((f) => arrow.makeBuilder({ type: f.type, nullValues: [null, undefined] }));
    this.#columns = columns.map(({ source, plan }) => ({
      source,
      convert: converterFor(plan, options.blobThresholdBytes, options.blobs),
      builder: arrow.makeBuilder({ type: arrowType(plan), nullValues: [null, undefined] }),
    }));
  }

  get rowCount(): number {
    return this.#rows;
  }

  append(recordingId: string, topic: string, logTime: bigint, publishTime: bigint, message: Record<string, unknown>): void {
    const [rid, top, log, pub] = this.#fixed as [arrow.Builder, arrow.Builder, arrow.Builder, arrow.Builder];
    rid.append(recordingId);
    top.append(topic);
    log.append(BigInt.asIntN(64, logTime));
    pub.append(BigInt.asIntN(64, publishTime));
    for (const column of this.#columns) column.builder.append(column.convert(message[column.source]));
    this.#rows += 1;
  }

  finish(): arrow.Table {
    const builders = [...this.#fixed, ...this.#columns.map((c) => c.builder)];
    return tableFromBuilders(this.#fields, builders, this.#rows);
  }
}

/** Assembles finished builders into a one-batch table with exactly `fields` as its schema. */
export function tableFromBuilders(fields: arrow.Field[], builders: arrow.Builder[], rows: number): arrow.Table {
  const columns = builders.map((b) => b.finish().toVector().data[0] ?? arrow.makeData({ type: b.type, length: 0, nullCount: 0 }));
  return tableFromData(fields, columns, rows);
}

/** The general path: decode each message to an object, then append it column by column. */
export class DecodingTableBuilder implements MessageTableBuilder {
  readonly #decode: (data: Uint8Array) => Record<string, unknown>;
  readonly #builder: SchemaTableBuilder;

  constructor(decode: (data: Uint8Array) => Record<string, unknown>, columns: TopColumn[], options: { blobThresholdBytes: number; blobs: BlobSink }) {
    this.#decode = decode;
    this.#builder = new SchemaTableBuilder(columns, options);
  }

  get rowCount(): number {
    return this.#builder.rowCount;
  }

  append(recordingId: string, topic: string, logTime: bigint, publishTime: bigint, data: Uint8Array): void {
    // Decoding throws before anything is appended, so a bad message leaves no partial row.
    this.#builder.append(recordingId, topic, logTime, publishTime, this.#decode(data));
  }

  finish(): arrow.Table {
    return this.#builder.finish();
  }
}

/**
 * The columnar fast path's table builder: same surface and same table as SchemaTableBuilder,
 * but fed raw CDR. Each message is decoded by schema-specific generated code straight into
 * column buffers; no object is built per message.
 *
 * A message that fails to decode throws from `append` and leaves no trace: the generated code
 * writes only past the committed lengths, and on failure every length is recomputed from the
 * committed row count (Domain.truncate). Blob references are stored only after the whole
 * message decoded, so the BlobSink never sees bytes of a rejected message.
 */
import * as arrow from 'apache-arrow';
import type { MessageDefinition } from '@foxglove/message-definition';
import { tableFromData } from '../../columnar/arrow-columns.ts';
import { tableFields, type TopColumn } from '../column-plan.ts';
import type { BlobSink } from '../table-builder.ts';
import { BlobColumn, BoolColumn, Domain, FixedColumn, ListColumn, PaletteColumn, VarColumn } from './columns.ts';
import { isLittleEndianCdr } from './encapsulation.ts';
import { HOST } from './host.ts';
import type { Out } from './layout.ts';
import { compileColumnarCdr, type ColumnarProgram, type DecodeFn } from './program.ts';

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  // 64-bit values are written as (lo, hi) uint32 words and little-endian wire bytes are copied as is.
  throw new Error('the columnar CDR decoder needs a little-endian host');
}

export interface ColumnarBuilderOptions {
  blobThresholdBytes: number;
  blobs: BlobSink;
}

type Column = FixedColumn | BoolColumn | VarColumn | ListColumn | BlobColumn;

export class ColumnarCdrTableBuilder {
  readonly #program: ColumnarProgram;
  readonly #fields: arrow.Field[];
  readonly #threshold: number;
  readonly #blobs: BlobSink;
  readonly #domains: Domain[];
  readonly #top: Domain;
  readonly #slots: Column[];
  readonly #decodeLE: DecodeFn;
  readonly #decodeBE: DecodeFn;
  // Recording id and topic repeat row after row: one palette index per row.
  readonly #recordingId = new PaletteColumn();
  readonly #topic = new PaletteColumn();
  readonly #logTime = new FixedColumn('int64');
  readonly #publishTime = new FixedColumn('int64');
  readonly #pend: number[] = [];
  // Messages of one chunk share an ArrayBuffer: one DataView serves them all.
  #buffer: ArrayBufferLike | undefined;
  #u8: Uint8Array = new Uint8Array(0);
  #dv: DataView = new DataView(new ArrayBuffer(0));
  #finished: arrow.Table | undefined;

  /**
   * `definitions` as parsed by `compileRos2Schema`, `columns` = `planColumns(definitions, { blobThresholdBytes })`
   * as for SchemaTableBuilder. The decoder is compiled once per (definitions, columns) and cached.
   */
  constructor(definitions: MessageDefinition[], columns: TopColumn[], options: ColumnarBuilderOptions) {
    this.#program = compileColumnarCdr(definitions, columns);
    this.#fields = tableFields(columns);
    this.#threshold = options.blobThresholdBytes;
    this.#blobs = options.blobs;
    const { layout } = this.#program;
    this.#domains = Array.from({ length: layout.domains }, () => new Domain());
    this.#top = this.#domains[0]!;
    this.#slots = layout.slots.map((spec) => {
      const domain = this.#domains[spec.domain]!;
      switch (spec.k) {
        case 'fixed':
          return domain.add(new FixedColumn(spec.kind));
        case 'bool':
          return domain.add(new BoolColumn());
        case 'var':
          return domain.add(new VarColumn());
        case 'list':
          return domain.add(new ListColumn(this.#domains[spec.childDomain]!));
        case 'blob':
          return domain.add(new BlobColumn());
      }
    });
    for (const c of [this.#recordingId, this.#topic, this.#logTime, this.#publishTime]) this.#top.add(c);
    const { decodeLE, decodeBE } = this.#program.factory(this.#slots, this.#domains, HOST);
    this.#decodeLE = decodeLE;
    this.#decodeBE = decodeBE;
  }

  get rowCount(): number {
    return this.#top.len;
  }

  /** Decodes `cdr` into a new row; throws (adding nothing) when it cannot be decoded. */
  append(recordingId: string, topic: string, logTime: bigint, publishTime: bigint, cdr: Uint8Array): void {
    if (this.#finished !== undefined) throw new Error('append after finish');
    const littleEndian = isLittleEndianCdr(cdr);
    const top = this.#top;
    const row = top.len;
    if (row >= top.cap) top.ensure(row + 1);
    if (cdr.buffer !== this.#buffer) {
      this.#buffer = cdr.buffer;
      this.#u8 = new Uint8Array(cdr.buffer);
      this.#dv = new DataView(cdr.buffer);
    }
    const pend = this.#pend;
    pend.length = 0;
    try {
      (littleEndian ? this.#decodeLE : this.#decodeBE)(this.#u8, this.#dv, cdr.byteOffset + 4, cdr.byteOffset + cdr.byteLength, row, pend);
      if (pend.length > 0) this.#storeBlobs(pend);
    } catch (error) {
      top.truncate(row);
      throw error;
    }
    this.#recordingId.set(row, recordingId);
    this.#topic.set(row, topic);
    (this.#logTime.v as BigInt64Array)[row] = logTime;
    (this.#publishTime.v as BigInt64Array)[row] = publishTime;
    top.len = row + 1;
  }

  /** Blob values in wire order, which is the order the object path converts (and stores) them. */
  #storeBlobs(pend: number[]): void {
    for (let i = 0; i < pend.length; i += 3) {
      const column = this.#slots[pend[i]!] as BlobColumn;
      const bytes = this.#u8.subarray(pend[i + 1], pend[i + 1]! + pend[i + 2]!);
      if (bytes.length <= this.#threshold) column.appendInline(bytes);
      else column.appendRef(this.#blobs.put(bytes));
    }
  }

  /** The table of everything appended; the buffers are handed over, so further appends are refused. */
  finish(): arrow.Table {
    if (this.#finished === undefined) {
      const rows = this.#top.len;
      const [rid, topic, log, pub] = this.#fields as [arrow.Field, arrow.Field, arrow.Field, arrow.Field];
      const data = [
        this.#recordingId.data(rid.type, rows),
        this.#topic.data(topic.type, rows),
        this.#logTime.data(log.type, rows),
        this.#publishTime.data(pub.type, rows),
        ...this.#program.layout.columns.map((out) => this.#data(out, rows)),
      ];
      this.#finished = tableFromData(this.#fields, data, rows);
      // Do not keep the last chunk's buffer alive for as long as the table lives.
      this.#buffer = undefined;
      this.#u8 = new Uint8Array(0);
      this.#dv = new DataView(new ArrayBuffer(0));
    }
    return this.#finished;
  }

  #data(out: Out, length: number): arrow.Data {
    switch (out.k) {
      case 'fixed':
        return (this.#slots[out.slot] as FixedColumn).data(out.type, length);
      case 'bool':
        return (this.#slots[out.slot] as BoolColumn).data(out.type, length);
      case 'var':
        return (this.#slots[out.slot] as VarColumn).arrowData(out.type, length);
      case 'blob':
        return (this.#slots[out.slot] as BlobColumn).data(out.type, length);
      case 'struct':
        return arrow.makeData({ type: out.type as arrow.Struct, length, nullCount: 0, children: out.children.map((c) => this.#data(c, length)) });
      case 'list': {
        const list = this.#slots[out.slot] as ListColumn;
        const child = this.#data(out.element, list.child.len);
        return arrow.makeData({ type: out.type as arrow.List, length, nullCount: 0, valueOffsets: list.off.subarray(0, length + 1), child });
      }
    }
  }
}

/**
 * Growable column buffers the generated CDR decoders write into, and their hand-off to Arrow
 * `Data`. Generated code touches the public fields directly (`v`, `w`, `u8`, `off`, `data`,
 * `dlen`), so each class keeps one fixed shape and every write site stays monomorphic.
 *
 * Columns that share an index space (the rows of the table, or the elements of one list) live
 * in a `Domain`: growing the domain grows all of them at once, so the hot path checks capacity
 * once per row or per list instead of once per value.
 *
 * Rollback needs no per-row bookkeeping: every committed length can be recomputed from the
 * committed row count through list and string offsets (see `Domain.truncate`).
 */
import * as arrow from 'apache-arrow';

export type NumericKind = 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'float32' | 'float64';

type AnyTyped = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array | Float32Array | Float64Array;
type TypedCtor = { new (buffer: ArrayBuffer, byteOffset?: number, length?: number): AnyTyped; readonly BYTES_PER_ELEMENT: number };

const CTORS: Record<NumericKind, TypedCtor> = {
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  float32: Float32Array,
  float64: Float64Array,
};

export const NUMERIC_SIZE: Record<NumericKind, number> = {
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  uint64: 8,
  float32: 4,
  float64: 8,
};

const INITIAL_CAPACITY = 256;

function grownCapacity(current: number, needed: number): number {
  return Math.max(needed, current * 2, INITIAL_CAPACITY);
}

/**
 * Byte length apache-arrow's builders give a bitmap of `length` bits (rounded up to 64 bytes).
 * IPC writes a bitmap buffer whole, so matching it keeps our IPC bytes identical to the builders'.
 */
export function builderBitmapBytes(length: number): number {
  return Math.max(64, Math.ceil(Math.ceil(length / 8) / 64) * 64);
}

/** Packs one byte per value (non-zero = set) into an Arrow bitmap sized like the builders'. */
export function packBits(bytes: Uint8Array, length: number): Uint8Array {
  const bits = new Uint8Array(builderBitmapBytes(length));
  for (let i = 0; i < length; i++) if (bytes[i] !== 0) bits[i >> 3]! |= 1 << (i & 7);
  return bits;
}

function nullsOf(valid: Uint8Array, length: number): number {
  let nulls = 0;
  for (let i = 0; i < length; i++) if (valid[i] === 0) nulls++;
  return nulls;
}

/** Anything a domain grows when its capacity grows. */
interface PerElement {
  grow(capacity: number): void;
}

/** A fixed-width numeric column. 64-bit values are written as two uint32 words (`w`) to avoid BigInt. */
export class FixedColumn implements PerElement {
  readonly kind: NumericKind;
  readonly size: number;
  v: AnyTyped;
  /** uint32 view over the same bytes (64-bit columns write lo/hi words here). */
  w: Uint32Array;
  u8: Uint8Array;

  constructor(kind: NumericKind) {
    this.kind = kind;
    this.size = NUMERIC_SIZE[kind];
    this.v = new CTORS[kind](new ArrayBuffer(0));
    this.w = new Uint32Array(0);
    this.u8 = new Uint8Array(0);
  }

  grow(capacity: number): void {
    // Rounded to 8 bytes so the uint32 view always covers every element.
    const buffer = new ArrayBuffer(Math.ceil((capacity * this.size) / 8) * 8);
    const u8 = new Uint8Array(buffer);
    u8.set(this.u8);
    this.u8 = u8;
    this.w = new Uint32Array(buffer);
    this.v = new CTORS[this.kind](buffer, 0, capacity);
  }

  data(type: arrow.DataType, length: number): arrow.Data {
    return arrow.makeData({ type: type as arrow.Int, length, nullCount: 0, data: this.v.subarray(0, length) as Int32Array });
  }
}

/** A Bool column held as one byte per value while building (non-zero = true), packed at the end. */
export class BoolColumn implements PerElement {
  v = new Uint8Array(0);

  grow(capacity: number): void {
    const v = new Uint8Array(capacity);
    v.set(this.v);
    this.v = v;
  }

  data(type: arrow.DataType, length: number): arrow.Data {
    return arrow.makeData({ type: type as arrow.Bool, length, nullCount: 0, data: packBits(this.v, length) });
  }
}

/** Utf8 or Binary: Int32 offsets per element plus a byte buffer. `valid` exists only for nullable blob children. */
export class VarColumn implements PerElement {
  off = new Int32Array(1);
  data = new Uint8Array(INITIAL_CAPACITY);
  /** Bytes used in `data`. */
  dlen = 0;
  valid: Uint8Array | undefined;

  constructor(nullable = false) {
    if (nullable) this.valid = new Uint8Array(0);
  }

  grow(capacity: number): void {
    const off = new Int32Array(capacity + 1);
    off.set(this.off);
    this.off = off;
    if (this.valid !== undefined) {
      const valid = new Uint8Array(capacity);
      valid.set(this.valid);
      this.valid = valid;
    }
  }

  growData(needed: number): void {
    const data = new Uint8Array(grownCapacity(this.data.length, needed));
    data.set(this.data.subarray(0, this.dlen));
    this.data = data;
  }

  truncate(length: number): void {
    this.dlen = this.off[length]!;
  }

  /** Appends `bytes` as element `index` (the caller has grown the offsets). */
  put(index: number, bytes: Uint8Array): void {
    const end = this.dlen + bytes.length;
    if (end > this.data.length) this.growData(end);
    this.data.set(bytes, this.dlen);
    this.dlen = end;
    this.off[index + 1] = end;
    if (this.valid !== undefined) this.valid[index] = 1;
  }

  putNull(index: number): void {
    this.off[index + 1] = this.dlen;
    this.valid![index] = 0;
  }

  arrowData(type: arrow.DataType, length: number): arrow.Data {
    const nullCount = this.valid === undefined ? 0 : nullsOf(this.valid, length);
    return arrow.makeData({
      type: type as arrow.Utf8,
      length,
      nullCount,
      ...(nullCount > 0 ? { nullBitmap: packBits(this.valid!, length) } : {}),
      valueOffsets: this.off.subarray(0, length + 1),
      data: this.data.subarray(0, this.dlen),
    });
  }
}

/** List offsets; the elements live in `child`, a domain of their own. */
export class ListColumn implements PerElement {
  off = new Int32Array(1);
  readonly child: Domain;

  constructor(child: Domain) {
    this.child = child;
  }

  grow(capacity: number): void {
    const off = new Int32Array(capacity + 1);
    off.set(this.off);
    this.off = off;
  }
}

export interface BlobRefLike {
  uri: string;
  offset: number;
  length: number;
  sha256: string;
  /** Set when the bytes are inside a compressed chunk: `offset` is then within its decompressed records. */
  chunkOffset: number | null;
}

const textEncoder = new TextEncoder();

/**
 * The blob reference struct: {inline, uri, offset, length, sha256}. Filled after a message has
 * decoded completely (so a failed message never reaches the BlobSink), hence appended one
 * element at a time rather than written by generated code.
 */
export class BlobColumn implements PerElement {
  len = 0;
  readonly inline = new VarColumn(true);
  readonly uri = new VarColumn(true);
  readonly sha256 = new VarColumn(true);
  offset = new BigInt64Array(0);
  offsetValid = new Uint8Array(0);
  length = new BigInt64Array(0);
  chunkOffset = new BigInt64Array(0);
  chunkOffsetValid = new Uint8Array(0);

  grow(capacity: number): void {
    this.inline.grow(capacity);
    this.uri.grow(capacity);
    this.sha256.grow(capacity);
    const offset = new BigInt64Array(capacity);
    offset.set(this.offset);
    this.offset = offset;
    const offsetValid = new Uint8Array(capacity);
    offsetValid.set(this.offsetValid);
    this.offsetValid = offsetValid;
    const length = new BigInt64Array(capacity);
    length.set(this.length);
    this.length = length;
    const chunkOffset = new BigInt64Array(capacity);
    chunkOffset.set(this.chunkOffset);
    this.chunkOffset = chunkOffset;
    const chunkOffsetValid = new Uint8Array(capacity);
    chunkOffsetValid.set(this.chunkOffsetValid);
    this.chunkOffsetValid = chunkOffsetValid;
  }

  appendInline(bytes: Uint8Array): void {
    const i = this.len++;
    this.inline.put(i, bytes);
    this.uri.putNull(i);
    // Builders leave a null slot's value zero; so do we (a rolled-back row may have left data there).
    this.offset[i] = 0n;
    this.offsetValid[i] = 0;
    this.length[i] = BigInt(bytes.length);
    this.sha256.putNull(i);
    this.chunkOffset[i] = 0n;
    this.chunkOffsetValid[i] = 0;
  }

  appendRef(ref: BlobRefLike): void {
    const i = this.len++;
    this.inline.putNull(i);
    this.uri.put(i, textEncoder.encode(ref.uri));
    this.offset[i] = BigInt(ref.offset);
    this.offsetValid[i] = 1;
    this.length[i] = BigInt(ref.length);
    this.sha256.put(i, textEncoder.encode(ref.sha256));
    this.chunkOffset[i] = ref.chunkOffset === null ? 0n : BigInt(ref.chunkOffset);
    this.chunkOffsetValid[i] = ref.chunkOffset === null ? 0 : 1;
  }

  truncate(length: number): void {
    this.len = length;
    this.inline.truncate(length);
    this.uri.truncate(length);
    this.sha256.truncate(length);
  }

  data(type: arrow.DataType, length: number): arrow.Data {
    const [inline, uri, offset, len, sha256, chunkOffset] = (type as arrow.Struct).children.map((f) => f.type) as [
      arrow.DataType,
      arrow.DataType,
      arrow.DataType,
      arrow.DataType,
      arrow.DataType,
      arrow.DataType,
    ];
    const offsetNulls = nullsOf(this.offsetValid, length);
    const chunkOffsetNulls = nullsOf(this.chunkOffsetValid, length);
    const children = [
      this.inline.arrowData(inline, length),
      this.uri.arrowData(uri, length),
      arrow.makeData({
        type: offset as arrow.Int64,
        length,
        nullCount: offsetNulls,
        ...(offsetNulls > 0 ? { nullBitmap: packBits(this.offsetValid, length) } : {}),
        data: this.offset.subarray(0, length),
      }),
      arrow.makeData({ type: len as arrow.Int64, length, nullCount: 0, data: this.length.subarray(0, length) }),
      this.sha256.arrowData(sha256, length),
      arrow.makeData({
        type: chunkOffset as arrow.Int64,
        length,
        nullCount: chunkOffsetNulls,
        ...(chunkOffsetNulls > 0 ? { nullBitmap: packBits(this.chunkOffsetValid, length) } : {}),
        data: this.chunkOffset.subarray(0, length),
      }),
    ];
    return arrow.makeData({ type: type as arrow.Struct, length, nullCount: 0, children });
  }
}

/** Columns sharing one index space: the table's rows, or the elements of one list column. */
export class Domain {
  /** Committed elements. */
  len = 0;
  cap = 0;
  readonly members: PerElement[] = [];
  readonly vars: VarColumn[] = [];
  readonly lists: ListColumn[] = [];
  readonly blobs: BlobColumn[] = [];

  add<T extends PerElement>(column: T): T {
    this.members.push(column);
    if (column instanceof VarColumn) this.vars.push(column);
    else if (column instanceof ListColumn) this.lists.push(column);
    else if (column instanceof BlobColumn) this.blobs.push(column);
    return column;
  }

  /** Makes room for at least `needed` elements in every column of the domain. */
  ensure(needed: number): void {
    if (needed <= this.cap) return;
    const capacity = grownCapacity(this.cap, needed);
    for (const m of this.members) m.grow(capacity);
    this.cap = capacity;
  }

  /**
   * Forgets everything past `length` elements, here and in nested lists. Offsets at index
   * `length` were written by committed elements, so they say where each child really ends.
   */
  truncate(length: number): void {
    this.len = length;
    for (const v of this.vars) v.truncate(length);
    for (const b of this.blobs) b.truncate(length);
    for (const l of this.lists) l.child.truncate(l.off[length]!);
  }
}

/**
 * A Utf8 column whose rows repeat a few strings (recording id, topic): one palette index per
 * row while building, the bytes laid out once at the end.
 */
export class PaletteColumn implements PerElement {
  picks = new Int32Array(0);
  readonly #palette: string[] = [];
  #last: string | undefined;
  #lastIndex = -1;

  grow(capacity: number): void {
    const picks = new Int32Array(capacity);
    picks.set(this.picks);
    this.picks = picks;
  }

  set(index: number, text: string): void {
    if (text !== this.#last) {
      let at = this.#palette.indexOf(text);
      if (at < 0) at = this.#palette.push(text) - 1;
      this.#last = text;
      this.#lastIndex = at;
    }
    this.picks[index] = this.#lastIndex;
  }

  data(type: arrow.DataType, length: number): arrow.Data {
    const encoded = this.#palette.map((s) => textEncoder.encode(s));
    const valueOffsets = new Int32Array(length + 1);
    let total = 0;
    for (let i = 0; i < length; i++) valueOffsets[i + 1] = total += encoded[this.picks[i]!]!.length;
    const data = new Uint8Array(total);
    for (let i = 0; i < length; i++) {
      const bytes = encoded[this.picks[i]!]!;
      const at = valueOffsets[i]!;
      // Ids and topics are short: a byte loop beats TypedArray#set's call overhead.
      if (bytes.length > 64) data.set(bytes, at);
      else for (let j = 0; j < bytes.length; j++) data[at + j] = bytes[j]!;
    }
    return arrow.makeData({ type: type as arrow.Utf8, length, nullCount: 0, valueOffsets, data });
  }
}

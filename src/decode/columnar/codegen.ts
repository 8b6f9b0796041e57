/**
 * Generates the JavaScript source of a schema's CDR decoders (one per byte order) from its
 * layout. The code reads the wire with unrolled DataView calls at offsets known at compile
 * time wherever the layout allows, and writes straight into column buffers: no per-message
 * objects, no per-field closures.
 *
 * Semantics follow @foxglove/cdr's CdrReader as driven by rosmsg2-serialization's MessageReader:
 * - alignment is relative to the byte after the 4-byte encapsulation header, 8-byte types align to 8;
 * - a string is a uint32 length (including the NUL) and its bytes; lengths 0 and 1 are "";
 * - an empty primitive sequence is not aligned (CdrReader returns before aligning);
 * - a read past the end throws (we throw at the start of each run of fixed-offset reads, which
 *   is equivalent: reads move forward, so the run's last byte decides).
 *
 * Compile-time alignment tracking: the generator knows `(p - origin) mod m` for some m ∈ {1,2,4,8}
 * and emits runtime padding only when that knowledge is not enough.
 */
import type { PrimitiveName } from '../column-plan.ts';
import { NUMERIC_SIZE, type NumericKind } from './columns.ts';
import type { Layout, Out, Read } from './layout.ts';

interface AlignState {
  mod: number;
  phase: number;
}

function meet(a: AlignState, b: AlignState): AlignState {
  let mod = Math.min(a.mod, b.mod);
  while (mod > 1 && a.phase % mod !== b.phase % mod) mod /= 2;
  return { mod, phase: a.phase % mod };
}

function sameState(a: AlignState, b: AlignState): boolean {
  return a.mod === b.mod && a.phase === b.phase;
}

/** Known alignment after advancing by `count * size` bytes for an unknown count. */
function afterUnknownMultiple(st: AlignState, size: number): AlignState {
  let mod = 1;
  while (mod < 8 && size % (mod * 2) === 0) mod *= 2;
  mod = Math.min(mod, st.mod);
  return { mod, phase: st.phase % mod };
}

class Names {
  #n = 0;
  next(prefix: string): string {
    return `${prefix}${this.#n++}`;
  }
}

/** Most elements accepted in a sequence whose elements occupy no bytes at all. */
const MAX_EMPTY_ELEMENTS = 1 << 24;

/** Below this many elements a loop of DataView reads beats a bulk byte copy (subarray + set). */
const BULK_COPY_MIN = 16;

/**
 * Accumulates code. Reads at compile-time-known offsets form a "run": they are buffered, then
 * emitted after one bounds check covering the whole run, with `p` advanced once at the end.
 */
class Emitter {
  readonly lines: string[] = [];
  st: AlignState;
  #run: string[] = [];
  #k = 0;
  #ext = 0;
  /** Whether the run claimed wire bytes (even zero of them) and so needs a bounds check. */
  #claimed = false;
  #indent: string;

  /**
   * `dry`: the emitter only tracks alignment (to find a loop's entry state); its lines are
   * thrown away, so nested loop bodies need not be generated into it.
   */
  constructor(
    readonly le: boolean,
    readonly names: Names,
    st: AlignState,
    indent: string,
    readonly dry = false,
  ) {
    this.st = { ...st };
    this.#indent = indent;
  }

  get LE(): string {
    return this.le ? 'true' : 'false';
  }

  /** Emits a line at the current position in the code, after any pending run. */
  emit(line: string): void {
    this.flush();
    this.lines.push(this.#indent + line);
  }

  open(line: string): void {
    this.emit(line);
    this.#indent += '  ';
  }

  close(line = '}'): void {
    this.flush();
    this.#indent = this.#indent.slice(2);
    this.lines.push(this.#indent + line);
  }

  /** A statement that belongs inside the current run (it uses run addresses). */
  stmt(line: string): void {
    this.#run.push(this.#indent + line);
  }

  /** Ends the run: bounds check, buffered statements, then `p` catches up. */
  flush(): void {
    if (this.#claimed) {
      // ext 0 still checks: a zero-length Uint8Array view past the end throws in the reference.
      this.lines.push(`${this.#indent}if (p + ${this.#ext} > end) throw oob(p, ${this.#ext});`);
    }
    for (const l of this.#run) this.lines.push(l);
    if (this.#k > 0) this.lines.push(`${this.#indent}p += ${this.#k};`);
    this.#run = [];
    this.#k = 0;
    this.#ext = 0;
    this.#claimed = false;
  }

  align(a: number): void {
    if (a <= 1) return;
    if (this.st.mod >= a) {
      const pad = (a - (this.st.phase % a)) % a;
      this.#k += pad;
      this.st.phase = (this.st.phase + pad) % this.st.mod;
    } else {
      this.emit(`p += (o - p) & ${a - 1};`);
      this.st = { mod: a, phase: 0 };
    }
  }

  /** Claims `size` bytes at the current position; returns their address expression. */
  read(size: number): string {
    const addr = this.#k === 0 ? 'p' : `p + ${this.#k}`;
    this.#claimed = true;
    this.#ext = this.#k + size;
    this.#k += size;
    this.st.phase = (this.st.phase + size) % this.st.mod;
    return addr;
  }
}

type Count = { static: number } | { dynamic: string };

function countExpr(c: Count): string {
  return 'static' in c ? String(c.static) : c.dynamic;
}

/** Element size and alignment on the wire of a fixed-size primitive. */
function wireSize(prim: PrimitiveName): { size: number; align: number } | undefined {
  switch (prim) {
    case 'bool':
      return { size: 1, align: 1 };
    case 'time':
    case 'duration':
      return { size: 8, align: 4 };
    case 'string':
    case 'wstring':
      return undefined;
    default: {
      const size = NUMERIC_SIZE[prim];
      return { size, align: size };
    }
  }
}

const minReads = new WeakMap<Read, number>();

/** Bytes a value certainly reads from the wire (a lower bound, used to refuse absurd counts early). Memoised: every enclosing sequence asks. */
function minRead(node: Read): number {
  let bytes = minReads.get(node);
  if (bytes === undefined) {
    bytes = minReadOf(node);
    minReads.set(node, bytes);
  }
  return bytes;
}

function minReadOf(node: Read): number {
  switch (node.k) {
    case 'prim':
      return node.prim === 'string' ? 4 : (wireSize(node.prim)?.size ?? 0);
    case 'primSeq':
      if (node.length === undefined) return 4;
      return node.length * (node.prim === 'string' ? 4 : (wireSize(node.prim)?.size ?? 0));
    case 'struct':
      return node.empty ? 1 : node.fields.reduce((n, f) => n + minRead(f), 0);
    case 'structSeq':
      return node.length === undefined ? 4 : node.length * minRead(node.element);
  }
}

const col = (slot: number): string => `s${slot}`;
const dom = (id: number): string => `d${id}`;

class Generator {
  /** Loop entry state of each sequence's element, by the state before the loop (see #loopState). */
  readonly #loopStates = new Map<Read, Map<string, AlignState>>();

  constructor(readonly le: boolean) {}

  /**
   * The alignment every iteration of a loop over `element` starts from, entered in `entry`:
   * iterated to a fixpoint over dry runs of the body. Memoised by (element, entry, kept), and a
   * dry run does not descend into nested loop bodies (it takes their memoised state), so each
   * element is dry-run a bounded number of times whatever its depth. Without that, every level
   * re-generated everything below it several times: compilation time grew ×2–3 per level.
   */
  #loopState(element: Read & { k: 'struct' }, entry: AlignState, kept: boolean): AlignState {
    const key = `${entry.mod}:${entry.phase}:${kept}`;
    let byEntry = this.#loopStates.get(element);
    if (byEntry === undefined) {
      byEntry = new Map();
      this.#loopStates.set(element, byEntry);
    }
    const known = byEntry.get(key);
    if (known !== undefined) return { ...known };
    let st = { ...entry };
    for (;;) {
      const dry = new Emitter(this.le, new Names(), st, '', true);
      this.#struct(dry, element, kept ? 'j' : null);
      dry.flush();
      const next = meet(entry, dry.st);
      if (sameState(next, st)) break;
      st = next;
    }
    byEntry.set(key, { ...st });
    return st;
  }

  /** Scalar store of the value at `addr` into a fixed column. */
  #storeFixed(e: Emitter, kind: NumericKind, target: string, index: string, addr: string): void {
    switch (kind) {
      case 'int8':
      case 'uint8':
        // Int8Array stores wrap, so the raw byte is right for both.
        e.stmt(`${target}.v[${index}] = u8[${addr}];`);
        return;
      case 'int64':
      case 'uint64': {
        const [lo, hi] = this.le ? [addr, `${addr} + 4`] : [`${addr} + 4`, addr];
        e.stmt(`${target}.w[2 * (${index})] = dv.getUint32(${lo}, ${e.LE}); ${target}.w[2 * (${index}) + 1] = dv.getUint32(${hi}, ${e.LE});`);
        return;
      }
      default: {
        const getter = { int16: 'getInt16', uint16: 'getUint16', int32: 'getInt32', uint32: 'getUint32', float32: 'getFloat32', float64: 'getFloat64' }[kind];
        e.stmt(`${target}.v[${index}] = dv.${getter}(${addr}, ${e.LE});`);
      }
    }
  }

  /** Statements copying `count` consecutive fixed-size values at `addr` into a column from index `k`. */
  #copyFixed(kind: NumericKind | 'bool', target: string, k: string, addr: string, count: Count, LE: string): string[] {
    const size = kind === 'bool' ? 1 : NUMERIC_SIZE[kind];
    const n = countExpr(count);
    const loop = (body: string): string => `for (let i = 0; i < ${n}; i++) ${body}`;
    let small: string;
    if (size === 1) small = loop(`${target}.v[${k} + i] = u8[${addr} + i];`);
    else if (kind === 'int64' || kind === 'uint64') {
      const [lo, hi] = this.le ? ['', ' + 4'] : [' + 4', ''];
      small = loop(
        `{ const a = ${addr} + 8 * i, j = 2 * (${k} + i); ${target}.w[j] = dv.getUint32(a${lo}, ${LE}); ${target}.w[j + 1] = dv.getUint32(a${hi}, ${LE}); }`,
      );
    } else {
      const getter = { int16: 'getInt16', uint16: 'getUint16', int32: 'getInt32', uint32: 'getUint32', float32: 'getFloat32', float64: 'getFloat64' }[
        kind as 'int16'
      ];
      small = loop(`${target}.v[${k} + i] = dv.${getter}(${addr} + ${size} * i, ${LE});`);
    }
    // Bulk byte copies keep wire bytes as they are, so only when the wire order is the host's (little).
    if (!this.le && size > 1) return [small];
    const bulk = `${target}.${kind === 'bool' ? 'v' : 'u8'}.set(u8.subarray(${addr}, ${addr} + ${n} * ${size}), (${k}) * ${size});`;
    if ('static' in count) return [count.static >= BULK_COPY_MIN ? bulk : small];
    return [`if (${n} < ${BULK_COPY_MIN}) ${small}`, `else ${bulk}`];
  }

  /** Reads the sequence length (uint32) and returns it as a dynamic count; ends the run. */
  #readCount(e: Emitter): Count {
    e.align(4);
    const addr = e.read(4);
    const n = e.names.next('n');
    e.stmt(`const ${n} = dv.getUint32(${addr}, ${e.LE});`);
    e.flush();
    return { dynamic: n };
  }

  gen(e: Emitter, node: Read, index: string | null): void {
    switch (node.k) {
      case 'prim':
        return this.#prim(e, node.prim, node.out, index);
      case 'primSeq':
        return this.#primSeq(e, node, index);
      case 'struct':
        return this.#struct(e, node, index);
      case 'structSeq':
        return this.#structSeq(e, node, index);
    }
  }

  #prim(e: Emitter, prim: PrimitiveName, out: Out | null, index: string | null): void {
    const keep = out !== null && index !== null;
    switch (prim) {
      case 'string': {
        e.align(4);
        const addr = e.read(4);
        const n = e.names.next('n');
        e.stmt(`const ${n} = dv.getUint32(${addr}, ${e.LE});`);
        e.flush();
        e.emit(keep ? `p = str(${col((out as Out & { k: 'var' }).slot)}, ${index}, p, ${n});` : `p = skipStr(p, ${n});`);
        e.st = { mod: 1, phase: 0 };
        return;
      }
      case 'wstring':
        e.emit('throw wstring();');
        return;
      case 'time':
      case 'duration': {
        e.align(4);
        const sec = e.read(4);
        const nanosec = e.read(4);
        if (keep) {
          const [s, ns] = (out as Out & { k: 'struct' }).children as [Out & { k: 'fixed' }, Out & { k: 'fixed' }];
          this.#storeFixed(e, 'int32', col(s.slot), index, sec);
          this.#storeFixed(e, 'uint32', col(ns.slot), index, nanosec);
        }
        return;
      }
      default: {
        const { size, align } = wireSize(prim)!;
        e.align(align);
        const addr = e.read(size);
        if (keep) this.#storeFixed(e, prim === 'bool' ? 'uint8' : prim, col((out as Out & { k: 'fixed' }).slot), index, addr);
      }
    }
  }

  #primSeq(e: Emitter, node: Read & { k: 'primSeq' }, index: string | null): void {
    const { prim, out } = node;
    const count: Count = node.length === undefined ? this.#readCount(e) : { static: node.length };
    if (prim === 'wstring') {
      e.emit('throw wstring();');
      return;
    }
    const keep = out !== null && index !== null;
    if (prim === 'uint8' && (!keep || out.k !== 'list')) return this.#byteSeq(e, count, keep ? out : null, index);
    if (prim === 'string') return this.#stringSeq(e, count, keep ? (out as Out & { k: 'list' }) : null, index);

    const { size, align } = wireSize(prim)!;
    const list = keep ? (out as Out & { k: 'list' }) : null;
    const n = countExpr(count);
    // Destination: a fresh range [k, k + n) of the list's child domain.
    const begin = (em: Emitter): string | null => {
      if (list === null) return null;
      const k = em.names.next('k');
      const d = dom(list.childDomain);
      em.stmt(`const ${k} = ${d}.len; if (${k} + ${n} > ${d}.cap) ${d}.ensure(${k} + ${n});`);
      return k;
    };
    const end = (em: Emitter, k: string | null): void => {
      if (list === null || k === null) return;
      em.stmt(`${dom(list.childDomain)}.len = ${k} + ${n}; ${col(list.slot)}.off[${index} + 1] = ${k} + ${n};`);
    };
    const fill = (em: Emitter, k: string | null, addr: string): void => {
      if (list === null || k === null) return;
      const element = list.element;
      if (element.k === 'struct') {
        // time / duration: pairs of int32 sec, uint32 nanosec.
        const [s, ns] = element.children as [Out & { k: 'fixed' }, Out & { k: 'fixed' }];
        em.stmt(
          `for (let i = 0; i < ${n}; i++) { const a = ${addr} + 8 * i; ${col(s.slot)}.v[${k} + i] = dv.getInt32(a, ${em.LE}); ${col(ns.slot)}.v[${k} + i] = dv.getUint32(a + 4, ${em.LE}); }`,
        );
      } else {
        const kind = element.k === 'bool' ? 'bool' : (element as Out & { k: 'fixed' }).kind;
        for (const line of this.#copyFixed(kind, col(element.slot), k, addr, count, em.LE)) em.stmt(line);
      }
    };

    if ('static' in count) {
      // A fixed array: part of the current run. CdrReader skips alignment for zero elements.
      if (count.static > 0) e.align(align);
      const addr = e.read(count.static * size);
      const k = begin(e);
      fill(e, k, addr);
      end(e, k);
      return;
    }
    const before = { ...e.st };
    const k = list === null ? null : e.names.next('k');
    if (k !== null) e.emit(`const ${k} = ${dom(list!.childDomain)}.len;`);
    e.open(`if (${n} > 0) {`);
    e.align(align);
    e.flush();
    const bytes = `${n} * ${size}`;
    e.emit(`if (p + ${bytes} > end) throw oob(p, ${bytes});`);
    if (list !== null && k !== null) {
      const d = dom(list.childDomain);
      e.emit(`if (${k} + ${n} > ${d}.cap) ${d}.ensure(${k} + ${n});`);
      fill(e, k, 'p');
      e.flush();
      e.emit(`${d}.len = ${k} + ${n};`);
    }
    e.emit(`p += ${bytes};`);
    const inside = afterUnknownMultiple(e.st, size);
    e.close();
    if (list !== null && k !== null) e.emit(`${col(list.slot)}.off[${index} + 1] = ${k} + ${n};`);
    e.st = meet(before, inside);
  }

  /** uint8[] kept as Binary or a blob reference (or skipped). */
  #byteSeq(e: Emitter, count: Count, out: Out | null, index: string | null): void {
    const n = countExpr(count);
    const store = (addr: string): string | null => {
      if (out === null || index === null) return null;
      if (out.k === 'blob') return `pend.push(${out.slot}, ${addr}, ${n});`;
      return `bin(${col((out as Out & { k: 'var' }).slot)}, ${index}, ${addr}, ${n});`;
    };
    if ('static' in count) {
      const addr = e.read(count.static);
      const line = store(addr);
      if (line !== null) e.stmt(line);
      return;
    }
    e.emit(`if (p + ${n} > end) throw oob(p, ${n});`);
    const line = store('p');
    if (line !== null) e.emit(line);
    e.emit(`p += ${n};`);
    e.st = { mod: 1, phase: 0 };
  }

  #stringSeq(e: Emitter, count: Count, list: (Out & { k: 'list' }) | null, index: string | null): void {
    const n = countExpr(count);
    if ('static' in count && count.static === 0) {
      if (list !== null) e.stmt(`${col(list.slot)}.off[${index} + 1] = ${dom(list.childDomain)}.len;`);
      return;
    }
    e.flush();
    if ('dynamic' in count) e.emit(`if (${n} * 4 > end - p) throw oob(p, ${n} * 4);`);
    const k = e.names.next('k');
    const element = list === null ? null : col((list.element as Out & { k: 'var' }).slot);
    if (list !== null) {
      const d = dom(list.childDomain);
      e.emit(`const ${k} = ${d}.len; if (${k} + ${n} > ${d}.cap) ${d}.ensure(${k} + ${n});`);
    }
    const m = e.names.next('m');
    e.open(`for (let i = 0; i < ${n}; i++) {`);
    e.emit('p += (o - p) & 3;');
    e.emit('if (p + 4 > end) throw oob(p, 4);');
    e.emit(`const ${m} = dv.getUint32(p, ${e.LE}); p += 4;`);
    e.emit(element === null ? `p = skipStr(p, ${m});` : `p = str(${element}, ${k} + i, p, ${m});`);
    e.close();
    if (list !== null) e.emit(`${dom(list.childDomain)}.len = ${k} + ${n}; ${col(list.slot)}.off[${index} + 1] = ${k} + ${n};`);
    // After any string the offset is unknown; with zero strings it is where the count left it.
    e.st = 'static' in count ? { mod: 1, phase: 0 } : meet(e.st, { mod: 1, phase: 0 });
  }

  #struct(e: Emitter, node: Read & { k: 'struct' }, index: string | null): void {
    if (node.empty) {
      // ROS 2 gives an empty message one `uint8 structure_needs_at_least_one_member`.
      e.read(1);
      return;
    }
    for (const field of node.fields) this.gen(e, field, field.out === null ? null : index);
  }

  #structSeq(e: Emitter, node: Read & { k: 'structSeq' }, index: string | null): void {
    const count: Count = node.length === undefined ? this.#readCount(e) : { static: node.length };
    const n = countExpr(count);
    if ('static' in count && count.static === 0) {
      if (node.out !== null && index !== null) {
        const list = node.out as Out & { k: 'list' };
        e.stmt(`${col(list.slot)}.off[${index} + 1] = ${dom(list.childDomain)}.len;`);
      }
      return;
    }
    e.flush();
    if ('dynamic' in count) {
      // Refuse counts the remaining bytes cannot hold before allocating room for them.
      const min = minRead(node.element);
      if (min > 0) e.emit(`if (${n} * ${min} > end - p) throw oob(p, ${n} * ${min});`);
      // Elements of zero bytes (only zero-length fixed arrays) fit any count: bound it instead.
      else e.emit(`if (${n} > ${MAX_EMPTY_ELEMENTS}) throw tooMany(${n});`);
    }
    const list = node.out !== null && index !== null ? (node.out as Out & { k: 'list' }) : null;
    const k = e.names.next('k');
    if (list !== null) {
      const d = dom(list.childDomain);
      e.emit(`const ${k} = ${d}.len; if (${k} + ${n} > ${d}.cap) ${d}.ensure(${k} + ${n});`);
    }
    // The loop body starts from the alignment every iteration agrees on.
    const st = this.#loopState(node.element, e.st, list !== null);
    if (e.dry) {
      e.st = st;
      return;
    }
    const j = e.names.next('j');
    e.open(`for (let i = 0; i < ${n}; i++) {`);
    e.st = { ...st };
    if (list !== null) e.emit(`const ${j} = ${k} + i;`);
    this.#struct(e, node.element, list === null ? null : j);
    e.close();
    if (list !== null) e.emit(`${dom(list.childDomain)}.len = ${k} + ${n}; ${col(list.slot)}.off[${index} + 1] = ${k} + ${n};`);
    e.st = st;
  }
}

/**
 * Source of `function (S, D, H) { …; return { decodeLE, decodeBE }; }` where S are the column
 * objects by slot, D the domains, H the host helpers (errors, UTF-8 slow path).
 * Each decode takes (u8, dv, origin, end, row, pend): u8/dv view the message's whole ArrayBuffer,
 * `origin` is the absolute offset just after the encapsulation header, `end` the message's
 * absolute end; uint8 arrays bound for blob columns are pushed to `pend` as (slot, offset, length).
 */
export function generateSource(layout: Layout): string {
  const lines: string[] = ['"use strict";'];
  layout.slots.forEach((_, i) => lines.push(`const ${col(i)} = S[${i}];`));
  for (let i = 0; i < layout.domains; i++) lines.push(`const ${dom(i)} = D[${i}];`);
  lines.push(HELPERS);
  for (const le of [true, false]) {
    const e = new Emitter(le, new Names(), { mod: 8, phase: 0 }, '  ');
    new Generator(le).gen(e, layout.root, 'r');
    e.flush();
    lines.push(`function decode${le ? 'LE' : 'BE'}(U8, DV, O, END, r, pend) {`);
    lines.push('  u8 = U8; dv = DV; o = O; end = END;');
    lines.push('  let p = O;');
    lines.push(...e.lines);
    lines.push('  return p;');
    lines.push('}');
  }
  lines.push('return { decodeLE, decodeBE };');
  return lines.join('\n');
}

const HELPERS = `
let u8 = null, dv = null, o = 0, end = 0;
const STR_LOOP_MAX = 32;
function oob(p, need) { return H.truncated(p - o + 4, need, end - o + 4); }
function wstring() { return H.wstring(); }
function tooMany(n) { return H.tooMany(n); }
function str(c, ix, p, n) {
  if (n > 1) {
    const m = n - 1;
    if (p + m > end) throw oob(p, m);
    let d = c.dlen;
    if (d + m > c.data.length) c.growData(d + m);
    if (m <= STR_LOOP_MAX) {
      const data = c.data;
      let acc = 0;
      for (let i = 0; i < m; i++) { const b = u8[p + i]; data[d + i] = b; acc |= b; }
      d = acc < 0x80 ? d + m : H.utf8(c, d, u8, p, m);
    } else {
      d = H.utf8(c, d, u8, p, m);
    }
    c.dlen = d;
  }
  c.off[ix + 1] = c.dlen;
  return p + n;
}
function skipStr(p, n) {
  if (n > 1 && p + n - 1 > end) throw oob(p, n - 1);
  return p + n;
}
function bin(c, ix, a, n) {
  const d = c.dlen;
  if (d + n > c.data.length) c.growData(d + n);
  if (n < 32) { const data = c.data; for (let i = 0; i < n; i++) data[d + i] = u8[a + i]; }
  else c.data.set(u8.subarray(a, a + n), d);
  c.dlen = d + n;
  c.off[ix + 1] = d + n;
}
`;

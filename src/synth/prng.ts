/**
 * mulberry32: tiny, fast, and good enough for synthetic sensor noise. The integer stream is
 * platform-independent (32-bit ops via Math.imul); fillBytes writes words in host byte order,
 * which is little-endian on every platform Node supports.
 */
export class Prng {
  #state: number;
  #spareGaussian: number | undefined;

  constructor(seed: number) {
    // Scramble the seed (splitmix32 finaliser) so neighbouring seeds give unrelated streams.
    let z = (seed | 0) + 0x9e3779b9;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    this.#state = (z ^ (z >>> 16)) >>> 0;
  }

  nextU32(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  uniform(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** Standard normal via Box–Muller; the second value of each pair is cached. */
  gaussian(sigma = 1): number {
    const spare = this.#spareGaussian;
    if (spare !== undefined) {
      this.#spareGaussian = undefined;
      return spare * sigma;
    }
    const u = 1 - this.next(); // (0, 1], keeps log finite
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spareGaussian = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v) * sigma;
  }

  /** Fills `out` with random bytes; the state loop is inlined because this is the hot path. */
  fillBytes(out: Uint8Array): void {
    let s = this.#state;
    const n = out.length;
    const words = n >>> 2;
    const aligned = (out.byteOffset & 3) === 0;
    if (aligned && words > 0) {
      const view = new Uint32Array(out.buffer, out.byteOffset, words);
      for (let i = 0; i < words; i++) {
        let t = (s = (s + 0x6d2b79f5) | 0);
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        view[i] = t ^ (t >>> 14);
      }
    }
    // Tail bytes, or the whole buffer when the view is unaligned. Unaligned output differs from the
    // aligned path, but a call site always passes the same alignment, so runs stay reproducible.
    for (let i = aligned ? words << 2 : 0; i < n; i++) {
      let t = (s = (s + 0x6d2b79f5) | 0);
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      out[i] = (t ^ (t >>> 14)) & 0xff;
    }
    this.#state = s;
  }
}

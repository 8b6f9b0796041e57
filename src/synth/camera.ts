import type { Prng } from './prng.ts';

const MIN_JPEG_BYTES = 30_000;
const MAX_JPEG_BYTES = 60_000;

// SOI followed by a standard 16-byte JFIF APP0 segment (v1.01, no density units, no thumbnail).
const JPEG_PREFIX = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]);
const JPEG_EOI = Uint8Array.from([0xff, 0xd9]);

/**
 * Produces JPEG-shaped frames: real markers at both ends and an incompressible body, which is what
 * matters for storage and throughput tests. The returned view is reused by the next call.
 */
export class JpegSynth {
  readonly #buffer = new Uint8Array(MAX_JPEG_BYTES);
  readonly #prng: Prng;

  constructor(prng: Prng) {
    this.#prng = prng;
    this.#buffer.set(JPEG_PREFIX, 0);
  }

  frame(index: number): Uint8Array {
    const prng = this.#prng;
    // Encoded size drifts slowly with scene content, plus per-frame jitter.
    const wanted = 45_000 + 9_000 * Math.sin(index * 0.013) + prng.gaussian(1_500);
    const size = Math.round(Math.min(MAX_JPEG_BYTES, Math.max(MIN_JPEG_BYTES, wanted)));
    const bodyEnd = size - JPEG_EOI.length;
    const body = this.#buffer.subarray(JPEG_PREFIX.length, bodyEnd);
    prng.fillBytes(body);
    // Entropy-coded JPEG data never contains a bare 0xFF, so scanners for markers (e.g. the EOI)
    // see only the real ones.
    for (let i = 0; i < body.length; i++) if (body[i] === 0xff) body[i] = 0xfe;
    this.#buffer.set(JPEG_EOI, bodyEnd);
    return this.#buffer.subarray(0, size);
  }
}

/**
 * Host functions the generated decoders call off the hot path: error construction and the
 * UTF-8 slow path. Kept out of the generated source so they are compiled (and typed) once.
 */
import { isUtf8 } from 'node:buffer';
import type { VarColumn } from './columns.ts';

/** A message shorter than its own contents say (truncated, or a corrupt length field). */
export class CdrTruncatedError extends RangeError {}

// Exactly what @foxglove/cdr decodes strings with: non-fatal (invalid bytes → U+FFFD) and
// stripping a leading byte order mark. Arrow's Utf8 builder then re-encodes with TextEncoder.
const decoder = new TextDecoder('utf8');
const encoder = new TextEncoder();

export interface DecoderHost {
  truncated(offset: number, need: number, size: number): Error;
  wstring(): Error;
  tooMany(count: number): Error;
  /** Writes the string bytes u8[p, p + m) into `c` at `d` as the object path would; returns the new end. */
  utf8(c: VarColumn, d: number, u8: Uint8Array, p: number, m: number): number;
}

export const HOST: DecoderHost = {
  truncated(offset, need, size) {
    return new CdrTruncatedError(`CDR message truncated: reading ${need} bytes at offset ${offset} runs past its end (${size} bytes)`);
  },
  wstring() {
    // MessageReader's words: the object path fails on the same messages.
    return new Error('wstring is implementation-defined and therefore not supported');
  },
  tooMany(count) {
    return new CdrTruncatedError(`CDR sequence of ${count} zero-size elements is implausibly long (corrupt length?)`);
  },
  utf8(c, d, u8, p, m) {
    const src = u8.subarray(p, p + m);
    const bom = m >= 3 && src[0] === 0xef && src[1] === 0xbb && src[2] === 0xbf;
    // Valid UTF-8 survives decode + encode unchanged, so copy it; anything else takes the round trip.
    const bytes = !bom && isUtf8(src) ? src : encoder.encode(decoder.decode(src));
    if (d + bytes.length > c.data.length) c.growData(d + bytes.length);
    c.data.set(bytes, d);
    return d + bytes.length;
  },
};

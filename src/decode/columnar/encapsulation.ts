/**
 * The 4-byte CDR encapsulation header (RTPS representation identifier + options). ROS 2 writes
 * plain XCDR1: 0x00 0x01 (CDR_LE) or 0x00 0x00 (CDR_BE). Other representations change the
 * wire layout (parameter lists, delimiters, 4-byte alignment of 64-bit values), so decoding
 * them as plain CDR would yield plausible-looking garbage: refuse them by name instead.
 */
export class CdrEncapsulationError extends Error {}

const KIND_NAMES: Record<number, string> = {
  0x02: 'PL_CDR_BE (parameter list)',
  0x03: 'PL_CDR_LE (parameter list)',
  0x06: 'CDR2_BE (XCDR2)',
  0x07: 'CDR2_LE (XCDR2)',
  0x08: 'D_CDR2_BE (delimited XCDR2)',
  0x09: 'D_CDR2_LE (delimited XCDR2)',
  0x0a: 'PL_CDR2_BE (parameter list XCDR2)',
  0x0b: 'PL_CDR2_LE (parameter list XCDR2)',
};

const EXPECTED = 'ROS 2 messages use plain CDR: 0x0001 (CDR_LE) or 0x0000 (CDR_BE)';

/** True for CDR_LE, false for CDR_BE; throws CdrEncapsulationError for anything else. The options bytes are ignored. */
export function isLittleEndianCdr(data: Uint8Array): boolean {
  if (data.byteLength < 4) throw new CdrEncapsulationError(`CDR message of ${data.byteLength} bytes is shorter than its 4-byte encapsulation header`);
  const hi = data[0]!;
  const kind = data[1]!;
  if (hi === 0 && kind === 0x01) return true;
  if (hi === 0 && kind === 0x00) return false;
  const id = `0x${hi.toString(16).padStart(2, '0')}${kind.toString(16).padStart(2, '0')}`;
  const name = hi === 0 ? KIND_NAMES[kind] : undefined;
  if (name !== undefined) throw new CdrEncapsulationError(`CDR encapsulation ${id} ${name} is not supported; ${EXPECTED}`);
  throw new CdrEncapsulationError(`unknown CDR encapsulation ${id}; ${EXPECTED}`);
}

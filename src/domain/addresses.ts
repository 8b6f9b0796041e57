/**
 * Content addresses of derived objects. An output's address is a hash of everything that
 * determines its bytes: the recording, the slice of it, the operator name@version and its
 * parameters. A retried or duplicated job therefore writes the same bytes to the same key.
 */
import { canonicalJson } from './canonical-json.ts';
import { sha256Hex } from './hash.ts';

export interface AddressInputs {
  recordingId: string;
  /** `name@version` of the operator producing the object. */
  operator: string;
  /** What slice of the recording and which output of the operator this is. */
  slice: Record<string, unknown>;
  /** Parameters that change the output bytes. */
  params: Record<string, unknown>;
}

export function contentAddress(inputs: AddressInputs): string {
  return sha256Hex(canonicalJson({ v: 1, ...inputs }));
}

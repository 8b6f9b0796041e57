import { parse } from '@foxglove/rosmsg';
import { MessageWriter } from '@foxglove/rosmsg2-serialization';

/** Serializes messages of one ros2msg schema to CDR, reusing a single output buffer. */
export class CdrEncoder {
  readonly #writer: MessageWriter;
  #scratch: ArrayBuffer;

  constructor(schemaText: string, initialBytes = 4096) {
    this.#writer = new MessageWriter(parse(schemaText, { ros2: true }));
    this.#scratch = new ArrayBuffer(initialBytes);
  }

  /** The returned view is only valid until the next call. */
  encode(message: unknown): Uint8Array {
    // MessageWriter's typings say Uint8Array, but it hands `output` to CdrWriter({ buffer }), which
    // needs an ArrayBuffer (a Uint8Array breaks its DataView). CdrWriter grows the buffer itself
    // when the message does not fit; keep the grown one for next time.
    const out = this.#writer.writeMessage(message, this.#scratch as unknown as Uint8Array);
    if (out.buffer !== this.#scratch && out.buffer instanceof ArrayBuffer) this.#scratch = out.buffer;
    return out;
  }
}

import { open, type FileHandle } from 'node:fs/promises';
import type { IWritable } from '@mcap/core';

const DEFAULT_BLOCK_BYTES = 1024 * 1024;

/**
 * Append-only IWritable over a file. McapWriter issues many tiny writes (one per record in the
 * summary, message indexes, ...), so those are coalesced into fixed-size blocks; large writes
 * (whole chunks) go straight to the file to avoid a copy.
 */
export class BufferedFileWritable implements IWritable {
  readonly #fh: FileHandle;
  readonly #block: Uint8Array;
  #blockUsed = 0;
  #position = 0n;
  #flushed = 0;
  readonly #onFlush: ((bytesOnDisk: number) => void) | undefined;

  private constructor(fh: FileHandle, blockBytes: number, onFlush?: (bytesOnDisk: number) => void) {
    this.#fh = fh;
    this.#block = new Uint8Array(blockBytes);
    this.#onFlush = onFlush;
  }

  static async create(path: string, options: { blockBytes?: number; onFlush?: (bytesOnDisk: number) => void } = {}): Promise<BufferedFileWritable> {
    const fh = await open(path, 'w');
    return new BufferedFileWritable(fh, options.blockBytes ?? DEFAULT_BLOCK_BYTES, options.onFlush);
  }

  position(): bigint {
    return this.#position;
  }

  async write(buffer: Uint8Array): Promise<void> {
    this.#position += BigInt(buffer.byteLength);
    if (buffer.byteLength >= this.#block.byteLength) {
      await this.#flushBlock();
      await this.#writeAll(buffer);
      return;
    }
    let offset = 0;
    while (offset < buffer.byteLength) {
      const n = Math.min(this.#block.byteLength - this.#blockUsed, buffer.byteLength - offset);
      this.#block.set(buffer.subarray(offset, offset + n), this.#blockUsed);
      this.#blockUsed += n;
      offset += n;
      if (this.#blockUsed === this.#block.byteLength) await this.#flushBlock();
    }
  }

  /** Flushes buffered bytes and closes the file; the writable must not be used afterwards. */
  async close(): Promise<void> {
    try {
      await this.#flushBlock();
    } finally {
      await this.#fh.close();
    }
  }

  /** Closes without flushing, for error paths where the file is about to be discarded. */
  async abort(): Promise<void> {
    await this.#fh.close();
  }

  async #flushBlock(): Promise<void> {
    if (this.#blockUsed === 0) return;
    const used = this.#blockUsed;
    this.#blockUsed = 0;
    await this.#writeAll(this.#block.subarray(0, used));
  }

  async #writeAll(data: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < data.byteLength) {
      const { bytesWritten } = await this.#fh.write(data, offset, data.byteLength - offset);
      offset += bytesWritten;
    }
    this.#flushed += data.byteLength;
    this.#onFlush?.(this.#flushed);
  }
}

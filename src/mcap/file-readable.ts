/** IReadable over a local file, for commands that look at recordings on disk. */
import { open, type FileHandle } from 'node:fs/promises';
import type { IReadable } from '@mcap/core';

export class FileReadable implements IReadable {
  readonly #handle: FileHandle;
  readonly #size: number;
  bytesRead = 0;
  requests = 0;

  private constructor(handle: FileHandle, size: number) {
    this.#handle = handle;
    this.#size = size;
  }

  static async open(path: string): Promise<FileReadable> {
    const handle = await open(path, 'r');
    return new FileReadable(handle, (await handle.stat()).size);
  }

  async size(): Promise<bigint> {
    return BigInt(this.#size);
  }

  async read(offset: bigint, size: bigint): Promise<Uint8Array> {
    const length = Number(size);
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await this.#handle.read(buffer, 0, length, Number(offset));
    this.bytesRead += bytesRead;
    this.requests += 1;
    return buffer.subarray(0, bytesRead);
  }

  async close(): Promise<void> {
    await this.#handle.close();
  }
}

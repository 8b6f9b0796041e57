/**
 * Edits the summary section of an MCAP file in memory, the way a buggy writer or a crash
 * leaves it: chunk index entries that point elsewhere, with the summary CRC kept valid so
 * that only the claims are wrong, not the checksum.
 */
import { crc32 } from 'node:zlib';

const MAGIC_BYTES = 8;
const FOOTER_RECORD_BYTES = 1 + 8 + 8 + 8 + 4;
const OPCODE_CHUNK_INDEX = 0x08;

export interface ChunkIndexFields {
  messageStartTime: bigint;
  offset: bigint;
  length: bigint;
}

/**
 * Rewrites the message start time, chunk start offset and chunk length of ChunkIndex records in the
 * summary (`edit` returns the new values, or undefined to keep an entry), then recomputes
 * the footer's summary CRC.
 */
export function editChunkIndexes(file: Uint8Array, edit: (entry: ChunkIndexFields, i: number) => Partial<ChunkIndexFields> | undefined): Uint8Array {
  const bytes = new Uint8Array(file);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const footerOffset = bytes.length - MAGIC_BYTES - FOOTER_RECORD_BYTES;
  const summaryStart = Number(view.getBigUint64(footerOffset + 9, true));
  if (summaryStart === 0) throw new Error('the file has no summary section');
  let offset = summaryStart;
  let i = 0;
  while (offset < footerOffset) {
    const opcode = bytes[offset]!;
    const length = Number(view.getBigUint64(offset + 1, true));
    const content = offset + 9;
    if (opcode === OPCODE_CHUNK_INDEX) {
      const entry = {
        messageStartTime: view.getBigUint64(content, true),
        offset: view.getBigUint64(content + 16, true),
        length: view.getBigUint64(content + 24, true),
      };
      const changed = edit(entry, i++);
      if (changed?.messageStartTime !== undefined) view.setBigUint64(content, changed.messageStartTime, true);
      if (changed?.offset !== undefined) view.setBigUint64(content + 16, changed.offset, true);
      if (changed?.length !== undefined) view.setBigUint64(content + 24, changed.length, true);
    }
    offset = content + length;
  }
  const crc = crc32(Buffer.concat([bytes.subarray(summaryStart, footerOffset), bytes.subarray(footerOffset, footerOffset + 1 + 8 + 8 + 8)])) >>> 0;
  view.setUint32(footerOffset + 1 + 8 + 8 + 8, crc, true);
  return bytes;
}

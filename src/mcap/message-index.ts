/**
 * MessageIndex records: after each chunk, one per channel, listing (log_time, offset) of every
 * message of that channel in the chunk. Reading them gives the chunk index — which channels a
 * chunk holds, how many messages, their time range — without decompressing the chunk.
 */
import { InvalidRecordingError } from '../errors.ts';
import { forEachRecord, Opcode } from './records.ts';

export interface ChannelInChunk {
  channelId: number;
  count: number;
  first: bigint;
  last: bigint;
}

/** The channels a chunk's message index block names, with counts and log-time ranges. */
export function readMessageIndexes(bytes: Uint8Array, fileOffset: number, maxRecordBytes: number): ChannelInChunk[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const channels: ChannelInChunk[] = [];
  forEachRecord(
    bytes,
    0,
    bytes.length,
    maxRecordBytes,
    (slot) => {
      if (slot.opcode !== Opcode.MessageIndex) return;
      const at = fileOffset + slot.offset;
      if (slot.contentEnd - slot.contentStart < 6)
        throw new InvalidRecordingError('CORRUPT_RECORD', `message index at offset ${at} is shorter than its fixed fields`);
      const channelId = view.getUint16(slot.contentStart, true);
      const length = view.getUint32(slot.contentStart + 2, true);
      const start = slot.contentStart + 6;
      if (length % 16 !== 0 || start + length > slot.contentEnd)
        throw new InvalidRecordingError('CORRUPT_RECORD', `message index at offset ${at} declares ${length} bytes of entries that do not fit its record`);
      if (length === 0) return;
      let first = view.getBigUint64(start, true);
      let last = first;
      for (let p = start; p < start + length; p += 16) {
        const t = view.getBigUint64(p, true);
        if (t < first) first = t;
        if (t > last) last = t;
      }
      channels.push({ channelId, count: length / 16, first, last });
    },
    fileOffset,
  );
  return channels;
}

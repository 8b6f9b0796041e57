/**
 * `chunks`: the chunk-level index — per chunk and channel, how many messages and their first
 * and last log time. The index job builds it from a span's MessageIndex records without
 * decompressing anything; for chunks that have no message index, the extract pass counts them
 * as it walks (this sink). Extraction by topic and time and incremental backfills read it to
 * touch only the chunks that hold what they need.
 */
import * as arrow from 'apache-arrow';
import { int64Data, tableFromData, uint16Data, utf8FromPalette } from '../../columnar/arrow-columns.ts';
import type { RecordOperator } from '../../sdk/operator.ts';
import { spanOf } from '../span-info.ts';

export const CHUNKS_TABLE = 'chunks';

export const CHUNKS_FIELDS = [
  new arrow.Field('recording_id', new arrow.Utf8(), false),
  new arrow.Field('chunk_offset', new arrow.Int64(), false),
  new arrow.Field('channel_id', new arrow.Uint16(), false),
  new arrow.Field('topic', new arrow.Utf8(), false),
  new arrow.Field('message_count', new arrow.Int64(), false),
  new arrow.Field('first_log_time', new arrow.Int64(), false),
  new arrow.Field('last_log_time', new arrow.Int64(), false),
];

interface ChunkChannel {
  chunkOffset: number;
  channelId: number;
  count: number;
  first: bigint;
  last: bigint;
}

/** Accumulates per-(chunk, channel) counts and time ranges; the same rows from either source. */
export class ChunkRows {
  readonly #rows = new Map<string, ChunkChannel>();

  /** `count` messages of a channel in a chunk, logged between `first` and `last`. */
  add(chunkOffset: number, channelId: number, first: bigint, count = 1, last = first): void {
    const key = `${chunkOffset}/${channelId}`;
    const row = this.#rows.get(key);
    if (row === undefined) this.#rows.set(key, { chunkOffset, channelId, count, first, last });
    else {
      row.count += count;
      if (first < row.first) row.first = first;
      if (last > row.last) row.last = last;
    }
  }

  get size(): number {
    return this.#rows.size;
  }

  table(recordingId: string, topicOf: ReadonlyMap<number, string>): arrow.Table {
    const rows = [...this.#rows.values()].sort((a, b) => a.chunkOffset - b.chunkOffset || a.channelId - b.channelId);
    const palette = [...new Set(rows.map((r) => topicOf.get(r.channelId) ?? ''))];
    const pick = Int32Array.from(rows, (r) => palette.indexOf(topicOf.get(r.channelId) ?? ''));
    return tableFromData(
      CHUNKS_FIELDS,
      [
        utf8FromPalette([recordingId], new Int32Array(rows.length), rows.length),
        int64Data(BigInt64Array.from(rows, (r) => BigInt(r.chunkOffset))),
        uint16Data(Uint16Array.from(rows, (r) => r.channelId)),
        utf8FromPalette(palette, pick, rows.length),
        int64Data(BigInt64Array.from(rows, (r) => BigInt(r.count))),
        int64Data(BigInt64Array.from(rows, (r) => BigInt.asIntN(64, r.first))),
        int64Data(BigInt64Array.from(rows, (r) => BigInt.asIntN(64, r.last))),
      ],
      rows.length,
    );
  }
}

export const chunkIndexOperator: RecordOperator = {
  name: 'chunk-index',
  version: '1',
  description: 'Per chunk and channel: message count and first/last log time (from MessageIndex records, or counted while reading).',
  inputs: { kind: 'records' },
  outputs: [{ name: CHUNKS_TABLE, schema: new arrow.Schema(CHUNKS_FIELDS), sortKeys: ['chunk_offset'] }],
  open(info) {
    // Chunks with a message index are indexed by the index job; count only the others.
    const { indexedChunks } = spanOf(info);
    const rows = new ChunkRows();
    return {
      message(message, location) {
        if (!indexedChunks.has(location.chunkOffset)) rows.add(location.chunkOffset, message.channelId, message.logTime);
      },
      finish: (): Record<string, arrow.Table> =>
        rows.size === 0 ? {} : { [CHUNKS_TABLE]: rows.table(info.recording.id, new Map(info.recording.topics.map((t) => [t.channelId, t.topic]))) },
    };
  },
};

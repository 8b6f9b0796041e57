/** The `messages` table: one row per message, no decoding, with where each message lives. */
import * as arrow from 'apache-arrow';

export { MESSAGES_TABLE } from '../domain/table-names.ts';

export const MESSAGES_FIELDS = [
  new arrow.Field('recording_id', new arrow.Utf8(), false),
  new arrow.Field('topic', new arrow.Utf8(), false),
  new arrow.Field('channel_id', new arrow.Uint16(), false),
  new arrow.Field('log_time', new arrow.Int64(), false),
  new arrow.Field('publish_time', new arrow.Int64(), false),
  new arrow.Field('sequence', new arrow.Uint32(), false),
  new arrow.Field('size', new arrow.Uint32(), false),
  /** File offset of the Chunk record holding the message (of the Message record when unchunked). */
  new arrow.Field('chunk_offset', new arrow.Int64(), false),
  /** Offset of the Message record within the decompressed chunk records. */
  new arrow.Field('offset_in_chunk', new arrow.Int64(), false),
];

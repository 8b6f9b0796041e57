/**
 * `messages`: one row per message, nothing decoded — channel, times, sequence, size and where
 * it lives (chunk offset, offset in the chunk), so any message can be fetched again by range.
 */
import * as arrow from 'apache-arrow';
import { MessagesBuilder } from '../../columnar/messages-builder.ts';
import { MESSAGES_FIELDS, MESSAGES_TABLE } from '../../columnar/messages-table.ts';
import type { RecordOperator } from '../../sdk/operator.ts';

const SPEC = { name: MESSAGES_TABLE, schema: new arrow.Schema(MESSAGES_FIELDS), sortKeys: ['log_time'] } as const;

export const messagesOperator: RecordOperator = {
  name: 'messages',
  version: '2',
  description: 'One row per message: channel, topic, log and publish time, sequence, size, and where it lives in the file.',
  inputs: { kind: 'records' },
  outputs: [SPEC],
  open(span) {
    const builder = new MessagesBuilder(new Map(span.recording.topics.map((t) => [t.channelId, t.topic])));
    return {
      message: (message, location) => builder.add(message, location),
      finish: () => ({ [MESSAGES_TABLE]: builder.finish(span.recording.id) }),
    };
  },
};

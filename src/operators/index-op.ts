/**
 * index: one row per message of a span for the `messages` table, without decoding anything.
 */
import { contentAddress } from '../domain/addresses.ts';
import { objectKey } from '../domain/layout.ts';
import type { RecordingPlan } from '../domain/plan.ts';
import { tableToIpc } from '../columnar/arrow-columns.ts';
import { MessagesBuilder } from '../columnar/messages-builder.ts';
import { MESSAGES_TABLE } from '../columnar/messages-table.ts';
import { loadDecompressors } from '../mcap/decompress.ts';
import { readSpan } from '../mcap/span-reader.ts';
import type { IndexResult } from '../queue/jobs.ts';
import { writeObject, type OperatorContext } from './context.ts';
import { fetchSpan, spanReadOptions } from './span-bytes.ts';
import { OPERATOR_VERSIONS } from './versions.ts';

export async function runIndex(ctx: OperatorContext, plan: RecordingPlan, spanIndex: number): Promise<IndexResult> {
  const { span, bytes, read } = await fetchSpan(ctx, plan, spanIndex);
  await loadDecompressors();

  const builder = new MessagesBuilder(new Map(plan.channels.map((c) => [c.id, c.topic])));
  const { damaged, mismatches } = readSpan(bytes, span, spanReadOptions(ctx, plan), {
    channel: (record) => builder.learnChannel(record.id, record.topic),
    message: (message, where) => builder.add(message, where),
  });

  const rows = builder.rowCount;
  let part: IndexResult['part'] = null;
  if (rows > 0) {
    const table = builder.finish(plan.recordingId);
    const address = contentAddress({
      recordingId: plan.recordingId,
      operator: OPERATOR_VERSIONS.index,
      slice: { start: span.start, end: span.end },
      params: { table: MESSAGES_TABLE },
    });
    const stored = await writeObject(ctx, objectKey('parts', address, 'arrow'), tableToIpc(table), { contentType: 'application/vnd.apache.arrow.stream' });
    part = { table: MESSAGES_TABLE, key: stored.key, rows, bytes: stored.bytes };
  }
  return {
    kind: 'index',
    span: spanIndex,
    read,
    messages: rows,
    part,
    channels: builder.channelStats(),
    damaged,
    mismatches,
  };
}

/**
 * index: one row per message of a span for the `messages` table, without decoding anything.
 */
import { contentAddress } from '../domain/addresses.ts';
import { objectKey } from '../domain/layout.ts';
import type { RecordingPlan } from '../domain/plan.ts';
import { int64Data, NumericColumn, tableFromData, tableToIpc, uint16Data, uint32Data, utf8FromPalette } from '../columnar/arrow-columns.ts';
import { MESSAGES_FIELDS, MESSAGES_TABLE } from '../columnar/messages-table.ts';
import { loadDecompressors } from '../mcap/decompress.ts';
import { readSpan } from '../mcap/span-reader.ts';
import type { ChannelStats, IndexResult } from '../queue/jobs.ts';
import { writeObject, type OperatorContext } from './context.ts';
import { fetchSpan } from './span-bytes.ts';
import { OPERATOR_VERSIONS } from './versions.ts';

export async function runIndex(ctx: OperatorContext, plan: RecordingPlan, spanIndex: number): Promise<IndexResult> {
  const { span, bytes, read } = await fetchSpan(ctx, plan, spanIndex);
  await loadDecompressors();

  const topicOf = new Map(plan.channels.map((c) => [c.id, c.topic]));
  const palette: string[] = [];
  const paletteIndex = new Map<number, number>();
  const stats = new Map<number, ChannelStats>();
  const channel = new NumericColumn((n) => new Uint16Array(n));
  const pick = new NumericColumn((n) => new Int32Array(n));
  const logTime = new NumericColumn((n) => new BigInt64Array(n));
  const publishTime = new NumericColumn((n) => new BigInt64Array(n));
  const sequence = new NumericColumn((n) => new Uint32Array(n));
  const size = new NumericColumn((n) => new Uint32Array(n));
  const chunkOffset = new NumericColumn((n) => new BigInt64Array(n));
  const offsetInChunk = new NumericColumn((n) => new BigInt64Array(n));

  const damaged = readSpan(bytes, span, { maxRecordBytes: ctx.settings.maxRecordBytes, validateCrc: true }, {
    channel(record) {
      if (!topicOf.has(record.id)) topicOf.set(record.id, record.topic);
    },
    message(message, where) {
      let index = paletteIndex.get(message.channelId);
      if (index === undefined) {
        index = palette.push(topicOf.get(message.channelId) ?? '') - 1;
        paletteIndex.set(message.channelId, index);
      }
      channel.push(message.channelId);
      pick.push(index);
      logTime.push(BigInt.asIntN(64, message.logTime));
      publishTime.push(BigInt.asIntN(64, message.publishTime));
      sequence.push(message.sequence);
      size.push(message.data.length);
      chunkOffset.push(BigInt(where.chunkOffset));
      offsetInChunk.push(BigInt(where.offsetInChunk));

      const time = message.logTime.toString();
      const s = stats.get(message.channelId);
      if (s === undefined) {
        stats.set(message.channelId, { channelId: message.channelId, topic: palette[index]!, count: 1, firstLogTime: time, lastLogTime: time });
      } else {
        s.count += 1;
        if (message.logTime < BigInt(s.firstLogTime)) s.firstLogTime = time;
        if (message.logTime > BigInt(s.lastLogTime)) s.lastLogTime = time;
      }
    },
  });

  const rows = channel.length;
  let part: IndexResult['part'] = null;
  if (rows > 0) {
    const table = tableFromData(
      MESSAGES_FIELDS,
      [
        utf8FromPalette([plan.recordingId], new Int32Array(rows), rows),
        utf8FromPalette(palette, pick.values(), rows),
        uint16Data(channel.values()),
        int64Data(logTime.values()),
        int64Data(publishTime.values()),
        uint32Data(sequence.values()),
        uint32Data(size.values()),
        int64Data(chunkOffset.values()),
        int64Data(offsetInChunk.values()),
      ],
      rows,
    );
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
    channels: [...stats.values()].sort((a, b) => a.channelId - b.channelId),
    damaged,
  };
}

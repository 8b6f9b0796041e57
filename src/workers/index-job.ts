/**
 * index: the chunk-level index of a span, from its chunks' MessageIndex records alone — one
 * small ranged GET per chunk, nothing decompressed. It becomes the span's rows of the `chunks`
 * table, and its per-channel counts are checked at commit against what extract read.
 */
import type { RecordingPlan } from '../domain/plan.ts';
import type { Damage, IndexResult } from '../domain/work.ts';
import { describeError, InvalidRecordingError } from '../errors.ts';
import { readMessageIndexes } from '../mcap/message-index.ts';
import { ChunkRows, CHUNKS_TABLE, chunkIndexOperator } from '../operators/builtin/chunk-index.ts';
import type { WorkContext } from '../operators/context.ts';
import type { OperatorRegistry } from '../operators/registry.ts';
import { writePart } from '../operators/table-files.ts';
import { countBytesNeeded } from '../observability/metrics.ts';
import { setSpanAttributes } from '../observability/tracing.ts';
import { spanAddress, spanOf } from './extract.ts';

export async function runIndex(ctx: WorkContext, registry: OperatorRegistry, plan: RecordingPlan, spanIndex: number): Promise<IndexResult> {
  const span = spanOf(plan, spanIndex);
  const [operator] = registry.resolve([`${chunkIndexOperator.name}@${chunkIndexOperator.version}`]);
  const rows = new ChunkRows();
  const channels = new Map<number, { count: number; first: bigint; last: bigint }>();
  const damaged: Damage[] = [];
  let fetched = 0;
  for (const segment of span.segments) {
    const index = segment.messageIndex;
    if (index === undefined) continue;
    const bytes = await ctx.store.getRange(plan.source.bucket, plan.source.key, index.offset, index.offset + index.length, 'span');
    fetched += bytes.length;
    try {
      for (const c of readMessageIndexes(bytes, index.offset, ctx.settings.maxRecordBytes)) {
        rows.add(segment.offset, c.channelId, c.first, c.count, c.last);
        const known = channels.get(c.channelId);
        if (known === undefined) channels.set(c.channelId, { count: c.count, first: c.first, last: c.last });
        else {
          known.count += c.count;
          if (c.first < known.first) known.first = c.first;
          if (c.last > known.last) known.last = c.last;
        }
      }
    } catch (error) {
      if (!(error instanceof InvalidRecordingError)) throw error;
      damaged.push({ offset: index.offset, reason: `the message index of the chunk at offset ${segment.offset} is unreadable: ${describeError(error)}` });
    }
  }
  countBytesNeeded('span', fetched);
  setSpanAttributes({
    'mcapflow.span.index': span.index,
    'mcapflow.span.start': span.start,
    'mcapflow.span.end': span.end,
    'mcapflow.bytes.fetched': fetched,
    'mcapflow.bytes.needed': fetched,
  });
  const part =
    rows.size === 0
      ? null
      : await writePart(
          ctx,
          spanAddress(plan, span, operator as typeof chunkIndexOperator, { table: CHUNKS_TABLE }, {}),
          CHUNKS_TABLE,
          rows.table(plan.recordingId, new Map(plan.topics.map((t) => [t.channelId, t.topic]))),
        );
  return {
    kind: 'index',
    span: spanIndex,
    read: { fetched, needed: fetched },
    part,
    channels: [...channels]
      .sort(([a], [b]) => a - b)
      .map(([channelId, c]) => ({ channelId, count: c.count, firstLogTime: c.first.toString(), lastLogTime: c.last.toString() })),
    damaged,
  };
}

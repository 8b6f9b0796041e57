/**
 * extract: the one decoding pass over a chunk span. Streams the span's bytes with one ranged
 * GET, runs every span operator of the job from the single walk (src/operators/span-pass.ts),
 * and writes each table's rows for this span as a part, blobs (in packs mode) first.
 */
import { contentAddress } from '../domain/addresses.ts';
import type { RecordingPlan } from '../domain/plan.ts';
import type { Span } from '../domain/spans.ts';
import type { ExtractResult, PartRef, StoredObject } from '../domain/work.ts';
import { McapflowError, NotFoundError } from '../errors.ts';
import { loadDecompressors } from '../mcap/decompress.ts';
import { s3Uri } from '../domain/layout.ts';
import { InPlaceBlobs, PackedBlobs, type SpanBlobSink } from '../operators/blobs.ts';
import { writeObject, type WorkContext } from '../operators/context.ts';
import { isSpanOperator, operatorId, paramsDigest, type OperatorRegistry, type SpanOperator } from '../operators/registry.ts';
import { runSpanPass } from '../operators/span-pass.ts';
import { writePart } from '../operators/table-files.ts';
import { countBytesNeeded } from '../observability/metrics.ts';
import { setSpanAttributes } from '../observability/tracing.ts';

export function spanOf(plan: RecordingPlan, index: number): Span {
  const span = plan.spans[index];
  if (span === undefined) throw new NotFoundError(`recording ${plan.recordingId} has no span ${index} (it has ${plan.spans.length})`);
  return span;
}

/** The content address of everything a span operator writes for one span. */
export function spanAddress(plan: RecordingPlan, span: Span, operator: SpanOperator, slice: Record<string, unknown>, params: Record<string, unknown>): string {
  return contentAddress({
    recordingId: plan.recordingId,
    operator: operatorId(operator),
    slice: { start: span.start, end: span.end, ...slice },
    params: { operatorParams: paramsDigest(operator), ...params },
  });
}

export async function runExtract(
  ctx: WorkContext,
  registry: OperatorRegistry,
  plan: RecordingPlan,
  spanIndex: number,
  operatorIds: readonly string[],
): Promise<ExtractResult> {
  const span = spanOf(plan, spanIndex);
  const operators = registry.resolve(operatorIds).filter(isSpanOperator);
  if (operators.length === 0) throw new McapflowError('OPERATOR_FAILED', `extract job of span ${spanIndex} names no span operator`);
  const { blobThresholdBytes, blobStorage, derivedBucket } = ctx.settings;
  // Blobs belong to the schema tables whose rows reference them: packs are addressed by that operator.
  const decoder = operators.find((o) => o.name === 'schema-tables') ?? operators[0]!;
  const blobParams = { blobThresholdBytes, blobStorage };
  const packs = new PackedBlobs(derivedBucket, (pack) => spanAddress(plan, span, decoder, { blobPack: pack }, blobParams));
  const blobs: SpanBlobSink = blobStorage === 'packs' ? packs : new InPlaceBlobs(s3Uri(plan.source.bucket, plan.source.key), packs);
  await loadDecompressors();

  const stream = await ctx.store.stream(plan.source.bucket, plan.source.key, 'span', { start: span.start, end: span.end });
  const out = await runSpanPass(stream, {
    plan,
    span,
    operators,
    registry,
    read: { maxRecordBytes: ctx.settings.maxRecordBytes, maxChunkBytes: ctx.settings.maxChunkBytes, validateCrc: true, plannedChannels: plannedChannels(plan) },
    blobThresholdBytes,
    blobs,
    sql: ctx.settings.sql,
  });

  // Blobs first: a part must never reference a blob that is not stored yet.
  const storedBlobs: StoredObject[] = [];
  for (const pack of packs.packs)
    storedBlobs.push(await writeObject(ctx, pack.key, Buffer.concat(pack.pieces, pack.bytes), { contentType: 'application/octet-stream' }));
  const parts: PartRef[] = [];
  for (const { operator, table, data } of out.tables) {
    if (data.numRows === 0) continue;
    parts.push(await writePart(ctx, spanAddress(plan, span, operator, { table }, blobParams), table, data));
  }
  const needed = span.segments.reduce((n, s) => n + s.length, 0);
  countBytesNeeded('span', needed);
  setSpanAttributes({
    'mcapflow.span.index': span.index,
    'mcapflow.span.start': span.start,
    'mcapflow.span.end': span.end,
    'mcapflow.bytes.fetched': span.end - span.start,
    'mcapflow.bytes.needed': needed,
  });
  return {
    kind: 'extract',
    span: spanIndex,
    read: { fetched: span.end - span.start, needed },
    operators: operators.map(operatorId),
    parts: parts.sort((a, b) => a.table.localeCompare(b.table)),
    blobs: storedBlobs,
    channels: out.channels,
    damaged: out.damaged,
    mismatches: out.mismatches,
    decodeErrors: out.decodeErrors,
  };
}

/** The channels the plan knows, which a span's bytes are held to. */
export function plannedChannels(plan: RecordingPlan): Map<number, { topic: string; schemaId: number }> {
  return new Map(plan.channels.map((c) => [c.id, { topic: c.topic, schemaId: c.schemaId }]));
}

/**
 * The dispatcher's ingest job: identify the object, skip it when it is already committed or
 * quarantined, validate its head, read only its footer and summary to plan, or hand it to
 * a scan when it has no usable summary. Input that can never succeed is quarantined here,
 * without retries.
 */
import { UnrecoverableError, type Job } from 'bullmq';
import { recordingIdFor } from '../domain/identity.ts';
import { s3Uri } from '../domain/layout.ts';
import type { RecordingSource } from '../domain/plan.ts';
import { InvalidRecordingError, isMcapflowError } from '../errors.ts';
import { RangedReadable } from '../mcap/ranged-readable.ts';
import { HEAD_PROBE_BYTES, validateHead } from '../mcap/recording-index.ts';
import { indexFromSummary, planningLimits } from '../mcap/summary-repair.ts';
import { readManifest, readQuarantine, writeQuarantine } from '../operators/commit-op.ts';
import type { IngestJobData, ReadAccounting, ScanJobData } from '../queue/jobs.ts';
import type { Services } from '../runtime/services.ts';
import { enqueueScan, startRecordingFlow, startUpdateFlow } from './start-flow.ts';
import { chunksToRead, staleOperators } from '../operators/currency.ts';
import { operatorId } from '../operators/registry.ts';
import type { Manifest } from '../domain/manifest.ts';
import type { Operator } from '../sdk/operator.ts';
import { annotateJobRecording } from '../observability/jobs.ts';
import { countBytesNeeded, countRecording } from '../observability/metrics.ts';
import { setSpanAttributes, traceCarrier } from '../observability/tracing.ts';

/**
 * The footer and a typical summary arrive in one tail read of this size: 1/2000 of the file,
 * between 64 KiB and 1 MiB (a summary is about 100 bytes per chunk plus the schemas).
 */
const HEAD_PREFETCH_BYTES = 4096;

export function tailPrefetchBytes(size: number): number {
  return Math.min(size, Math.max(64 * 1024, Math.min(1024 * 1024, Math.floor(size / 2000))));
}

export type IngestOutcome =
  | { outcome: 'missing' }
  | { outcome: 'already-committed' | 'already-quarantined' | 'planned' | 'scan' | 'quarantined'; recordingId: string; reason?: string; read?: ReadAccounting }
  | { outcome: 'updating'; recordingId: string; operators: string[] };

export async function quarantine(services: Services, recordingId: string, source: RecordingSource, error: InvalidRecordingError): Promise<void> {
  await writeQuarantine(services.store, services.config.derivedBucket, { recording_id: recordingId, source, code: error.code, reason: error.message });
  await services.status.set(recordingId, 'quarantined', { source: s3Uri(source.bucket, source.key), reason: error.message });
  countRecording('quarantined');
}

/** Runs `work`, turning input errors into a quarantine and anything else into a retry. */
export async function orQuarantine<T>(
  services: Services,
  recordingId: string,
  source: RecordingSource,
  work: () => Promise<T>,
): Promise<T | { outcome: 'quarantined'; recordingId: string; reason: string }> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof InvalidRecordingError) {
      await quarantine(services, recordingId, source, error);
      return { outcome: 'quarantined', recordingId, reason: error.message };
    }
    if (isMcapflowError(error) && !error.retryable) throw new UnrecoverableError(error.message);
    throw error;
  }
}

/** A backfill of the stale operators of a committed recording: only their work, over only their chunks. */
async function updateCommitted(services: Services, manifest: Manifest, stale: Operator[], eventTime: string): Promise<IngestOutcome> {
  const { work, status } = services;
  const plan = await work.loadPlan(manifest.plan_key);
  const chunks = await chunksToRead(work, plan, manifest, stale);
  await status.set(manifest.recording_id, 'planning', { source: manifest.source.uri, reason: null });
  await startUpdateFlow(services, { manifest, plan }, stale, chunks, eventTime);
  return { outcome: 'updating', recordingId: manifest.recording_id, operators: stale.map(operatorId) };
}

export async function processIngest(services: Services, job: Job<IngestJobData>): Promise<IngestOutcome> {
  const { store, config, status } = services;
  const { bucket, key, eventTime } = job.data;
  const info = await store.head(bucket, key);
  if (info === undefined) return { outcome: 'missing' };

  const source: RecordingSource = { bucket, key, size: info.size, etag: info.etag, sha256: info.sha256 };
  const recordingId = recordingIdFor(source);
  annotateJobRecording(recordingId);
  if (job.data.recordingId !== recordingId) await job.updateData({ ...job.data, recordingId });
  const manifest = job.data.reprocess ? undefined : await readManifest(store, config.derivedBucket, recordingId);
  if (manifest !== undefined) {
    const stale = job.data.trigger === 'backfill' ? staleOperators(services.registry, manifest) : [];
    // Nothing older than the code, or not a backfill: the recording stays as committed.
    if (stale.length === 0) {
      await status.set(recordingId, 'committed', { source: s3Uri(bucket, key), reason: null });
      return { outcome: 'already-committed', recordingId };
    }
    if (stale.length < services.registry.all().length) return updateCommitted(services, manifest, stale, eventTime);
    // Every operator is stale (a manifest from before operators): process it afresh.
  }
  const quarantined = await readQuarantine(store, config.derivedBucket, recordingId);
  if (quarantined) {
    await status.set(recordingId, 'quarantined', { source: s3Uri(bucket, key), reason: quarantined.reason });
    return { outcome: 'already-quarantined', recordingId, reason: quarantined.reason };
  }
  await status.set(recordingId, 'planning', { source: s3Uri(bucket, key), reason: null });

  return orQuarantine(services, recordingId, source, async (): Promise<IngestOutcome> => {
    if (info.size === 0) validateHead(new Uint8Array(0), 0);
    const readable = new RangedReadable({
      store,
      bucket,
      key,
      size: info.size,
      purpose: 'plan',
      minFetchBytes: config.readBlockBytes,
      maxReadBytes: config.maxRecordBytes,
    });
    // Two GETs cover a typical file: the head (magic and header record) and the tail.
    await readable.prefetchHead(HEAD_PREFETCH_BYTES);
    validateHead(await readable.read(0n, BigInt(Math.min(info.size, HEAD_PROBE_BYTES))), info.size);
    await readable.prefetchTail(tailPrefetchBytes(info.size));
    const summary = await indexFromSummary(readable, planningLimits(config));
    const read: ReadAccounting = { fetched: readable.bytesFetched, needed: readable.bytesRequested };
    countBytesNeeded('plan', read.needed);
    setSpanAttributes({
      'mcapflow.source.size': info.size,
      'mcapflow.bytes.fetched': read.fetched,
      'mcapflow.bytes.needed': read.needed,
      'mcapflow.read_requests': readable.requests,
    });
    await job.log(`planning read ${read.fetched} bytes in ${readable.requests} requests for a ${info.size}-byte object`);
    if ('read' in summary && summary.read.length > 0) await job.log(`the summary leaves records out; read from the data section: ${summary.read.join('; ')}`);
    if ('unusable' in summary) {
      const data: ScanJobData = { recordingId, source, eventTime, reprocess: job.data.reprocess, because: summary.unusable, trace: traceCarrier() };
      await enqueueScan(services, data);
      return { outcome: 'scan', recordingId, reason: summary.unusable, read };
    }
    await startRecordingFlow(services, recordingId, source, summary.index, eventTime, { replace: job.data.reprocess === true });
    return { outcome: 'planned', recordingId, read };
  });
}

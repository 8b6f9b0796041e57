/**
 * The scan job: for files without a usable summary (unindexed, unchunked, truncated),
 * stream the file once to build the index, then start the same flow as a planned file.
 */
import type { Job } from 'bullmq';
import { scanRecording } from '../mcap/scan.ts';
import type { ReadAccounting, ScanJobData } from '../queue/jobs.ts';
import type { Services } from '../runtime/services.ts';
import { orQuarantine } from './ingest.ts';
import { startRecordingFlow } from './start-flow.ts';
import { countBytesNeeded } from '../observability/metrics.ts';
import { setSpanAttributes } from '../observability/tracing.ts';

export type ScanOutcome =
  { outcome: 'planned'; recordingId: string; damage: string[]; read: ReadAccounting } | { outcome: 'quarantined'; recordingId: string; reason: string };

export async function processScan(services: Services, job: Job<ScanJobData>): Promise<ScanOutcome> {
  const { recordingId, source, eventTime, reprocess } = job.data;
  return orQuarantine(services, recordingId, source, async () => {
    const stream = await services.store.stream(source.bucket, source.key, 'scan');
    const scanned = await scanRecording(stream, {
      maxRecordBytes: services.config.maxRecordBytes,
      maxChunkBytes: services.config.maxChunkBytes,
      validateCrc: true,
    });
    // A scan has to parse every byte: what it reads is what it needs.
    countBytesNeeded('scan', source.size);
    setSpanAttributes({ 'mcapflow.source.size': source.size, 'mcapflow.bytes.fetched': source.size, 'mcapflow.damaged': scanned.damage.length });
    const index = job.data.because === undefined ? scanned : { ...scanned, plannerNote: job.data.because };
    await startRecordingFlow(services, recordingId, source, index, eventTime, { replace: reprocess === true });
    // A scan needs every byte it reads.
    return { outcome: 'planned' as const, recordingId, damage: index.damage, read: { fetched: source.size, needed: source.size } };
  });
}

/** The `process --json` summary of one recording (a stable contract; see the brief). */
import { readManifest, readQuarantine } from '../operators/commit-op.ts';
import type { Services } from '../runtime/services.ts';
import type { RecordingStatus } from '../status/recording-status.ts';

export interface TopicSummary {
  topic: string;
  schema: string;
  message_encoding: string;
  messages: number;
  table: string | null;
  decode_errors: number;
  status: 'ok' | 'undecodable';
  reason: string | null;
}

export interface RecordingSummary {
  source: string;
  recording_id: string;
  status: 'committed' | 'quarantined' | 'failed';
  recovered: boolean;
  reason: string | null;
  messages: number;
  topics: TopicSummary[];
}

export async function summarize(services: Services, source: string, recordingId: string, status: RecordingStatus | undefined): Promise<RecordingSummary> {
  const { store, config } = services;
  const manifest = await readManifest(store, config.derivedBucket, recordingId);
  if (manifest) {
    return {
      source,
      recording_id: recordingId,
      status: 'committed',
      recovered: manifest.recovered,
      reason: manifest.reason,
      messages: manifest.message_count,
      topics: manifest.topics.map((t) => ({
        topic: t.topic,
        schema: t.schema,
        message_encoding: t.message_encoding,
        messages: t.messages,
        table: t.table,
        decode_errors: t.decode_errors,
        status: t.status,
        reason: t.reason,
      })),
    };
  }
  const quarantine = await readQuarantine(store, config.derivedBucket, recordingId);
  if (quarantine) return { source, recording_id: recordingId, status: 'quarantined', recovered: false, reason: quarantine.reason, messages: 0, topics: [] };
  const reason =
    status === undefined
      ? 'the recording never reached the pipeline'
      : status.state === 'failed'
        ? status.reason
        : `did not finish in time (last state: ${status.state})`;
  return { source, recording_id: recordingId, status: 'failed', recovered: false, reason, messages: 0, topics: [] };
}

/**
 * The job a piece of code is working for, carried through async calls (AsyncLocalStorage),
 * so every log line written while a job runs names its recording, job id and kind without
 * each call site passing them along.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface JobLogFields {
  recording_id?: string;
  job_id: string;
  kind: string;
  queue: string;
  attempt: number;
}

const storage = new AsyncLocalStorage<JobLogFields>();

export function runInJobContext<T>(fields: JobLogFields, work: () => T): T {
  return storage.run(fields, work);
}

/** Fields of the job running in this async context (the logger's mixin), or none. */
export function jobLogFields(): Partial<JobLogFields> {
  return storage.getStore() ?? {};
}

/** Once a job learns its recording id (ingest does, after its HEAD), later lines carry it. */
export function setJobRecordingId(recordingId: string): void {
  const fields = storage.getStore();
  if (fields !== undefined) fields.recording_id = recordingId;
}

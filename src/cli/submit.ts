/**
 * Local files into the pipeline: upload into the raw bucket (the upload's event starts the
 * work), or re-announce an object that is already there, then wait for each recording to
 * reach a final state.
 */
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { enqueueIngest } from '../dispatcher/event-handler.ts';
import { recordingIdFor } from '../domain/identity.ts';
import { s3Uri } from '../domain/layout.ts';
import { InvalidInputError } from '../errors.ts';
import type { Services } from '../runtime/services.ts';
import { sha256File, uploadFile } from '../storage/file-upload.ts';
import { FINAL_STATES, type RecordingStatus } from '../status/recording-status.ts';

export interface Submitted {
  source: string;
  bucket: string;
  key: string;
  recordingId: string;
}

/** Fails before anything is uploaded when a path is not a readable file. */
export async function checkFiles(paths: string[]): Promise<void> {
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (info === undefined) throw new InvalidInputError('BAD_ARGUMENT', `${path}: no such file`);
    if (!info.isFile()) throw new InvalidInputError('BAD_ARGUMENT', `${path}: not a regular file`);
  }
}

/** Content-based key: the same file always lands at the same key, so re-processing is a no-op. */
export function localUploadKey(path: string, sha256: string): string {
  const name = basename(path).replace(/[^A-Za-z0-9._-]/g, '_') || 'recording.mcap';
  return `local/${sha256.slice(0, 16)}/${name}`;
}

export async function submitFile(services: Services, path: string): Promise<Submitted> {
  const { store, config, queues, status } = services;
  const sha256 = await sha256File(path);
  const { size } = await stat(path);
  const bucket = config.rawBucket;
  const key = localUploadKey(path, sha256);
  // The object carries its sha256, so its recording id is known before it is uploaded.
  const recordingId = recordingIdFor({ bucket, key, size, sha256 });
  await status.set(recordingId, 'queued', { source: s3Uri(bucket, key), reason: null });
  const info = await store.head(bucket, key);
  if (info?.sha256 === sha256 && info.size === size) {
    // Already uploaded: no new upload means no new event, so announce it ourselves.
    await enqueueIngest(queues, { bucket, key, size, etag: info.etag, eventTime: new Date().toISOString() }, 'cli', { rerun: true });
  } else {
    await uploadFile(store, bucket, key, path, { journalDir: join(config.home, 'uploads'), sha256, contentType: 'application/x-mcap' });
  }
  return { source: path, bucket, key, recordingId };
}

export async function waitForFinal(
  services: Services,
  recordingIds: string[],
  options: { timeoutMs: number; onTick?: (statuses: Map<string, RecordingStatus | undefined>) => void },
): Promise<Map<string, RecordingStatus | undefined>> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const statuses = new Map<string, RecordingStatus | undefined>();
    for (const id of recordingIds) statuses.set(id, await services.status.get(id));
    options.onTick?.(statuses);
    if ([...statuses.values()].every((s) => s !== undefined && FINAL_STATES.includes(s.state))) return statuses;
    if (Date.now() > deadline) return statuses;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * commit: writes the manifest, the single atomic commit of a recording, once. An identical
 * manifest already there is a no-op; a different one is a conflict, never overwritten.
 */
import { sha256Hex } from '../domain/hash.ts';
import { MANIFEST_PREFIX, manifestKey, quarantineKey } from '../domain/layout.ts';
import { serializeManifest, type Manifest } from '../domain/manifest.ts';
import { parseManifest } from '../domain/manifest-schema.ts';
import { canonicalJson } from '../domain/canonical-json.ts';
import type { RecordingSource } from '../domain/plan.ts';
import { ManifestConflictError } from '../errors.ts';
import type { ObjectStore } from '../storage/object-store.ts';

/**
 * `replace` is an explicit reprocess (backfill with force, or new operator versions): a
 * different existing manifest is then kept under manifests/superseded/<id>/<sha256>.json and
 * replaced. Without it, a different manifest is a conflict.
 */
export async function writeManifest(
  store: ObjectStore,
  bucket: string,
  manifest: Manifest,
  options: { replace?: boolean; current?: string } = {},
): Promise<'written' | 'unchanged' | 'replaced'> {
  const key = manifestKey(manifest.recording_id);
  const body = serializeManifest(manifest);
  const existing = async (): Promise<string | undefined> => {
    const bytes = await store.get(bucket, key, 'derived');
    return bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
  };
  const same = async (): Promise<boolean | undefined> => {
    const text = await existing();
    return text === undefined ? undefined : text === body;
  };
  // The caller may have just read the manifest there (a backfill's commit checks its base): not read again.
  const current = options.current ?? (await existing());
  if (current === body) return 'unchanged';
  if (current !== undefined) {
    if (!options.replace) throw new ManifestConflictError(manifest.recording_id);
    await store.put(bucket, `${MANIFEST_PREFIX}superseded/${manifest.recording_id}/${sha256Hex(current)}.json`, current, { contentType: 'application/json' });
    await store.put(bucket, key, body, { contentType: 'application/json' });
    return 'replaced';
  }
  const put = await store.put(bucket, key, body, { contentType: 'application/json', ifNoneMatch: true });
  if (put.created) return 'written';
  // Another writer won the race between our check and our write.
  if ((await same()) === true) return 'unchanged';
  throw new ManifestConflictError(manifest.recording_id);
}

export interface QuarantineRecord {
  format: 'mcapflow.quarantine/1';
  recording_id: string;
  source: RecordingSource;
  code: string;
  reason: string;
}

/** Records why a recording can never be processed; the same verdict rewrites the same bytes. */
export async function writeQuarantine(store: ObjectStore, bucket: string, record: Omit<QuarantineRecord, 'format'>): Promise<void> {
  const body = `${canonicalJson({ format: 'mcapflow.quarantine/1', ...record }, 2)}\n`;
  await store.put(bucket, quarantineKey(record.recording_id), body, { contentType: 'application/json' });
}

/** The committed manifest of a recording, checked against its schema (any version this code reads). */
export async function readManifest(store: ObjectStore, bucket: string, recordingId: string): Promise<Manifest | undefined> {
  return (await readManifestText(store, bucket, recordingId))?.manifest;
}

/**
 * A manifest of the recording that a replacing write kept under manifests/superseded/, the
 * first that `matches`; undefined when none does. Copies that cannot be parsed are passed over.
 */
export async function findSupersededManifest(
  store: ObjectStore,
  bucket: string,
  recordingId: string,
  matches: (manifest: Manifest) => boolean,
): Promise<Manifest | undefined> {
  for await (const object of store.list(bucket, `${MANIFEST_PREFIX}superseded/${recordingId}/`)) {
    const bytes = await store.get(bucket, object.key, 'derived');
    if (bytes === undefined) continue;
    let manifest: Manifest;
    try {
      manifest = parseManifest(Buffer.from(bytes).toString('utf8'), recordingId);
    } catch {
      continue;
    }
    if (matches(manifest)) return manifest;
  }
  return undefined;
}

/** {@link readManifest}, with the stored text itself. */
export async function readManifestText(store: ObjectStore, bucket: string, recordingId: string): Promise<{ manifest: Manifest; text: string } | undefined> {
  const bytes = await store.get(bucket, manifestKey(recordingId), 'derived');
  if (bytes === undefined) return undefined;
  const text = Buffer.from(bytes).toString('utf8');
  return { manifest: parseManifest(text, recordingId), text };
}

export async function readQuarantine(store: ObjectStore, bucket: string, recordingId: string): Promise<QuarantineRecord | undefined> {
  const bytes = await store.get(bucket, quarantineKey(recordingId), 'derived');
  return bytes === undefined ? undefined : (JSON.parse(Buffer.from(bytes).toString('utf8')) as QuarantineRecord);
}

/**
 * The stored format of a catalog snapshot: every committed recording's parsed manifest as the
 * catalog held it at one position of the commit feed, so a query service that starts cold reads
 * one object and the commits noted since instead of GETting every manifest. A hint, never the
 * truth: the manifests stay the truth, and a snapshot that cannot be read, or whose position
 * the feed no longer knows, is ignored (the manifests are listed).
 */
import { z } from 'zod';
import { McapflowError } from '../errors.ts';
import { recordingIdFromManifestKey } from './layout.ts';
import type { Manifest } from './manifest.ts';
import { InvalidManifestError, manifestFromJson } from './manifest-schema.ts';

export const CATALOG_SNAPSHOT_FORMAT = 'mcapflow.catalog-snapshot/1';
/** One object per derived bucket, replaced whole: an S3 PUT is atomic, so readers see one snapshot or the other. */
export const CATALOG_SNAPSHOT_KEY = 'catalog/snapshot.json.gz';

export interface SnapshotRecording {
  /** `<manifest key>@<ETag>`: the manifest version the entry was parsed from. */
  version: string;
  committed_at: string | null;
  manifest: Manifest;
}

export interface CatalogSnapshot {
  format: typeof CATALOG_SNAPSHOT_FORMAT;
  /** The commit feed's position read before the listing these recordings came from. */
  position: string;
  written_at: string;
  recordings: SnapshotRecording[];
}

export class InvalidCatalogSnapshotError extends McapflowError {
  constructor(problem: string) {
    super('MANIFEST_INVALID', `the catalog snapshot ${problem}`);
  }
}

const envelope = z.object({
  format: z.literal(CATALOG_SNAPSHOT_FORMAT),
  position: z.string().min(1),
  written_at: z.string().datetime(),
  recordings: z.array(
    z.object({
      version: z.string().regex(/^manifests\/[0-9a-f]{32}\.json@.+$/, 'must be <manifest key>@<ETag>'),
      committed_at: z.string().datetime().nullable(),
      manifest: z.unknown(),
    }),
  ),
});

/** The snapshot in `text`, every manifest in it checked as a stored manifest is; an InvalidCatalogSnapshotError names what does not fit. */
export function parseCatalogSnapshot(text: string): CatalogSnapshot {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InvalidCatalogSnapshotError(`is not JSON: ${(error as Error).message}`);
  }
  const stated = (json as { format?: unknown } | null)?.format;
  if (stated !== CATALOG_SNAPSHOT_FORMAT)
    throw new InvalidCatalogSnapshotError(`has format ${JSON.stringify(stated)}; this version reads ${CATALOG_SNAPSHOT_FORMAT}`);
  const parsed = envelope.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidCatalogSnapshotError(`field ${issue.path.join('.') || '(root)'} ${issue.message}`);
  }
  const recordings = parsed.data.recordings.map((entry, i) => {
    const key = entry.version.slice(0, entry.version.indexOf('@'));
    try {
      return { ...entry, manifest: manifestFromJson(entry.manifest, recordingIdFromManifestKey(key)!) };
    } catch (error) {
      if (error instanceof InvalidManifestError) throw new InvalidCatalogSnapshotError(`entry ${i} (${key}): ${error.message}`);
      throw error;
    }
  });
  return { ...parsed.data, format: CATALOG_SNAPSHOT_FORMAT, recordings };
}

export function serializeCatalogSnapshot(snapshot: CatalogSnapshot): string {
  return JSON.stringify(snapshot);
}

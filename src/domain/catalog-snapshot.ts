/**
 * The stored format of a catalog snapshot: every committed recording's parsed manifest as the
 * catalog held it at one position of the commit feed, so a query service that starts cold reads
 * one object and the commits noted since instead of GETting every manifest. A hint, never the
 * truth: the manifests stay the truth, and a snapshot that cannot be read, whose position the
 * feed no longer knows, or that was written by a release reading manifests differently, is
 * ignored (the manifests are listed).
 *
 * Newline-delimited JSON: a header line, then one line per recording, so that neither writing
 * nor reading holds the whole catalog as one string (V8 caps a string near 512 MiB: about
 * 50,000 manifests).
 */
import { z } from 'zod';
import { McapflowError } from '../errors.ts';
import { recordingIdFromManifestKey } from './layout.ts';
import { MANIFEST_FORMAT, type Manifest } from './manifest.ts';
import { InvalidManifestError, manifestFromJson } from './manifest-schema.ts';

export const CATALOG_SNAPSHOT_FORMAT = 'mcapflow.catalog-snapshot/1';
/** One object per derived bucket, replaced whole: an S3 PUT is atomic, so readers see one snapshot or the other. */
export const CATALOG_SNAPSHOT_KEY = 'catalog/snapshot.ndjson.gz';

export interface SnapshotRecording {
  /** `<manifest key>@<ETag>`: the manifest version the entry was parsed from. */
  version: string;
  committed_at: string | null;
  manifest: Manifest;
}

export interface CatalogSnapshot {
  format: typeof CATALOG_SNAPSHOT_FORMAT;
  /** The manifests were parsed into this format: a release that reads them otherwise must not take them as parsed. */
  manifest_format: typeof MANIFEST_FORMAT;
  /** The commit feed's position read before the listing these recordings came from. */
  position: string;
  /** When the manifests were last all listed: what the snapshot says about manifests written or removed by hand is this old. */
  listed_at: string;
  written_at: string;
  recordings: SnapshotRecording[];
}

export class InvalidCatalogSnapshotError extends McapflowError {
  constructor(problem: string) {
    super('SNAPSHOT_INVALID', `the catalog snapshot ${problem}`);
  }
}

const header = z.object({
  format: z.literal(CATALOG_SNAPSHOT_FORMAT),
  manifest_format: z.string(),
  position: z.string().min(1),
  listed_at: z.string().datetime(),
  written_at: z.string().datetime(),
  recordings: z.number().int().nonnegative(),
});

const entry = z.object({
  version: z.string().regex(/^manifests\/[0-9a-f]{32}\.json@.+$/, 'must be <manifest key>@<ETag>'),
  committed_at: z.string().datetime().nullable(),
  manifest: z.unknown(),
});

function parseLine<T>(schema: z.ZodType<T>, line: string, where: string): T {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (error) {
    throw new InvalidCatalogSnapshotError(`${where} is not JSON: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidCatalogSnapshotError(`${where}: field ${issue.path.join('.') || '(root)'} ${issue.message}`);
  }
  return parsed.data;
}

/** The snapshot in `lines` (its header, then a line per recording), every manifest checked as a stored manifest is; an InvalidCatalogSnapshotError names what does not fit. */
export function parseCatalogSnapshot(lines: Iterable<string>): CatalogSnapshot {
  const iterator = lines[Symbol.iterator]();
  const first = iterator.next();
  if (first.done === true) throw new InvalidCatalogSnapshotError('is empty');
  let stated: unknown;
  try {
    stated = (JSON.parse(first.value) as { format?: unknown } | null)?.format;
  } catch {
    stated = undefined;
  }
  if (stated !== CATALOG_SNAPSHOT_FORMAT)
    throw new InvalidCatalogSnapshotError(`has format ${JSON.stringify(stated)}; this version reads ${CATALOG_SNAPSHOT_FORMAT}`);
  const head = parseLine(header, first.value, 'header');
  if (head.manifest_format !== MANIFEST_FORMAT)
    throw new InvalidCatalogSnapshotError(`holds manifests parsed as ${head.manifest_format}; this version parses them as ${MANIFEST_FORMAT}`);
  const recordings: SnapshotRecording[] = [];
  for (let next = iterator.next(); next.done !== true; next = iterator.next()) {
    if (next.value === '') continue;
    const i = recordings.length;
    const line = parseLine(entry, next.value, `entry ${i}`);
    const key = line.version.slice(0, line.version.indexOf('@'));
    try {
      recordings.push({ ...line, manifest: manifestFromJson(line.manifest, recordingIdFromManifestKey(key)!) });
    } catch (error) {
      if (error instanceof InvalidManifestError) throw new InvalidCatalogSnapshotError(`entry ${i} (${key}): ${error.message}`);
      throw error;
    }
  }
  // A snapshot cut short (a partial write) must not pass for a smaller catalog.
  if (recordings.length !== head.recordings) throw new InvalidCatalogSnapshotError(`says it holds ${head.recordings} recordings but has ${recordings.length}`);
  return {
    format: CATALOG_SNAPSHOT_FORMAT,
    manifest_format: MANIFEST_FORMAT,
    position: head.position,
    listed_at: head.listed_at,
    written_at: head.written_at,
    recordings,
  };
}

/** The snapshot's lines, each ending in a newline. */
export function* serializeCatalogSnapshot(snapshot: CatalogSnapshot): Generator<string> {
  const { recordings, ...rest } = snapshot;
  yield `${JSON.stringify({ ...rest, recordings: recordings.length })}\n`;
  for (const r of recordings) yield `${JSON.stringify(r)}\n`;
}

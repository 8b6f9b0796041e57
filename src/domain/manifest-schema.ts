/**
 * The stored format of a manifest, checked wherever one is read back: the catalog reads
 * manifests written by any version of mcapflow (or by anyone with write access to the
 * bucket), so a manifest is data to check, not trust. Table names and object keys are
 * validated here, before they can reach SQL or a file path.
 */
import { z } from 'zod';
import { McapflowError } from '../errors.ts';
import { validateObjectKey } from './object-keys.ts';
import { MANIFEST_FORMAT, type Manifest } from './manifest.ts';
import { TABLE_NAME_PATTERN } from './table-names.ts';

export { MANIFEST_FORMAT } from './manifest.ts';
const V1_FORMAT = 'mcapflow.manifest/1';

const count = z.number().int().nonnegative();
const nanoseconds = z.string().regex(/^-?\d{1,20}$/, 'must be integer nanoseconds as a string');
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');
const objectKey = z.string().refine(
  (key) => {
    try {
      validateObjectKey(key);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'is not a safe object key' },
);
const TABLE_NAME_RULE = 'must be a table name: a letter or _, then up to 254 letters, digits or _';
const tableName = z.string().regex(TABLE_NAME_PATTERN, TABLE_NAME_RULE);

const topic = z.object({
  topic: z.string(),
  channel_id: z.number().int().min(0).max(65535),
  schema: z.string(),
  schema_encoding: z.string(),
  message_encoding: z.string(),
  messages: count,
  first_log_time: nanoseconds.nullable(),
  last_log_time: nanoseconds.nullable(),
  table: tableName.nullable(),
  decode_errors: count,
  // Added after the first manifests were written: absent means none measured.
  out_of_order: count.default(0),
  gaps: count.default(0),
  median_period_ns: nanoseconds.nullable().default(null),
  max_gap_ns: nanoseconds.nullable().default(null),
  status: z.enum(['ok', 'undecodable']),
  reason: z.string().nullable(),
});

const tableObject = z.object({
  key: objectKey,
  uri: z.string(),
  rows: count,
  bytes: count,
  sha256,
  min_log_time: nanoseconds.nullable(),
  max_log_time: nanoseconds.nullable(),
  // Added with pruning: absent means unknown (the object may hold any topic).
  topics: z.array(z.string()).nullable().default(null),
});

function tableNames<T extends z.ZodType>(entry: T) {
  return z.record(z.string(), entry).superRefine((record, context) => {
    for (const name of Object.keys(record)) {
      if (!TABLE_NAME_PATTERN.test(name))
        context.addIssue({ code: 'custom', path: [name], message: `${JSON.stringify(name.slice(0, 100))} ${TABLE_NAME_RULE}` });
    }
  });
}

const table = z.object({
  operator: z.string(),
  params: z.string(),
  fingerprint: z.string(),
  sort_keys: z.array(z.string()),
  rows: count,
  objects: z.array(tableObject),
});

/** Parses to a `Manifest`; the `satisfies` makes a change to that type fail here until this follows. */
export const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  recording_id: z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 hex digits'),
  source: z.object({
    uri: z.string(),
    bucket: z.string(),
    key: z.string(),
    size: count,
    etag: z.string().nullable(),
    sha256: sha256.nullable(),
  }),
  profile: z.string(),
  library: z.string(),
  planner: z.enum(['summary', 'scan']),
  planner_note: z.string().nullable().default(null),
  recovered: z.boolean(),
  reason: z.string().nullable(),
  damage: z.array(z.string()),
  message_count: count,
  start_time: nanoseconds.nullable(),
  end_time: nanoseconds.nullable(),
  operators: z.record(z.string(), z.string()),
  params: z.record(z.string(), z.number()),
  plan_key: objectKey,
  topics: z.array(topic),
  tables: tableNames(table),
  blobs: z.array(z.object({ key: objectKey, uri: z.string(), bytes: count, sha256 })),
}) satisfies z.ZodType<Manifest, unknown>;

/** Manifests written before operators: tables were plain object lists, made by the versions in `operators`. */
const v1Schema = manifestSchema.extend({ format: z.literal(V1_FORMAT), tables: tableNames(z.array(tableObject)) });

function fromV1(v1: z.infer<typeof v1Schema>): Manifest {
  const tables = Object.fromEntries(
    Object.entries(v1.tables).map(([name, objects]) => [
      name,
      { operator: 'v1', params: '', fingerprint: '', sort_keys: [], rows: objects.reduce((n, o) => n + o.rows, 0), objects },
    ]),
  );
  return { ...v1, format: MANIFEST_FORMAT, tables };
}

/** Why a stored manifest cannot be used, in words that name the field. */
export class InvalidManifestError extends McapflowError {
  constructor(problem: string) {
    super('MANIFEST_INVALID', `the manifest ${problem}`);
  }
}

/**
 * The manifest in `text`, or an InvalidManifestError naming what is wrong: not JSON, another
 * format version, or a field that does not fit. `recordingId` is the id its key names.
 */
export function parseManifest(text: string, recordingId: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InvalidManifestError(`is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  return manifestFromJson(json, recordingId);
}

/** {@link parseManifest} of a value already parsed from JSON (a manifest held in a catalog snapshot). */
export function manifestFromJson(json: unknown, recordingId: string): Manifest {
  const format = (json as { format?: unknown } | null)?.format;
  if (format !== MANIFEST_FORMAT && format !== V1_FORMAT)
    throw new InvalidManifestError(`has format ${JSON.stringify(format)}; this version reads ${MANIFEST_FORMAT} and ${V1_FORMAT}`);
  const parsed = format === V1_FORMAT ? v1Schema.transform(fromV1).safeParse(json) : manifestSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`);
    throw new InvalidManifestError(`does not fit ${MANIFEST_FORMAT}: ${problems.join('; ')}${parsed.error.issues.length > 5 ? '; …' : ''}`);
  }
  if (parsed.data.recording_id !== recordingId)
    throw new InvalidManifestError(`names recording ${parsed.data.recording_id}, not the ${recordingId} of its key`);
  return parsed.data;
}

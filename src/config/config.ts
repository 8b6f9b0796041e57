/**
 * The one configuration loader. Every option is an environment variable with a default and
 * one line of documentation; `docs/configuration.md` is generated from this table and a test
 * keeps the two in sync.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { AFTER_UPLOAD } from '../uploader/after-upload.ts';
import { parseBandwidth } from '../uploader/bandwidth.ts';

/** How queries read committed Parquet (MCAPFLOW_QUERY_READ_IN_PLACE): `auto` in place when DuckDB's httpfs can, else copies; `never` copies; `require` in place or fail. */
export const IN_PLACE_MODES = ['auto', 'never', 'require'] as const;
export type InPlaceMode = (typeof IN_PLACE_MODES)[number];

const MiB = 1024 * 1024;

const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');
const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().nonnegative();
const bucketName = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name');

/** Declaration of one option: where it comes from, its default, what it means. */
interface OptionSpec<T> {
  env: string;
  default: string | undefined;
  doc: string;
  schema: z.ZodType<T>;
}

function option<T>(env: string, defaultValue: string | undefined, doc: string, schema: z.ZodType<T>): OptionSpec<T> {
  return { env, default: defaultValue, doc, schema };
}

export const OPTIONS = {
  home: option('MCAPFLOW_HOME', './.mcapflow', 'Directory for local state: embedded S3 data, spawned Redis data, the query cache.', z.string().min(1)),
  redisUrl: option(
    'REDIS_URL',
    'redis://127.0.0.1:6379',
    'Redis holding the work queues. Must use maxmemory-policy noeviction.',
    z.url({ protocol: /^rediss?$/ }),
  ),
  spawnRedis: option(
    'MCAPFLOW_SPAWN_REDIS',
    'true',
    'When no Redis answers at REDIS_URL (a loopback address) and redis-server is on PATH, start one under MCAPFLOW_HOME.',
    bool,
  ),
  prefix: option(
    'MCAPFLOW_PREFIX',
    'mcapflow',
    'Prefix of every Redis key this instance writes. Use a hash tag such as {mcapflow} for Redis Cluster.',
    z.string().regex(/^[A-Za-z0-9_{}-]+$/, 'may contain only letters, digits, _, -, { and }'),
  ),
  s3Endpoint: option(
    'S3_ENDPOINT',
    undefined,
    'S3 endpoint URL. Unset: start the embedded S3 server over $MCAPFLOW_HOME/s3. Empty string: the AWS default endpoint.',
    z.string().optional(),
  ),
  s3Region: option('S3_REGION', 'us-east-1', 'S3 region.', z.string().min(1)),
  s3ForcePathStyle: option('S3_FORCE_PATH_STYLE', 'true', 'Address buckets by path (needed for MinIO and the embedded server).', bool),
  embeddedS3Port: option('MCAPFLOW_EMBEDDED_S3_PORT', '0', 'Port of the embedded S3 server on 127.0.0.1; 0 picks a free one.', nonNegativeInt),
  rawBucket: option('MCAPFLOW_RAW_BUCKET', 'raw', 'Bucket that recordings are uploaded to.', bucketName),
  derivedBucket: option('MCAPFLOW_DERIVED_BUCKET', 'derived', 'Bucket for derived data: objects/, manifests/, quarantine/.', bucketName),
  eventBuckets: option(
    'MCAPFLOW_EVENT_BUCKETS',
    undefined,
    'Comma-separated buckets whose object-created events (webhook, SQS, embedded server) become ingest jobs; records for any other bucket are ignored with a reason. Unset: MCAPFLOW_RAW_BUCKET only.',
    z
      .string()
      .optional()
      .transform((s) =>
        s
          ?.split(',')
          .map((x) => x.trim())
          .filter(Boolean),
      )
      .pipe(z.array(bucketName).min(1, 'must name at least one bucket').optional()),
  ),
  recordingSuffixes: option(
    'MCAPFLOW_RECORDING_SUFFIXES',
    '.mcap',
    'Comma-separated key suffixes that mark an object as a recording; events for other keys are ignored.',
    z.string().transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    ),
  ),
  spanMaxBytes: option(
    'MCAPFLOW_SPAN_MAX_BYTES',
    String(32 * MiB),
    'Largest compressed size of a chunk span (contiguous chunks handled by one index/extract job).',
    positiveInt,
  ),
  blobThresholdBytes: option(
    'MCAPFLOW_BLOB_THRESHOLD_BYTES',
    '4096',
    'Byte arrays longer than this are stored by reference (URI, offset, length, sha256) instead of inline.',
    nonNegativeInt,
  ),
  blobStorage: option(
    'MCAPFLOW_BLOB_STORAGE',
    'in-place',
    'Where referenced byte arrays live: in-place (references into the raw recording, nothing copied) or packs (copied into derived blob packs: one exact ranged GET to read one back).',
    z.enum(['in-place', 'packs']),
  ),
  operators: option(
    'MCAPFLOW_OPERATORS',
    '',
    'Comma-separated paths of modules exporting user operators (see docs/operators.md), loaded by every role next to the built-ins.',
    z.string().transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    ),
  ),
  parquetTargetBytes: option(
    'MCAPFLOW_PARQUET_TARGET_BYTES',
    String(128 * MiB),
    'Convert packs extract outputs into Parquet files of about this many uncompressed bytes.',
    positiveInt,
  ),
  parquetRowGroupRows: option('MCAPFLOW_PARQUET_ROW_GROUP_ROWS', '131072', 'Rows per Parquet row group.', positiveInt),
  maxRecordBytes: option(
    'MCAPFLOW_MAX_RECORD_BYTES',
    String(1024 * MiB),
    'Largest MCAP record (e.g. chunk) a worker will allocate; longer declared lengths are rejected as corrupt.',
    positiveInt,
  ),
  maxChunkBytes: option(
    'MCAPFLOW_MAX_CHUNK_BYTES',
    String(256 * MiB),
    'Largest uncompressed chunk a worker decompresses; a chunk declaring more is skipped and reported (the recording commits with recovered: true).',
    positiveInt,
  ),
  workerConcurrency: option('MCAPFLOW_WORKER_CONCURRENCY', '2', 'Jobs a worker process runs at once per queue (index, extract, convert, commit).', positiveInt),
  dispatcherConcurrency: option('MCAPFLOW_DISPATCHER_CONCURRENCY', '4', 'Ingest and scan jobs a dispatcher process plans at once.', positiveInt),
  jobAttempts: option(
    'MCAPFLOW_JOB_ATTEMPTS',
    '4',
    'Attempts per job before it goes to the dead-letter queue (retries back off exponentially with jitter).',
    positiveInt,
  ),
  jobAttemptsByKind: option(
    'MCAPFLOW_JOB_ATTEMPTS_BY_KIND',
    '',
    'Per-kind overrides of MCAPFLOW_JOB_ATTEMPTS, e.g. "commit=8,ingest=6" (kinds: ingest, scan, index, extract, convert, commit).',
    z.string().transform((text, ctx) => {
      const out: Record<string, number> = {};
      for (const pair of text
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)) {
        const match = /^(ingest|scan|index|extract|convert|commit)=([1-9][0-9]*)$/.exec(pair);
        if (!match) {
          ctx.addIssue({ code: 'custom', message: `"${pair}" is not kind=attempts with a known kind and a positive number` });
          return z.NEVER;
        }
        out[match[1]!] = Number(match[2]);
      }
      return out;
    }),
  ),
  dlqMaxEntries: option(
    'MCAPFLOW_DLQ_MAX_ENTRIES',
    '10000',
    'Dead-letter entries kept; beyond it the oldest are dropped and counted in mcapflow_dlq_dropped_total (their recordings stay failed).',
    positiveInt,
  ),
  dlqMaxEntryBytes: option(
    'MCAPFLOW_DLQ_MAX_ENTRY_BYTES',
    '8192',
    'Largest dead-letter entry in Redis: a bigger job input is kept as a preview, errors and stacks are clipped, the oldest attempts left out (the entry says so). At least 2048.',
    z.coerce.number().int().min(2048, 'must be at least 2048'),
  ),
  backoffMs: option('MCAPFLOW_BACKOFF_MS', '1000', 'Base delay of the exponential retry backoff.', nonNegativeInt),
  lockDurationMs: option(
    'MCAPFLOW_LOCK_DURATION_MS',
    '120000',
    'BullMQ job lock, renewed while a job runs; a job whose worker died is run again once its lock lapses.',
    positiveInt,
  ),
  stalledIntervalMs: option(
    'MCAPFLOW_STALLED_INTERVAL_MS',
    '30000',
    'How often workers look for jobs whose lock lapsed (crashed workers) and put them back in the queue.',
    positiveInt,
  ),
  maxStalledCount: option(
    'MCAPFLOW_MAX_STALLED_COUNT',
    '2',
    'Times a job may lose its worker (crash, kill) and be restarted before it is failed into the dead-letter queue.',
    positiveInt,
  ),
  drainTimeoutMs: option(
    'MCAPFLOW_DRAIN_TIMEOUT_MS',
    '60000',
    'On SIGTERM, how long running jobs may finish before they are handed back to the queue for another worker.',
    nonNegativeInt,
  ),
  s3RequestTimeoutMs: option('MCAPFLOW_S3_REQUEST_TIMEOUT_MS', '30000', 'An S3 request with no response for this long is abandoned and retried.', positiveInt),
  readBlockBytes: option('MCAPFLOW_READ_BLOCK_BYTES', String(1 * MiB), 'Block size of the ranged-read cache used for planning reads.', positiveInt),
  httpPort: option(
    'MCAPFLOW_HTTP_PORT',
    '8080',
    "Port of every role's HTTP server (/healthz, /readyz, /metrics; the admin API and web UI on the admin role); 0 picks a free one.",
    nonNegativeInt,
  ),
  httpHost: option('MCAPFLOW_HTTP_HOST', '127.0.0.1', 'Address the HTTP server listens on; 0.0.0.0 in containers.', z.string().min(1)),
  adminToken: option(
    'MCAPFLOW_ADMIN_TOKEN',
    undefined,
    'Bearer token of the admin API and web UI (secret). Unset on the embedded default: generated once into $MCAPFLOW_HOME/tokens.json.',
    z.string().min(16, 'must be at least 16 characters').optional(),
  ),
  webhookToken: option(
    'MCAPFLOW_WEBHOOK_TOKEN',
    undefined,
    'Bearer token of the S3 event webhook POST /v1/events/s3 (secret). Unset on the embedded default: generated like the admin token.',
    z.string().min(16, 'must be at least 16 characters').optional(),
  ),
  adminSessionSeconds: option(
    'MCAPFLOW_ADMIN_SESSION_SECONDS',
    '43200',
    'How long a status-page sign-in lasts: the session cookie and its record in Redis expire together (signing out ends it sooner).',
    positiveInt,
  ),
  adminUrl: option(
    'MCAPFLOW_ADMIN_URL',
    undefined,
    'Admin API URL the CLI talks to (backfill, status, dlq, recordings). Unset: the `serve` running on this MCAPFLOW_HOME.',
    z.url().optional(),
  ),
  sqsQueueUrl: option(
    'MCAPFLOW_SQS_QUEUE_URL',
    undefined,
    'SQS queue receiving S3 event notifications; when set, the dispatcher role long-polls it.',
    z.url().optional(),
  ),
  sqsEndpoint: option(
    'MCAPFLOW_SQS_ENDPOINT',
    undefined,
    'SQS endpoint override (tests, LocalStack); unset uses the AWS default for S3_REGION.',
    z.url().optional(),
  ),
  bodyLimitBytes: option('MCAPFLOW_BODY_LIMIT_BYTES', String(1024 * 1024), 'Largest HTTP request body accepted by the admin API and webhook.', positiveInt),
  backfillMaxWaiting: option(
    'MCAPFLOW_BACKFILL_MAX_WAITING',
    '1000',
    'A backfill stops enqueuing while the ingest queue holds more waiting jobs than this (backpressure).',
    positiveInt,
  ),
  queryMaxRows: option('MCAPFLOW_QUERY_MAX_ROWS', '10000', 'Most rows POST /v1/query returns (the answer says when it was cut).', positiveInt),
  queryTimeoutMs: option(
    'MCAPFLOW_QUERY_TIMEOUT_MS',
    '30000',
    'Longest a POST /v1/query statement may take, from loading the catalog through parsing, planning and running it to converting its rows; its sandbox process is then killed.',
    positiveInt,
  ),
  queryMaxResultBytes: option(
    'MCAPFLOW_QUERY_MAX_RESULT_BYTES',
    String(16 * MiB),
    'Largest POST /v1/query answer, in bytes of JSON; a larger one is refused with QUERY_TOO_LARGE.',
    positiveInt,
  ),
  queryMemoryMb: option(
    'MCAPFLOW_QUERY_MEMORY_MB',
    '1024',
    "DuckDB's memory limit per query (MiB), for POST /v1/query and the query command; beyond it DuckDB spills to disk or the query fails with QUERY_TOO_LARGE.",
    positiveInt,
  ),
  queryThreads: option('MCAPFLOW_QUERY_THREADS', '2', 'DuckDB threads per query.', positiveInt),
  queryTempMaxMb: option(
    'MCAPFLOW_QUERY_TEMP_MAX_MB',
    '4096',
    'Disk a query may spill to (MiB), under $MCAPFLOW_HOME/tmp/query; beyond it the query fails with QUERY_TOO_LARGE.',
    positiveInt,
  ),
  queryReadInPlace: option(
    'MCAPFLOW_QUERY_READ_IN_PLACE',
    'auto',
    "How queries read the derived bucket's Parquet: `auto` reads s3:// objects in place through DuckDB's httpfs extension when it is installed and can read the bucket (checked once per process), else copies the objects a statement needs into the cache; `never` always copies; `require` fails a query that cannot read in place.",
    z.enum(IN_PLACE_MODES),
  ),
  queryConcurrency: option(
    'MCAPFLOW_QUERY_CONCURRENCY',
    '2',
    'POST /v1/query statements an admin process runs at once, each in its own sandbox process; more are refused with HTTP 429 QUERY_BUSY.',
    positiveInt,
  ),
  similarityRefreshMs: option(
    'MCAPFLOW_SIMILARITY_REFRESH_MS',
    '5000',
    'How often the admin role looks for new commits and adds their windows to the persisted similarity index (imu_windows and every window table searched since it started), so searches find it current; 0: only when searched.',
    nonNegativeInt,
  ),
  catalogSnapshotMs: option(
    'MCAPFLOW_CATALOG_SNAPSHOT_MS',
    '300000',
    'How often the admin role writes the catalog snapshot (catalog/snapshot.ndjson.gz in the derived bucket: every parsed manifest and the commit-feed position it is current at) when commits landed since the last one; a query service that starts cold reads it instead of every manifest. 0: never.',
    nonNegativeInt,
  ),
  uploadWatchDir: option(
    'MCAPFLOW_UPLOAD_WATCH_DIR',
    undefined,
    'Directory the edge uploader (`serve --role uploader`, `upload --watch`) watches for finished recordings, subdirectories included.',
    z.string().min(1).optional(),
  ),
  uploadStableMs: option(
    'MCAPFLOW_UPLOAD_STABLE_MS',
    '10000',
    'The edge uploader takes a recording once its size and mtime stayed the same this long, or at once when it was renamed from a temporary name (x.mcap.active, .tmp, .part, .partial, .inprogress, .writing, .crdownload) to its final one.',
    nonNegativeInt,
  ),
  uploadPollMs: option('MCAPFLOW_UPLOAD_POLL_MS', '1000', 'How often the edge uploader scans the watched directory.', positiveInt),
  uploadAfter: option(
    'MCAPFLOW_UPLOAD_AFTER',
    'keep',
    "What the edge uploader does with a local recording once a HEAD showed the object's sha256 and size equal the file's: keep, delete, or move (to MCAPFLOW_UPLOAD_MOVE_DIR).",
    z.enum(AFTER_UPLOAD),
  ),
  uploadMoveDir: option(
    'MCAPFLOW_UPLOAD_MOVE_DIR',
    undefined,
    'Where MCAPFLOW_UPLOAD_AFTER=move puts uploaded recordings (their relative paths kept); may lie inside the watched directory (scans skip it), but not be it.',
    z.string().min(1).optional(),
  ),
  uploadBandwidth: option(
    'MCAPFLOW_UPLOAD_BANDWIDTH',
    '',
    'Bandwidth limit of the edge uploader, e.g. 2MB/s or 500KB/s (binary units); empty: unlimited.',
    z.string().transform((text, ctx) => {
      try {
        return parseBandwidth(text);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
  ),
  uploadPrefix: option(
    'MCAPFLOW_UPLOAD_PREFIX',
    '',
    "Key prefix of the edge uploader's objects in MCAPFLOW_RAW_BUCKET, e.g. robots/r1/ (the file's path below the watched directory follows).",
    z.string(),
  ),
  uploadBackoffMaxMs: option(
    'MCAPFLOW_UPLOAD_BACKOFF_MAX_MS',
    '60000',
    'Longest wait of the edge uploader between attempts on a recording while offline or failing (exponential with jitter from 1 s; it never gives up).',
    positiveInt,
  ),
  logLevel: option(
    'MCAPFLOW_LOG_LEVEL',
    'info',
    'Log level: fatal, error, warn, info, debug, trace or silent.',
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  ),
} as const;

type Options = typeof OPTIONS;
export type Config = { [K in keyof Options]: Options[K] extends OptionSpec<infer T> ? T : never };

/** Reads and validates every option; the error names each offending variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, spec] of Object.entries(OPTIONS) as [string, OptionSpec<unknown>][]) {
    const raw = env[spec.env] ?? spec.default;
    const parsed = spec.schema.safeParse(raw);
    if (parsed.success) values[key] = parsed.data;
    else problems.push(`${spec.env}=${JSON.stringify(raw)}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join(', ')}`);
  return { ...(values as Config), home: resolve(values.home as string) };
}

/** Markdown table of every option, the body of docs/configuration.md. */
export function configurationMarkdown(): string {
  const rows = Object.values(OPTIONS).map(
    (spec: OptionSpec<unknown>) => `| \`${spec.env}\` | ${spec.default === undefined ? '*(unset)*' : `\`${spec.default}\``} | ${spec.doc} |`,
  );
  return [
    '# Configuration',
    '',
    'Every option is an environment variable. This file is generated from `src/config/config.ts`',
    '(`npx mcapflow config --markdown > docs/configuration.md`); a test keeps it in sync.',
    '',
    '| Variable | Default | Meaning |',
    '|---|---|---|',
    ...rows,
    '',
    'S3 credentials come from the standard AWS chain (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,',
    'instance or pod roles). The embedded S3 server accepts only its own key pair, generated once',
    'into `$MCAPFLOW_HOME/s3-credentials.json` (mode 0600); processes on that home read it from',
    'there, processes pointed at the server with `S3_ENDPOINT` need it in the two AWS variables.',
    '',
  ].join('\n');
}

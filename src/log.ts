/**
 * Structured JSON logs on stderr (stdout belongs to command output). A line written while a
 * job runs carries the job's recording_id, job_id and kind (observability/job-context.ts).
 * Secrets never reach the output: credential-like fields are redacted by name, the values of
 * secret environment variables wherever they appear, and passwords inside URLs.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { jobLogFields } from './observability/job-context.ts';

export type { Logger };

const CENSOR = '[redacted]';

/** Field names whose values are secrets, at the top level and one level down. */
const SECRET_FIELDS = [
  'authorization',
  'Authorization',
  'cookie',
  'token',
  'adminToken',
  'webhookToken',
  'password',
  'secret',
  'secretAccessKey',
  'sessionToken',
  'credentials',
  'MCAPFLOW_ADMIN_TOKEN',
  'MCAPFLOW_WEBHOOK_TOKEN',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
];
const REDACT_PATHS = [
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((f) => `*.${f}`),
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
  '*.headers["x-amz-security-token"]',
];

/** Environment variables whose values must never be printed. */
const SECRET_ENV = /(TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|PRIVATE_KEY|API_KEY)/i;

function secretValues(env: NodeJS.ProcessEnv): string[] {
  const values = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    // Short values would blank out ordinary words; real tokens and keys are long.
    if (value !== undefined && value.length >= 8 && SECRET_ENV.test(name)) values.add(value);
  }
  return [...values].sort((a, b) => b.length - a.length);
}

const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:/@]*):([^\s/@]+)@/gi;

export function createScrubber(env: NodeJS.ProcessEnv = process.env): (text: string) => string {
  const secrets = secretValues(env);
  return (text) => {
    let out = text.includes('@') ? text.replace(URL_CREDENTIALS, `$1$2:${CENSOR}@`) : text;
    for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(CENSOR);
    return out;
  };
}

function scrubValue(value: unknown, scrub: (text: string) => string, depth: number): unknown {
  if (typeof value === 'string') return scrub(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return scrubValue(pino.stdSerializers.err(value), scrub, depth + 1);
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, scrub, depth + 1));
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value) || value instanceof Date) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubValue(v, scrub, depth + 1);
  return out;
}

export interface LoggerOptions {
  /** Where lines go; default stderr. */
  destination?: DestinationStream;
  /** Environment whose secret values are scrubbed; default process.env. */
  env?: NodeJS.ProcessEnv;
}

export function createLogger(level: string, bindings: Record<string, unknown> = {}, options: LoggerOptions = {}): Logger {
  const scrub = createScrubber(options.env);
  return pino(
    {
      level,
      base: { pid: process.pid, ...(scrubValue(bindings, scrub, 0) as Record<string, unknown>) },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: CENSOR },
      // A copy: pino merges the call's fields into the mixin object.
      mixin: () => ({ ...jobLogFields() }),
      formatters: { log: (object) => scrubValue(object, scrub, 0) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          return method.apply(this, args.map((a) => (typeof a === 'string' ? scrub(a) : a)) as Parameters<typeof method>);
        },
      },
    },
    options.destination ?? pino.destination({ fd: 2, sync: false }),
  );
}

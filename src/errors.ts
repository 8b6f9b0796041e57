/**
 * The one error hierarchy. Every error mcapflow raises on purpose carries a stable,
 * machine-readable `code` (used in CLI `--json` output, HTTP error bodies and job failure
 * records) and says whether retrying can help.
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'BAD_EVENT'
  | 'BAD_KEY'
  | 'BAD_ARGUMENT'
  | 'NOT_FOUND'
  | 'EMPTY_OBJECT'
  | 'NOT_MCAP'
  | 'TRUNCATED_HEADER'
  | 'CORRUPT_RECORD'
  | 'RECORD_TOO_LARGE'
  | 'UNRECOVERABLE'
  | 'SCHEMA_UNDECODABLE'
  | 'MANIFEST_CONFLICT'
  | 'MANIFEST_INVALID'
  | 'SNAPSHOT_INVALID'
  | 'STORAGE_FAILED'
  | 'REDIS_UNAVAILABLE'
  | 'REDIS_MISCONFIGURED'
  | 'QUERY_FAILED'
  | 'QUERY_REFUSED'
  | 'QUERY_TIMEOUT'
  | 'QUERY_TOO_LARGE'
  | 'QUERY_BUSY'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'OPERATOR_FAILED'
  | 'PLAN_INVALID'
  | 'INTERNAL';

export class McapflowError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: { retryable?: boolean; cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details ?? {};
  }

  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** Configuration that fails validation; the message names the variable and the rule. */
export class ConfigError extends McapflowError {
  constructor(message: string) {
    super('CONFIG_INVALID', message);
  }
}

/**
 * Input that can never be processed, however often it is retried: the recording is
 * quarantined with this message as the reason a user reads.
 */
export class InvalidRecordingError extends McapflowError {
  constructor(
    code: 'EMPTY_OBJECT' | 'NOT_MCAP' | 'TRUNCATED_HEADER' | 'CORRUPT_RECORD' | 'RECORD_TOO_LARGE' | 'UNRECOVERABLE',
    message: string,
    details?: Record<string, unknown>,
  ) {
    super(code, message, { retryable: false, details: details ?? {} });
  }
}

/** A request or argument from a user or another system that is malformed. */
export class InvalidInputError extends McapflowError {
  constructor(code: 'BAD_EVENT' | 'BAD_KEY' | 'BAD_ARGUMENT', message: string) {
    super(code, message);
  }
}

export class NotFoundError extends McapflowError {
  constructor(message: string) {
    super('NOT_FOUND', message);
  }
}

/** Object storage failed in a way that may pass (5xx, timeouts, resets). */
export class StorageError extends McapflowError {
  constructor(message: string, cause?: unknown, retryable = true) {
    super('STORAGE_FAILED', message, { retryable, cause });
  }
}

/** A different manifest already exists for a recording id: never overwrite it silently. */
export class ManifestConflictError extends McapflowError {
  constructor(recordingId: string) {
    super('MANIFEST_CONFLICT', `a different manifest is already committed for recording ${recordingId}; refusing to overwrite it`);
  }
}

export function isMcapflowError(error: unknown): error is McapflowError {
  return error instanceof McapflowError;
}

/** A short human-readable description of any thrown value. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

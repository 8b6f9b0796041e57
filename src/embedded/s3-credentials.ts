/**
 * Credentials of the embedded S3 server: an access key id and secret generated once per
 * MCAPFLOW_HOME into $MCAPFLOW_HOME/s3-credentials.json (mode 0600), like the admin tokens.
 * The server accepts only requests signed with them; every mcapflow process on the same
 * home reads them from there (processes pointed at the server with S3_ENDPOINT get them
 * as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY instead).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

const FORMAT_VERSION = 1;

const storedSchema = z.object({
  version: z.literal(FORMAT_VERSION),
  accessKeyId: z.string().regex(/^[A-Z0-9]{16,128}$/),
  secretAccessKey: z.string().min(40),
});

export function s3CredentialsFile(home: string): string {
  return join(home, 's3-credentials.json');
}

/** An AWS-shaped key pair: a 20-character id of capitals and digits, a 40-character secret. */
function generate(): S3Credentials {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const id = Array.from({ length: 18 }, () => alphabet[randomInt(alphabet.length)]).join('');
  return { accessKeyId: `MF${id}`, secretAccessKey: randomBytes(30).toString('base64') };
}

function read(path: string): S3Credentials {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`${path} is not valid JSON (${error instanceof Error ? error.message : String(error)}); delete it to generate new credentials`);
  }
  const result = storedSchema.safeParse(parsed);
  if (!result.success) {
    throw new ConfigError(
      `${path} is not an embedded S3 credentials file of version ${FORMAT_VERSION} (${result.error.issues[0]?.message ?? 'invalid'}); delete it to generate new credentials`,
    );
  }
  return { accessKeyId: result.data.accessKeyId, secretAccessKey: result.data.secretAccessKey };
}

/**
 * The credentials of the embedded S3 server of `home`. `create`: generate them if the home
 * has none yet (the process that starts the server); otherwise a missing file is an error
 * (a client of a running server).
 */
export function embeddedS3Credentials(home: string, options: { create: boolean }): S3Credentials {
  const path = s3CredentialsFile(home);
  if (existsSync(path)) return read(path);
  if (!options.create) {
    throw new ConfigError(`the embedded S3 server of ${home} has no credentials file ${path}: restart \`mcapflow serve\` on this home to create it`);
  }
  const credentials = generate();
  mkdirSync(home, { recursive: true });
  try {
    // `wx`: of two processes starting on a fresh home at once, one writes and both use its pair.
    writeFileSync(path, `${JSON.stringify({ version: FORMAT_VERSION, ...credentials }, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return read(path);
    throw error;
  }
  return credentials;
}

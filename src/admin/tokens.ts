/**
 * Admin and webhook tokens: from MCAPFLOW_ADMIN_TOKEN / MCAPFLOW_WEBHOOK_TOKEN, or, on the
 * embedded default only, generated once into $MCAPFLOW_HOME/tokens.json (mode 0600).
 * Comparison is constant-time; tokens are never logged.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/config.ts';
import { ConfigError } from '../errors.ts';

export interface Tokens {
  admin: string;
  webhook: string;
}

export function tokensFile(home: string): string {
  return join(home, 'tokens.json');
}

function readStored(home: string): Partial<Tokens> {
  const path = tokensFile(home);
  if (!existsSync(path)) return {};
  return JSON.parse(readFileSync(path, 'utf8')) as Partial<Tokens>;
}

/**
 * Resolves both tokens. `generated` lists the tokens created by this call (print them once).
 * Outside the embedded default an unset token is a configuration error.
 */
export function resolveTokens(config: Config, embedded: boolean): { tokens: Tokens; generated: (keyof Tokens)[] } {
  const stored = embedded ? readStored(config.home) : {};
  const generated: (keyof Tokens)[] = [];
  const pick = (name: keyof Tokens, configured: string | undefined, variable: string): string => {
    if (configured !== undefined) return configured;
    if (!embedded) throw new ConfigError(`${variable} must be set (at least 16 characters) to run the admin role outside the embedded default`);
    const known = stored[name];
    if (known !== undefined) return known;
    generated.push(name);
    return randomBytes(24).toString('base64url');
  };
  const tokens = { admin: pick('admin', config.adminToken, 'MCAPFLOW_ADMIN_TOKEN'), webhook: pick('webhook', config.webhookToken, 'MCAPFLOW_WEBHOOK_TOKEN') };
  if (generated.length > 0) {
    mkdirSync(config.home, { recursive: true });
    writeFileSync(tokensFile(config.home), `${JSON.stringify({ ...stored, ...Object.fromEntries(generated.map((g) => [g, tokens[g]])) }, null, 2)}\n`, {
      mode: 0o600,
    });
  }
  return { tokens, generated };
}

/** The admin token the CLI should send: the environment's, else the one stored by serve. */
export function cliAdminToken(config: Config): string | undefined {
  return config.adminToken ?? readStored(config.home).admin;
}

/** Constant-time equality (hashing first makes lengths equal, so timing reveals nothing). */
export function tokenMatches(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

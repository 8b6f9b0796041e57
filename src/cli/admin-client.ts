/**
 * The CLI's client of the admin API: URL from MCAPFLOW_ADMIN_URL or the `serve` running on
 * this MCAPFLOW_HOME, token from MCAPFLOW_ADMIN_TOKEN or the one that serve generated.
 */
import type { Config } from '../config/config.ts';
import { cliAdminToken } from '../admin/tokens.ts';
import { McapflowError, type ErrorCode } from '../errors.ts';
import { findLocalServer } from '../runtime/local-server.ts';

export interface AdminClient {
  request<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T>;
  url: string;
}

export function adminClient(config: Config): AdminClient {
  const url = config.adminUrl ?? findLocalServer(config.home)?.httpUrl;
  if (url === undefined) {
    throw new McapflowError('BAD_ARGUMENT', 'no admin API to talk to: start `mcapflow serve` (it serves the admin role) or set MCAPFLOW_ADMIN_URL');
  }
  const token = cliAdminToken(config);
  if (token === undefined) throw new McapflowError('BAD_ARGUMENT', 'no admin token: set MCAPFLOW_ADMIN_TOKEN');
  return {
    url,
    async request<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
      let response: Response;
      try {
        response = await fetch(new URL(path, url), {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
      } catch (error) {
        throw new McapflowError('INTERNAL', `the admin API at ${url} does not answer: ${error instanceof Error ? error.message : String(error)}`);
      }
      const payload = (await response.json().catch(() => ({}))) as { error?: { code: ErrorCode; message: string } };
      if (!response.ok) throw new McapflowError(payload.error?.code ?? 'INTERNAL', payload.error?.message ?? `HTTP ${response.status}`);
      return payload as T;
    },
  };
}

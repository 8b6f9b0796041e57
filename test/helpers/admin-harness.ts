/** A pipeline harness plus the admin role's HTTP server on a free loopback port. */
import type { FastifyInstance } from 'fastify';
import { Backfills } from '../../src/admin/backfills.ts';
import { adminPlugin } from '../../src/admin/plugin.ts';
import type { Tokens } from '../../src/admin/tokens.ts';
import { createHttpServer, listen } from '../../src/http/server.ts';
import { createLogger } from '../../src/log.ts';
import { startHarness, type Harness, type HarnessOptions } from './pipeline-harness.ts';

export const TOKENS: Tokens = { admin: 'admin-token-for-tests-0123456789', webhook: 'webhook-token-for-tests-0123456789' };

export interface AdminHarness {
  harness: Harness;
  url: string;
  app: FastifyInstance;
  backfills: Backfills;
  /** JSON request; `token` defaults to the admin token, `null` sends none. */
  call(method: string, path: string, options?: { body?: unknown; token?: string | null; raw?: string }): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export async function startAdmin(label: string, overrides: Record<string, string> = {}, options: HarnessOptions = {}): Promise<AdminHarness> {
  const harness = await startHarness(label, overrides, options);
  const log = createLogger('silent');
  const app = createHttpServer({ services: harness.services, bodyLimit: harness.config.bodyLimitBytes });
  const backfills = new Backfills(harness.services, log);
  await app.register(adminPlugin, { services: harness.services, backfills, tokens: TOKENS, log });
  const url = await listen(app, '127.0.0.1', 0);
  return {
    harness,
    url,
    app,
    backfills,
    async call(method, path, { body, token = TOKENS.admin, raw } = {}) {
      const headers: Record<string, string> = {};
      if (token !== null) headers.authorization = `Bearer ${token}`;
      if (body !== undefined || raw !== undefined) headers['content-type'] = 'application/json';
      const response = await fetch(`${url}${path}`, {
        method,
        headers,
        ...(raw !== undefined ? { body: raw } : body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON (the status page)
      }
      return { status: response.status, body: parsed };
    },
    async close() {
      await backfills.close();
      await app.close();
      await harness.close();
    },
  };
}

// Extends FastifySchema with summary, description and tags for the OpenAPI document.
import type {} from '@fastify/swagger';
import { catalogLocation, SandboxedQueries, sandboxLimits, type CatalogLocation } from '../../catalog/query-session.ts';
import type { Logger } from '../../log.ts';
import type { Services } from '../../runtime/services.ts';
import type { Backfills } from '../backfills.ts';
import type { Tokens } from '../tokens.ts';

/** What the admin routes work with. */
export interface AdminContext {
  services: Services;
  backfills: Backfills;
  tokens: Tokens;
  log: Logger;
}

/** JSON schema of the error body every route may answer with. */
export const ERROR_SCHEMA = {
  type: 'object',
  properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'] } },
  required: ['error'],
} as const;

export const errorResponses = { 400: ERROR_SCHEMA, 401: ERROR_SCHEMA, 403: ERROR_SCHEMA, 404: ERROR_SCHEMA };

/** The committed catalog as the admin's routes read it: DuckDB limits from the config, relisted when a commit is noted. */
export function adminCatalog(ctx: AdminContext): CatalogLocation {
  const { services } = ctx;
  return { ...catalogLocation(services.config, services.store), log: ctx.log, changes: services.catalogChanges };
}

const sandboxes = new WeakMap<AdminContext, SandboxedQueries>();

/** The admin process's one pool of query sandboxes: the SQL endpoint and the data browser share its concurrency cap. */
export function adminQueries(ctx: AdminContext): SandboxedQueries {
  let queries = sandboxes.get(ctx);
  if (queries === undefined) {
    queries = new SandboxedQueries(adminCatalog(ctx), sandboxLimits(ctx.services.config));
    sandboxes.set(ctx, queries);
  }
  return queries;
}

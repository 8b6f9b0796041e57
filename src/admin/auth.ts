/**
 * Authentication of the admin API, the webhook and the status page: no credential → 401,
 * wrong credential → 403. Scripts send "Authorization: Bearer <token>". Browsers sign in on
 * the status page and then carry an HttpOnly, SameSite=Strict session cookie (a random
 * session id, see sessions.ts); because a browser attaches that cookie by itself, a
 * cookie-authenticated request that changes state must come from this server's own pages
 * (its Origin header names this host), and JSON endpoints take only JSON, which a foreign
 * page cannot send without a CORS preflight.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './http-errors.ts';
import type { AdminSessions } from './sessions.ts';
import { tokenMatches } from './tokens.ts';

export const SESSION_COOKIE = 'mcapflow_admin';

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The raw session cookie value (never decoded: a session id needs no percent-encoding). */
export function sessionCookieValue(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const separator = part.indexOf('=');
    if (separator > 0 && part.slice(0, separator).trim() === SESSION_COOKIE) return part.slice(separator + 1).trim();
  }
  return undefined;
}

/** The Bearer token of the request: undefined without an Authorization header, '' when it is not "Bearer <token>". */
function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header === undefined) return undefined;
  return /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] ?? '';
}

async function unauthorized(reply: FastifyReply, realm: string, message: string): Promise<void> {
  await reply.code(401).header('www-authenticate', `Bearer realm="${realm}"`).send(errorBody('UNAUTHORIZED', message));
}

/** Checks a Bearer token; answers and returns false when it is missing or wrong. */
async function checkBearer(request: FastifyRequest, reply: FastifyReply, expected: string, realm: string): Promise<boolean> {
  const given = bearerToken(request);
  if (given === undefined || given === '') {
    await unauthorized(reply, realm, `this endpoint needs the ${realm} token as "Authorization: Bearer <token>"`);
    return false;
  }
  if (!tokenMatches(given, expected)) {
    await reply.code(403).send(errorBody('FORBIDDEN', `the ${realm} token is not valid`));
    return false;
  }
  return true;
}

/** An onRequest hook that lets through only requests carrying `expected` as a Bearer token (the webhook). */
export function requireToken(expected: string, options: { realm: string }) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    await checkBearer(request, reply, expected, options.realm);
  };
}

/** Why a state-changing request is not from this server's own pages, or undefined when it is. */
export function crossOriginProblem(request: FastifyRequest): string | undefined {
  const origin = request.headers.origin;
  if (origin === undefined) return 'a signed-in browser may change state only from the status page: the request has no Origin header';
  const host = request.headers.host;
  try {
    const from = new URL(origin);
    if (host !== undefined && from.host === new URL(`${from.protocol}//${host}`).host) return undefined;
  } catch {
    // "null" or garbage: not this server.
  }
  return `cross-origin request refused: Origin ${JSON.stringify(origin)} is not this server (${host ?? 'no Host header'})`;
}

/**
 * An onRequest hook for the admin API and the queue board: a Bearer admin token, or a live
 * session cookie (then state changes only from this origin).
 */
export function requireAdmin(adminToken: string, sessions: AdminSessions) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (request.headers.authorization !== undefined) {
      await checkBearer(request, reply, adminToken, 'admin');
      return;
    }
    const session = sessionCookieValue(request);
    if (session === undefined) {
      await unauthorized(reply, 'admin', 'this endpoint needs the admin token as "Authorization: Bearer <token>", or sign in on the status page');
      return;
    }
    if (!(await sessions.valid(session))) {
      await unauthorized(reply, 'admin', 'the session cookie is not valid or has expired: sign in again');
      return;
    }
    const problem = STATE_CHANGING.has(request.method) ? crossOriginProblem(request) : undefined;
    if (problem !== undefined) await reply.code(403).send(errorBody('FORBIDDEN', problem));
  };
}

function isJson(contentType: string): boolean {
  const media = contentType.split(';')[0]!.trim().toLowerCase();
  return media === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(media);
}

/**
 * An onRequest hook for JSON endpoints: a state-changing request that declares a body type
 * or carries a body must be JSON (forms and text/plain are what cross-site pages can send).
 */
export async function requireJsonBody(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (!STATE_CHANGING.has(request.method)) return;
  const contentType = request.headers['content-type'];
  const hasBody =
    (request.headers['content-length'] !== undefined && request.headers['content-length'] !== '0') || request.headers['transfer-encoding'] !== undefined;
  if (contentType === undefined ? hasBody : !isJson(contentType)) {
    await reply
      .code(415)
      .send(errorBody('UNSUPPORTED_MEDIA_TYPE', `this endpoint takes a JSON body ("Content-Type: application/json"), not ${contentType ?? 'an untyped body'}`));
  }
}

export function sessionCookie(id: string, options: { maxAgeSeconds: number; secure: boolean }): string {
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${options.maxAgeSeconds}${options.secure ? '; Secure' : ''}`;
}

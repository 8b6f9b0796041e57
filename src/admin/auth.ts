/**
 * Bearer-token authentication for the admin API, the webhook and the status page: no token
 * → 401, wrong token → 403. Browsers get the admin token as an HttpOnly, SameSite=Strict
 * cookie after signing in on the status page, so the page and the queue board can call the
 * API without keeping the token in script-readable storage.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './http-errors.ts';
import { tokenMatches } from './tokens.ts';

export const SESSION_COOKIE = 'mcapflow_admin';

function cookieToken(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === SESSION_COOKIE) return decodeURIComponent(value.join('='));
  }
  return undefined;
}

export function presentedToken(request: FastifyRequest, options: { allowCookie: boolean }): string | undefined {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match?.[1] ?? '';
  }
  return options.allowCookie ? cookieToken(request) : undefined;
}

/** An onRequest hook that lets through only requests carrying `expected`. */
export function requireToken(expected: string, options: { allowCookie: boolean; realm: string }) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const given = presentedToken(request, options);
    if (given === undefined || given === '') {
      await reply
        .code(401)
        .header('www-authenticate', `Bearer realm="${options.realm}"`)
        .send(errorBody('UNAUTHORIZED', `this endpoint needs the ${options.realm} token as "Authorization: Bearer <token>"`));
      return;
    }
    if (!tokenMatches(given, expected)) {
      await reply.code(403).send(errorBody('FORBIDDEN', `the ${options.realm} token is not valid`));
    }
  };
}

export function sessionCookie(token: string): string {
  return `${SESSION_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200`;
}

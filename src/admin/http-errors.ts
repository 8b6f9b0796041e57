/**
 * Every admin API error is JSON `{error: {code, message}}` with a stable code; this maps
 * mcapflow's error codes and Fastify's own errors onto HTTP statuses.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { isMcapflowError, type ErrorCode } from '../errors.ts';

const STATUS: Partial<Record<ErrorCode, number>> = {
  BAD_EVENT: 400,
  BAD_KEY: 400,
  BAD_ARGUMENT: 400,
  QUERY_FAILED: 400,
  QUERY_REFUSED: 400,
  QUERY_TIMEOUT: 400,
  QUERY_TOO_LARGE: 400,
  QUERY_BUSY: 429,
  CONFIG_INVALID: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  MANIFEST_CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  STORAGE_FAILED: 503,
  REDIS_UNAVAILABLE: 503,
};

export function errorBody(code: ErrorCode, message: string): { error: { code: ErrorCode; message: string } } {
  return { error: { code, message } };
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    if (isMcapflowError(error)) {
      if (error.code === 'QUERY_BUSY') void reply.header('retry-after', '1');
      return reply.code(STATUS[error.code] ?? 500).send(errorBody(error.code, error.message));
    }
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send(errorBody('PAYLOAD_TOO_LARGE', error.message));
    if (
      error.validation !== undefined ||
      error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ||
      error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ||
      error.statusCode === 400
    ) {
      return reply.code(400).send(errorBody('BAD_ARGUMENT', error.message));
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500)
      return reply.code(error.statusCode).send(errorBody('BAD_ARGUMENT', error.message));
    return reply.code(500).send(errorBody('INTERNAL', error.message));
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send(errorBody('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)));
}

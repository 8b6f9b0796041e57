/**
 * The admin role on the role's HTTP server: the JSON API under /v1 (admin token), the S3
 * webhook (its own token), the OpenAPI document, the web UI (status, data browser, SQL) and bull-board's queue
 * board. Registered as an encapsulated Fastify plugin so its auth hooks and error format
 * apply to its routes only.
 */
import swagger from '@fastify/swagger';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance } from 'fastify';
import { DLQ_QUEUE, QUEUE_NAMES, type QueueName } from '../queue/jobs.ts';
import { requireAdmin, requireJsonBody, sessionCookie, sessionCookieValue } from './auth.ts';
import { errorBody, installErrorHandling } from './http-errors.ts';
import { backfillRoutes } from './routes/backfills.ts';
import { browseRoutes } from './routes/browse.ts';
import type { AdminContext } from './routes/context.ts';
import { dlqRoutes } from './routes/dlq.ts';
import { eventRoutes } from './routes/events.ts';
import { queryRoutes } from './routes/query.ts';
import { queueRoutes } from './routes/queues.ts';
import { recordingRoutes } from './routes/recordings.ts';
import { similarRoutes } from './routes/similar.ts';
import { AdminSessions } from './sessions.ts';
import { tokenMatches } from './tokens.ts';
import { uiRoutes } from './ui-assets.ts';

export async function adminPlugin(app: FastifyInstance, ctx: AdminContext): Promise<void> {
  installErrorHandling(app);
  await app.register(swagger, {
    openapi: {
      info: { title: 'mcapflow admin API', version: '1', description: 'Backfills, recordings, queues, dead letters, read-only SQL and the S3 event webhook.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  uiRoutes(app);

  const sessions = new AdminSessions(ctx.services.queues.connection, {
    keys: ctx.services.queues.keys,
    adminToken: ctx.tokens.admin,
    ttlSeconds: ctx.services.config.adminSessionSeconds,
  });
  const requireSignedIn = requireAdmin(ctx.tokens.admin, sessions);

  // Signing in on the status page trades the token for an HttpOnly cookie holding a fresh session id.
  await app.register(async (session) => {
    session.addHook('onRequest', requireJsonBody);
    session.post<{ Body: { token: string } }>(
      '/v1/session',
      {
        schema: {
          summary: 'Sign the browser in (sets an HttpOnly session cookie)',
          tags: ['session'],
          body: { type: 'object', required: ['token'], properties: { token: { type: 'string', maxLength: 512 } } },
          security: [],
        },
      },
      async (request, reply) => {
        if (!tokenMatches(request.body.token, ctx.tokens.admin)) return reply.code(403).send(errorBody('FORBIDDEN', 'the admin token is not valid'));
        const id = await sessions.create();
        return reply
          .header('set-cookie', sessionCookie(id, { maxAgeSeconds: sessions.ttlSeconds, secure: request.protocol === 'https' }))
          .send({ signedIn: true, expiresInSeconds: sessions.ttlSeconds });
      },
    );
    session.delete(
      '/v1/session',
      { schema: { summary: 'Sign the browser out (ends its session on the server)', tags: ['session'], security: [] } },
      async (request, reply) => {
        const id = sessionCookieValue(request);
        if (id !== undefined) await sessions.revoke(id);
        return reply.header('set-cookie', sessionCookie('', { maxAgeSeconds: 0, secure: request.protocol === 'https' })).send({ signedIn: false });
      },
    );
  });

  await app.register(async (webhook) => eventRoutes(webhook, ctx));

  await app.register(async (api) => {
    api.addHook('onRequest', requireSignedIn);
    api.addHook('onRequest', requireJsonBody);
    backfillRoutes(api, ctx);
    recordingRoutes(api, ctx);
    similarRoutes(api, ctx);
    browseRoutes(api, ctx);
    queueRoutes(api, ctx);
    dlqRoutes(api, ctx);
    queryRoutes(api, ctx);
  });

  await app.register(async (board) => {
    board.addHook('onRequest', requireSignedIn);
    const serverAdapter = new FastifyAdapter();
    serverAdapter.setBasePath('/queues');
    createBullBoard({
      queues: ([...QUEUE_NAMES, DLQ_QUEUE] as QueueName[]).map(
        (name) => new BullMQAdapter(ctx.services.queues.queue(name), { readOnlyMode: name === DLQ_QUEUE }),
      ),
      serverAdapter,
    });
    await board.register(serverAdapter.registerPlugin(), { prefix: '/queues' });
  });
}

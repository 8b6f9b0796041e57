/**
 * The admin API against hostile requests: ids that name internal Redis keys, malformed
 * cookies, cross-site requests riding on the browser's session cookie, and the session
 * cookie itself (never the admin token; it expires and can be signed out).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/fixtures.ts';
import { startAdmin, TOKENS, type AdminHarness } from '../helpers/admin-harness.ts';

let admin: AdminHarness;

beforeAll(async () => {
  admin = await startAdmin('harden', { MCAPFLOW_ADMIN_SESSION_SECONDS: '2' });
  // A processed recording and a finished backfill, so the keys next to theirs exist in Redis.
  await admin.harness.process(fixture('talker').path);
});

afterAll(async () => {
  await admin?.close();
});

/** A request with exactly these headers (fetch lets a test set Cookie and Origin). */
async function send(method: string, path: string, headers: Record<string, string>, body?: string) {
  const response = await fetch(`${admin.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

async function signIn(): Promise<string> {
  const response = await send('POST', '/v1/session', { 'content-type': 'application/json' }, JSON.stringify({ token: TOKENS.admin }));
  expect(response.status).toBe(200);
  const setCookie = response.headers.get('set-cookie') ?? '';
  const match = /^(mcapflow_admin=[^;]*)/.exec(setCookie);
  expect(match).not.toBeNull();
  return match![1]!;
}

describe('ids that name internal Redis keys', () => {
  it('answers 400 for dead-letter ids that are not <queue>-<job id>, 404 for well-formed unknown ones', async () => {
    for (const id of ['meta', 'events', 'id', 'wait', 'nope-123']) {
      for (const [method, path] of [
        ['POST', `/v1/dlq/${id}/retry`],
        ['DELETE', `/v1/dlq/${id}`],
      ] as const) {
        const answer = await admin.call(method, path, method === 'POST' ? { body: {} } : {});
        expect({ id, method, status: answer.status, code: answer.body.error?.code }).toEqual({ id, method, status: 400, code: 'BAD_ARGUMENT' });
        expect(answer.body.error.message).toMatch(/not a dead-letter entry id/);
      }
    }
    expect((await admin.call('DELETE', '/v1/dlq/index-0123456789abcdef0123456789abcdef-index-0')).status).toBe(404);
  });

  it('answers 400 for backfill ids that are not bf-<16 hex digits>, 404 for well-formed unknown ones', async () => {
    const started = await admin.call('POST', '/v1/backfills', { body: { bucket: 'raw', prefix: '', force: true } });
    expect(started.status).toBe(202);
    const id: string = started.body.id;
    await admin.backfills.settled(id);
    expect((await admin.call('GET', `/v1/backfills/${id}`)).status).toBe(200);
    for (const bad of [`${id}:recordings`, `${id}:lease`, 'bf-zz', 'BF-0000000000000000', `${id}x`]) {
      for (const method of ['GET', 'DELETE'] as const) {
        const answer = await admin.call(method, `/v1/backfills/${encodeURIComponent(bad)}`);
        expect({ bad, method, status: answer.status, code: answer.body.error?.code }).toEqual({ bad, method, status: 400, code: 'BAD_ARGUMENT' });
        expect(answer.body.error.message).toMatch(/not a backfill id/);
      }
    }
    expect((await admin.call('GET', '/v1/backfills/bf-0000000000000000')).status).toBe(404);
  });
});

describe('session cookie', () => {
  it('answers a malformed or made-up cookie like any bad credential', async () => {
    for (const cookie of [
      'mcapflow_admin=%E0%A4%A',
      'mcapflow_admin=%',
      `mcapflow_admin=${TOKENS.admin}`,
      `mcapflow_admin=${encodeURIComponent(TOKENS.admin)}`,
    ]) {
      const answer = await send('GET', '/v1/queues', { cookie });
      expect({ cookie, status: answer.status, code: answer.body.error?.code }).toEqual({ cookie, status: 401, code: 'UNAUTHORIZED' });
    }
    expect((await send('GET', '/queues/', { cookie: 'mcapflow_admin=%E0%A4%A' })).status).toBe(401);
  });

  it('is a session id, not the admin token, and stops working when signed out or expired', async () => {
    const cookie = await signIn();
    const value = cookie.slice('mcapflow_admin='.length);
    expect(value).not.toContain(TOKENS.admin);
    expect(decodeURIComponent(value)).not.toContain(TOKENS.admin);
    expect((await send('GET', '/v1/queues', { cookie })).status).toBe(200);

    // Signing out ends the session on the server, not only in this browser.
    const out = await send('DELETE', '/v1/session', { cookie, origin: admin.url });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    expect((await send('GET', '/v1/queues', { cookie })).status).toBe(401);

    // MCAPFLOW_ADMIN_SESSION_SECONDS=2 here.
    const short = await signIn();
    expect((await send('GET', '/v1/recordings', { cookie: short })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2500));
    expect((await send('GET', '/v1/recordings', { cookie: short })).status).toBe(401);
  });
});

describe('cross-site requests', () => {
  it('refuses a cookie-authenticated state change from a foreign origin, or without an origin', async () => {
    const cookie = await signIn();
    const foreign = await send('POST', '/v1/queues/extract/pause', { cookie, origin: 'http://evil.example', 'content-type': 'text/plain' }, 'x');
    expect(foreign).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN', message: expect.stringMatching(/origin/i) } } });
    const noOrigin = await send('POST', '/v1/queues/extract/pause', { cookie });
    expect(noOrigin.status).toBe(403);
    const board = await send('PUT', '/queues/api/queues/extract/retry/failed', { cookie, origin: 'http://evil.example' });
    expect(board.status).toBe(403);
    expect((await admin.call('GET', '/v1/queues')).body.queues.find((q: { name: string }) => q.name === 'extract').paused).toBe(false);

    // Same origin, the way the status page calls it: allowed.
    const same = await send('POST', '/v1/queues/extract/pause', { cookie, origin: admin.url });
    expect(same).toMatchObject({ status: 200, body: { paused: true } });
    expect((await send('POST', '/v1/queues/extract/resume', { cookie, origin: admin.url })).body).toMatchObject({ paused: false });
    // Reading needs no origin.
    expect((await send('GET', '/v1/dlq', { cookie })).status).toBe(200);
  });

  it('requires JSON bodies on JSON endpoints, whoever sends them', async () => {
    const cookie = await signIn();
    const asText = await send('POST', '/v1/dlq/retry-all', { cookie, origin: admin.url, 'content-type': 'text/plain' }, '{}');
    expect(asText).toMatchObject({ status: 415, body: { error: { code: 'UNSUPPORTED_MEDIA_TYPE' } } });
    const form = await send(
      'POST',
      '/v1/queues/extract/pause',
      { authorization: `Bearer ${TOKENS.admin}`, 'content-type': 'application/x-www-form-urlencoded' },
      'a=b',
    );
    expect(form.status).toBe(415);
    const sessionAsText = await send('POST', '/v1/session', { 'content-type': 'text/plain' }, JSON.stringify({ token: TOKENS.admin }));
    expect(sessionAsText.status).toBe(415);
    expect(sessionAsText.headers.get('set-cookie')).toBeNull();
  });

  it('leaves Bearer-token requests alone, whatever their Origin', async () => {
    const answer = await send('POST', '/v1/queues/extract/pause', { authorization: `Bearer ${TOKENS.admin}`, origin: 'http://elsewhere.example' });
    expect(answer).toMatchObject({ status: 200, body: { paused: true } });
    expect((await admin.call('POST', '/v1/queues/extract/resume')).body).toMatchObject({ paused: false });
    const webhook = await send(
      'POST',
      '/v1/events/s3',
      { authorization: `Bearer ${TOKENS.webhook}`, origin: 'http://minio.example', 'content-type': 'application/json' },
      JSON.stringify({ Records: [] }),
    );
    expect(webhook.status).toBe(200);
  });
});

/**
 * The admin HTTP API against real Redis and s3rver: auth, the webhook, recordings, queues,
 * dead letters, read-only SQL and the OpenAPI document.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordingIdFor } from '../../src/domain/identity.ts';
import { waitForFinal } from '../../src/cli/submit.ts';
import { fixture } from '../helpers/fixtures.ts';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.ts';
import { startAdmin, TOKENS, type AdminHarness } from '../helpers/admin-harness.ts';

let admin: AdminHarness;
let proxy: FaultProxy;
let talkerId: string;

function s3Event(bucket: string, key: string, size: number, etag: string) {
  return {
    Records: [{ eventName: 'ObjectCreated:Put', eventTime: '2026-11-23T10:00:00Z', s3: { bucket: { name: bucket }, object: { key, size, eTag: etag } } }],
  };
}

beforeAll(async () => {
  admin = await startAdmin(
    'admin',
    { MCAPFLOW_JOB_ATTEMPTS: '2', MCAPFLOW_BACKOFF_MS: '20', MCAPFLOW_QUERY_MAX_ROWS: '5' },
    {
      s3Endpoint: async (embedded) => {
        proxy = await startFaultProxy(embedded);
        return proxy.endpoint;
      },
    },
  );
  talkerId = (await admin.harness.process(fixture('talker').path)).recording_id;
});

afterAll(async () => {
  await admin?.close();
  await proxy?.close();
});

describe('authentication', () => {
  it('answers 401 without a token and 403 with a wrong one, as JSON with a stable code', async () => {
    expect(await admin.call('GET', '/v1/queues', { token: null })).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });
    expect(await admin.call('GET', '/v1/queues', { token: 'not-the-token-at-all' })).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
    expect((await admin.call('GET', '/v1/queues')).status).toBe(200);
  });

  it('keeps the webhook and admin tokens apart', async () => {
    expect((await admin.call('GET', '/v1/queues', { token: TOKENS.webhook })).status).toBe(403);
    expect((await admin.call('POST', '/v1/events/s3', { token: TOKENS.admin, body: { Records: [] } })).status).toBe(403);
    expect((await admin.call('POST', '/v1/events/s3', { token: TOKENS.webhook, body: { Records: [] } })).status).toBe(200);
  });

  it('serves the OpenAPI document describing the routes', async () => {
    const { status, body } = await admin.call('GET', '/openapi.json', { token: null });
    expect(status).toBe(200);
    expect(Object.keys(body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/events/s3',
        '/v1/backfills',
        '/v1/backfills/{id}',
        '/v1/recordings',
        '/v1/recordings/{id}',
        '/v1/recordings/{id}/similar',
        '/v1/queues',
        '/v1/dlq',
        '/v1/dlq/{id}/retry',
        '/v1/dlq/retry-all',
        '/v1/query',
      ]),
    );
  });
});

describe('S3 event webhook', () => {
  it('rejects malformed bodies with 400 and the reason', async () => {
    const notJson = await admin.call('POST', '/v1/events/s3', { token: TOKENS.webhook, raw: '{"Records": [' });
    expect(notJson).toMatchObject({ status: 400, body: { error: { code: 'BAD_ARGUMENT' } } });
    const wrongShape = await admin.call('POST', '/v1/events/s3', { token: TOKENS.webhook, body: { Records: [{ eventName: 'ObjectCreated:Put' }] } });
    expect(wrongShape.status).toBe(400);
    expect(wrongShape.body.error).toMatchObject({ code: 'BAD_EVENT', message: expect.stringMatching(/Records\[0\]/) });
    const badKey = await admin.call('POST', '/v1/events/s3', { token: TOKENS.webhook, body: s3Event('raw', '..%2Fetc%2Fpasswd.mcap', 10, '"x"') });
    expect(badKey.body.error.code).toBe('BAD_KEY');
  });

  it('acknowledges and ignores keys that are not recordings', async () => {
    expect((await admin.call('POST', '/v1/events/s3', { token: TOKENS.webhook, body: s3Event('raw', 'notes/readme.txt', 10, '"x"') })).body).toEqual({
      enqueued: 0,
      ignored: 1,
      ignoredRecords: [{ bucket: 'raw', key: 'notes/readme.txt', reason: 'key does not end with .mcap' }],
    });
  });

  it('turns an event into a processed recording', async () => {
    const { store } = admin.harness.services;
    const key = 'webhook/cdr test.mcap';
    await store.put(admin.harness.config.rawBucket, key, readFileSync(fixture('cdr_test').path));
    const info = (await store.head(admin.harness.config.rawBucket, key))!;
    const response = await admin.call('POST', '/v1/events/s3', {
      token: TOKENS.webhook,
      body: s3Event('raw', 'webhook/cdr+test.mcap', info.size, `"${info.etag}"`),
    });
    expect(response.body).toEqual({ enqueued: 1, ignored: 0, ignoredRecords: [] });
    const id = recordingIdFor({ bucket: 'raw', key, size: info.size, etag: info.etag });
    expect((await waitForFinal(admin.harness.services, [id], { timeoutMs: 20_000 })).get(id)?.state).toBe('committed');
  });

  it('refuses bodies over the size limit with 413', async () => {
    const big = { Records: [], padding: 'x'.repeat(2 * 1024 * 1024) };
    expect(await admin.call('POST', '/v1/events/s3', { token: TOKENS.webhook, body: big })).toMatchObject({
      status: 413,
      body: { error: { code: 'PAYLOAD_TOO_LARGE' } },
    });
  });
});

describe('recordings and queues', () => {
  it('lists recordings with status filter and cursor pagination', async () => {
    const all = await admin.call('GET', '/v1/recordings?limit=100');
    expect(all.body.items.map((r: { recordingId: string }) => r.recordingId)).toContain(talkerId);
    const first = await admin.call('GET', '/v1/recordings?status=committed&limit=1');
    expect(first.body.items).toHaveLength(1);
    expect(first.body.next).toEqual(expect.any(String));
    const second = await admin.call('GET', `/v1/recordings?status=committed&limit=1&cursor=${first.body.next}`);
    expect(second.body.items[0].recordingId).not.toBe(first.body.items[0].recordingId);
    expect((await admin.call('GET', '/v1/recordings?status=bogus')).status).toBe(400);
    expect((await admin.call('GET', '/v1/recordings?cursor=garbage')).body.error.code).toBe('BAD_ARGUMENT');
  });

  it('shows one recording with its manifest and per-topic summary', async () => {
    const { status, body } = await admin.call('GET', `/v1/recordings/${talkerId}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ recording_id: talkerId, status: 'committed', reason: null, errors: [] });
    expect(body.topics.find((t: { topic: string }) => t.topic === '/topic')).toMatchObject({ messages: 10, table: 'std_msgs_msg_String' });
    expect(body.manifest.tables.messages.objects.length).toBeGreaterThan(0);
    expect((await admin.call('GET', '/v1/recordings/0123456789abcdef0123456789abcdef')).status).toBe(404);
    expect((await admin.call('GET', '/v1/recordings/not-an-id')).status).toBe(400);
  });

  it('counts jobs per state per queue, and pauses and resumes a queue', async () => {
    const { body } = await admin.call('GET', '/v1/queues');
    const commit = body.queues.find((q: { name: string }) => q.name === 'commit');
    expect(commit.counts.completed).toBeGreaterThanOrEqual(1);
    expect(body.queues.map((q: { name: string }) => q.name)).toEqual(['ingest', 'scan', 'index', 'extract', 'convert', 'commit', 'dlq']);
    expect((await admin.call('POST', '/v1/queues/extract/pause')).body).toEqual({ name: 'extract', paused: true });
    expect((await admin.call('POST', '/v1/queues/extract/resume')).body).toEqual({ name: 'extract', paused: false });
    expect((await admin.call('POST', '/v1/queues/nope/pause')).status).toBe(404);
  });
});

describe('dead letters through the API', () => {
  it('lists, retries and discards entries; the recording shows its errors', async () => {
    const { store } = admin.harness.services;
    const bucket = admin.harness.config.rawBucket;
    proxy.rule = (req) => ((req.url ?? '').includes('/raw/dlqapi/') && /bytes=45-/.test(String(req.headers.range ?? '')) ? 'error500' : 'pass');
    const ids: string[] = [];
    for (const name of ['a', 'b']) {
      const key = `dlqapi/${name}.mcap`;
      await store.put(bucket, key, Buffer.concat([readFileSync(fixture('talker').path)]));
      const info = (await store.head(bucket, key))!;
      ids.push(recordingIdFor({ bucket, key, size: info.size, etag: info.etag }));
    }
    await waitForFinal(admin.harness.services, ids, { timeoutMs: 30_000 });
    const deadline = Date.now() + 30_000;
    let list = await admin.call('GET', '/v1/dlq');
    // Each recording's extract job reads the chunk (index jobs read only the message indexes after it).
    while (list.body.count < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      list = await admin.call('GET', '/v1/dlq');
    }
    expect(list.body.count).toBe(2);
    const recording = await admin.call('GET', `/v1/recordings/${ids[0]}`);
    expect(recording.body.status).toBe('failed');
    expect(recording.body.errors).toHaveLength(1);

    proxy.rule = () => 'pass';
    const entryOfA = list.body.items.find((l: { recordingId: string }) => l.recordingId === ids[0]);
    const retried = await admin.call('POST', `/v1/dlq/${entryOfA.id}/retry`, { body: {} });
    expect(retried.status).toBe(200);
    expect(retried.body.retried).toContain(`${ids[0]}-commit`);
    expect((await waitForFinal(admin.harness.services, [ids[0]!], { timeoutMs: 30_000 })).get(ids[0]!)?.state).toBe('committed');

    const entriesOfB = (await admin.call('GET', '/v1/dlq')).body.items.filter((l: { recordingId: string }) => l.recordingId === ids[1]);
    for (const entry of entriesOfB) expect((await admin.call('DELETE', `/v1/dlq/${entry.id}`)).body).toEqual({ id: entry.id, discarded: true });
    expect((await admin.call('GET', '/v1/dlq')).body.count).toBe(0);
    expect((await admin.call('DELETE', `/v1/dlq/${entriesOfB[0].id}`)).status).toBe(404);
    expect((await admin.call('POST', '/v1/dlq/retry-all', { body: {} })).body).toEqual({ results: [] });
  }, 90_000);
});

describe('read-only SQL', () => {
  const query = (sql: string) => admin.call('POST', '/v1/query', { body: { sql } });

  it('answers SELECT and WITH over the catalog, cut at the row limit', async () => {
    const answer = await query(`SELECT data FROM std_msgs_msg_String WHERE recording_id = '${talkerId}' ORDER BY log_time`);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ columns: ['data'], rows: [0, 1, 2, 3, 4].map((i) => [`Hello, world! ${i}`]), truncated: true });
    const withQuery = await query(
      `WITH t AS (SELECT topic, count(*) AS n FROM messages WHERE recording_id = '${talkerId}' GROUP BY topic) SELECT * FROM t ORDER BY topic`,
    );
    expect(withQuery.body).toMatchObject({
      rows: [
        ['/rosout', 10],
        ['/topic', 10],
      ],
      truncated: false,
    });
  });

  it.each([
    ['COPY', `COPY (SELECT 1) TO '/tmp/mcapflow-escape.csv'`, /SELECT|disabled|Permission/i],
    ['ATTACH', `ATTACH '/tmp/mcapflow-escape.db' AS x`, /SELECT|disabled|Permission/i],
    ['read_csv of a system file', `SELECT * FROM read_csv('/etc/passwd')`, /only the catalog's tables can be read/],
    ['INSTALL', 'INSTALL httpfs', /SELECT|disabled|Permission/i],
    ['multiple statements', 'SELECT 1; SELECT 2', /exactly one SQL statement/],
    ['SET', 'SET enable_external_access = true', /SELECT|locked/i],
  ])('refuses %s with a clear error', async (_name, sql, message) => {
    const answer = await query(sql);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('QUERY_REFUSED');
    expect(answer.body.error.message).toMatch(message);
  });

  it('reports SQL errors as QUERY_FAILED', async () => {
    expect((await query('SELECT * FROM nowhere')).body.error).toMatchObject({ code: 'QUERY_FAILED', message: expect.stringMatching(/nowhere/) });
    expect((await admin.call('POST', '/v1/query', { body: { sql: 'SELECT 1', extra: true } })).status).toBe(400);
  });
});

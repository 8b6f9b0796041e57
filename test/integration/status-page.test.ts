/**
 * The status page in headless Chromium: sign in with the admin token, see the committed
 * recordings, retry a dead-letter entry from its button and watch the recording commit.
 */
import { existsSync, readFileSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordingIdFor } from '../../src/domain/identity.ts';
import { waitForFinal } from '../../src/cli/submit.ts';
import { fixture } from '../helpers/fixtures.ts';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.ts';
import { startAdmin, TOKENS, type AdminHarness } from '../helpers/admin-harness.ts';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`status page test skipped: ${CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)`);

describe.skipIf(!haveChromium)('status page in a browser', () => {
  let admin: AdminHarness;
  let proxy: FaultProxy;
  let browser: Browser;
  let committedId: string;
  let failedId: string;

  beforeAll(async () => {
    admin = await startAdmin(
      'page',
      { MCAPFLOW_JOB_ATTEMPTS: '2', MCAPFLOW_BACKOFF_MS: '20' },
      {
        s3Endpoint: async (embedded) => {
          proxy = await startFaultProxy(embedded);
          return proxy.endpoint;
        },
      },
    );
    committedId = (await admin.harness.process(fixture('talker').path)).recording_id;
    // A second recording whose span reads fail until the fault is lifted: it lands in the DLQ.
    proxy.rule = (req) => ((req.url ?? '').includes('/raw/page/') && /bytes=(45|3010)-/.test(String(req.headers.range ?? '')) ? 'error503' : 'pass');
    const { store } = admin.harness.services;
    await store.put('raw', 'page/failing.mcap', readFileSync(fixture('talker').path));
    const info = (await store.head('raw', 'page/failing.mcap'))!;
    failedId = recordingIdFor({ bucket: 'raw', key: 'page/failing.mcap', size: info.size, etag: info.etag });
    await waitForFinal(admin.harness.services, [failedId], { timeoutMs: 30_000 });
    const deadline = Date.now() + 30_000;
    while ((await admin.harness.services.deadLetters.count()) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await admin?.close();
    await proxy?.close();
  });

  it('shows the committed recordings after signing in, and retrying a dead letter from the page commits its recording', async () => {
    const page = await browser.newPage();
    await page.goto(`${admin.url}/`);
    await page.locator('#signin').waitFor({ state: 'visible' });
    await page.fill('#token', 'definitely-not-the-token');
    await page.click('#signin button');
    await expect.poll(() => page.textContent('#signin-error')).toMatch(/not valid/);
    await page.fill('#token', TOKENS.admin);
    await page.click('#signin button');

    const committedRow = page.locator(`tr[data-recording="${committedId}"]`);
    await committedRow.waitFor();
    expect(await committedRow.textContent()).toMatch(/committed/);
    const failedRow = page.locator(`tr[data-recording="${failedId}"]`);
    await failedRow.waitFor();
    expect(await failedRow.textContent()).toMatch(/failed/);
    expect(await page.locator('#dlq tr[data-dlq]').count()).toBe(2);

    proxy.rule = () => 'pass';
    await page.locator('#dlq button[data-retry]').first().click();
    await expect.poll(async () => failedRow.textContent(), { timeout: 30_000 }).toMatch(/committed/);
    await expect.poll(async () => page.locator('#dlq tr[data-dlq]').count(), { timeout: 10_000 }).toBe(0);

    // The queue board is behind the same sign-in.
    const board = await page.goto(`${admin.url}/queues/`);
    expect(board?.status()).toBe(200);
    await page.close();
  }, 90_000);

  it('keeps the queue board closed without signing in', async () => {
    const page = await browser.newPage();
    const response = await page.goto(`${admin.url}/queues/`);
    expect(response?.status()).toBe(401);
    await page.close();
  });
});

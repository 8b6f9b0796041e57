/**
 * The data browser: its API (recordings filtered and paged, a recording's coverage timeline with
 * gaps and out-of-order stretches, numeric fields, server-side downsampling) against a real
 * pipeline, then the page in headless Chromium on a committed synthetic robot run: the timeline
 * shows every topic, a plot has points and zooms by asking the server again, similar moments are
 * found from a click, and the SQL console answers with a table and a chart. Screenshots go to
 * test/output/browser for a reviewer.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { McapWriter } from '@mcap/core';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateRobotRun } from '../../src/synth/robot-run.ts';
import { startAdmin, TOKENS, type AdminHarness } from '../helpers/admin-harness.ts';
import { cdrEncoder, COUNTER_SCHEMA, MemoryWritable } from '../helpers/mcap-builders.ts';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`data browser page test skipped: ${CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)`);
const SCREENSHOTS = join(import.meta.dirname, '..', 'output', 'browser');
const START = 1_700_000_000_000_000_000n;
const MS = 1_000_000n;

/**
 * /counter at 100 Hz for 2 s with a 300 ms hole at 1 s and two messages written out of log-time
 * order, /status at 10 Hz; one attachment and one metadata record.
 */
async function recordingWithFaults(): Promise<Uint8Array> {
  const writable = new MemoryWritable();
  const writer = new McapWriter({ writable, chunkSize: 4096 });
  await writer.start({ profile: 'ros2', library: 'data-browser-test' });
  const schemaId = await writer.registerSchema({ name: COUNTER_SCHEMA.name, encoding: 'ros2msg', data: new TextEncoder().encode(COUNTER_SCHEMA.text) });
  const counter = await writer.registerChannel({ topic: '/counter', schemaId, messageEncoding: 'cdr', metadata: new Map() });
  const status = await writer.registerChannel({ topic: '/status', schemaId, messageEncoding: 'cdr', metadata: new Map() });
  const encode = cdrEncoder(COUNTER_SCHEMA.text);
  const times: bigint[] = [];
  for (let i = 0; i < 200; i++) if (i < 100 || i >= 130) times.push(START + BigInt(i) * 10n * MS);
  // Two neighbours swapped at 1.5 s: the second is logged earlier than the one written before it.
  const swap = times.findIndex((t) => t === START + 1500n * MS);
  [times[swap], times[swap + 1]] = [times[swap + 1]!, times[swap]!];
  let seq = 0;
  for (const t of times) {
    const i = Number((t - START) / (10n * MS));
    await writer.addMessage({ channelId: counter, sequence: seq++, logTime: t, publishTime: t, data: encode({ count: BigInt(i), value: Math.sin(i / 10) }) });
    if (i % 10 === 0) await writer.addMessage({ channelId: status, sequence: seq++, logTime: t, publishTime: t, data: encode({ count: BigInt(i), value: 1 }) });
  }
  await writer.addAttachment({
    name: 'calibration.yaml',
    logTime: START,
    createTime: START,
    mediaType: 'application/yaml',
    data: new TextEncoder().encode('k: 1\n'),
  });
  await writer.addMetadata({ name: 'robot', metadata: new Map([['serial', 'r-17']]) });
  await writer.end();
  return writable.bytes();
}

describe('data browser', () => {
  let admin: AdminHarness;
  let dir: string;
  let runId: string;
  let faultsId: string;
  let browser: Browser | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcapflow-browser-'));
    admin = await startAdmin('browser');
    const run = join(dir, 'robot-run.mcap');
    await generateRobotRun({ path: run, sizeBytes: 4_000_000, seed: 5, chunkSizeBytes: 256 * 1024 });
    runId = (await admin.harness.process(run, 90_000)).recording_id;
    const faults = join(dir, 'faults.mcap');
    writeFileSync(faults, await recordingWithFaults());
    faultsId = (await admin.harness.process(faults, 60_000)).recording_id;
    if (haveChromium) {
      mkdirSync(SCREENSHOTS, { recursive: true });
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
      });
    }
  }, 180_000);

  afterAll(async () => {
    if (browser) console.info(`data browser screenshots: ${SCREENSHOTS}`);
    await browser?.close();
    await admin?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('API', () => {
    it('lists recordings filtered by topic, schema, text and recorded time, sorted and paged', async () => {
      const all = await admin.call('GET', '/v1/browse/recordings?sort=size&order=asc');
      expect(all.status).toBe(200);
      expect(all.body.items.map((r: any) => r.recording_id)).toEqual([faultsId, runId]);
      const imu = await admin.call('GET', '/v1/browse/recordings?topic=/imu');
      expect(imu.body.items.map((r: any) => r.recording_id)).toEqual([runId]);
      expect(imu.body.items[0]).toMatchObject({ state: 'committed', topics: 5, schemas: expect.arrayContaining(['sensor_msgs/msg/Imu']) });
      expect((await admin.call('GET', '/v1/browse/recordings?schema=counter')).body.items.map((r: any) => r.recording_id)).toEqual([faultsId]);
      expect((await admin.call('GET', '/v1/browse/recordings?q=faults.mcap')).body.total).toBe(1);
      const before = await admin.call('GET', `/v1/browse/recordings?to=${START + 1n}`);
      expect(before.body.items.map((r: any) => r.recording_id)).toEqual([faultsId]);
      const paged = await admin.call('GET', '/v1/browse/recordings?per_page=1&page=2&sort=size&order=asc');
      expect(paged.body).toMatchObject({ total: 2, pages: 2, page: 2, items: [{ recording_id: runId }] });
      const bad = await admin.call('GET', '/v1/browse/recordings?from=yesterday');
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toMatch(/from "yesterday" is neither/);
    });

    it('shows coverage per topic, with the gap and the out-of-order messages where they are', async () => {
      const { status, body } = await admin.call('GET', `/v1/recordings/${faultsId}/timeline?buckets=20`);
      expect(status).toBe(200);
      expect(body.buckets).toBe(20);
      const counter = body.topics.find((t: any) => t.topic === '/counter');
      expect(counter.counts.reduce((a: number, b: number) => a + b, 0)).toBe(170);
      // 1.99 s in 20 buckets of ~100 ms: the hole [1.0 s, 1.3 s) empties buckets 10–12.
      expect(counter.counts.slice(10, 13)).toEqual([0, 0, 0]);
      expect(counter.gaps.count).toBe(1);
      expect(counter.gaps.intervals).toEqual([[(START + 990n * MS).toString(), (START + 1300n * MS).toString()]]);
      expect(counter.out_of_order).toEqual({ count: 1, buckets: [15] });
      expect(body.topics.find((t: any) => t.topic === '/status')).toMatchObject({ messages: 17, gaps: { count: 1 } });
    });

    it('downsamples a series on the server: at most the points asked for, each bucket the envelope of its rows', async () => {
      const fields = await admin.call('GET', `/v1/recordings/${runId}/tables/sensor_msgs_msg_Imu/fields`);
      expect(fields.body).toMatchObject({ time_column: 'log_time', topics: ['/imu'] });
      expect(fields.body.fields).toEqual(expect.arrayContaining(['linear_acceleration.x', 'angular_velocity.z', 'orientation.w']));
      expect(fields.body.fields).not.toContain('log_time');
      const field = 'linear_acceleration.z';
      const coarse = await admin.call('GET', `/v1/recordings/${runId}/series?table=sensor_msgs_msg_Imu&field=${field}&topic=/imu&points=25`);
      expect(coarse.status).toBe(200);
      const exact = await admin.call('POST', '/v1/query', {
        body: { sql: `SELECT count(*), min(linear_acceleration.z), max(linear_acceleration.z) FROM sensor_msgs_msg_Imu WHERE recording_id = '${runId}'` },
      });
      const [rows, min, max] = exact.body.rows[0];
      expect(coarse.body).toMatchObject({ rows, downsampled: true });
      expect(coarse.body.points).toBeLessThanOrEqual(25);
      const s = coarse.body.series[field];
      expect(Math.min(...s.min)).toBe(min);
      expect(Math.max(...s.max)).toBe(max);
      s.mean.forEach((m: number, i: number) => expect(s.min[i] <= m && m <= s.max[i]).toBe(true));
      // Zooming in asks for a range: fewer rows, finer buckets.
      const t0 = BigInt((await admin.call('GET', `/v1/recordings/${runId}`)).body.manifest.start_time);
      const zoomed = await admin.call(
        'GET',
        `/v1/recordings/${runId}/series?table=sensor_msgs_msg_Imu&field=${field}&start=${t0}&end=${t0 + 500n * MS}&points=1000`,
      );
      expect(zoomed.body).toMatchObject({ rows: 100, points: 100, downsampled: false });
      // The window-feature table is placed in time by window_start.
      const windows = await admin.call('GET', `/v1/recordings/${runId}/series?table=imu_windows&field=linear_acceleration_x_mean`);
      expect(windows.body).toMatchObject({ time_column: 'window_start', downsampled: false });
      expect(windows.body.points).toBeGreaterThan(0);
    });

    it('refuses what it cannot plot, naming the problem', async () => {
      const noField = await admin.call('GET', `/v1/recordings/${runId}/series?table=sensor_msgs_msg_Imu&field=nope`);
      expect(noField.status).toBe(400);
      expect(noField.body.error.message).toMatch(/no numeric field "nope".*linear_acceleration\.x/);
      const noTable = await admin.call('GET', `/v1/recordings/${runId}/tables/not_a_table/fields`);
      expect(noTable.status).toBe(404);
      expect(noTable.body.error.message).toMatch(/no table "not_a_table"/);
      const noTime = await admin.call('GET', `/v1/recordings/${runId}/series?table=chunks&field=x`);
      expect(noTime.status).toBe(400);
      expect((await admin.call('GET', `/v1/recordings/${'0'.repeat(32)}/timeline`)).status).toBe(404);
      expect((await admin.call('GET', `/v1/recordings/xyz/timeline`)).status).toBe(400);
      expect((await admin.call('GET', `/v1/recordings/${runId}/timeline`, { token: null })).status).toBe(401);
    });
  });

  describe.skipIf(!haveChromium)('page in Chromium', () => {
    let page: Page;
    const errors: string[] = [];

    beforeAll(async () => {
      page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${admin.url}/`);
      await page.locator('#signin').waitFor({ state: 'visible' });
      await page.fill('#token', TOKENS.admin);
      await page.click('#signin button');
      await page.locator('#view-status').waitFor({ state: 'visible' });
    });

    afterAll(async () => page?.close());

    it('finds the run in the recordings list by topic, and opens its page with every topic on the timeline', async () => {
      await page.goto(`${admin.url}/#/recordings`);
      await page.fill('#browse-form input[name=topic]', '/imu');
      await page.click('#browse-form button');
      await expect.poll(() => page.locator('#browse-table tr[data-browse-recording]').count()).toBe(1);
      await page.screenshot({ path: join(SCREENSHOTS, 'recordings.png'), fullPage: true });
      // Sorting by a column and paging through the list.
      await page.goto(`${admin.url}/#/recordings?per_page=1`);
      await page.click('#browse-table th[data-sort="size"]');
      const first = () => page.locator('#browse-table tr[data-browse-recording]').first().getAttribute('data-browse-recording');
      await expect.poll(first).toBe(runId); // largest first
      await page.click('#browse-table th[data-sort="size"]');
      await expect.poll(first).toBe(faultsId);
      expect(await page.textContent('#browse-pager')).toMatch(/page 1 of 2 · 2 recordings/);
      await page.click('#browse-pager a:has-text("next")');
      await expect.poll(first).toBe(runId);
      await page.fill('#browse-form input[name=topic]', '/imu');
      await page.click('#browse-form button');
      await page.click(`#browse-table tr[data-browse-recording="${runId}"] a`);
      await page.locator('#timeline svg').waitFor();
      const manifest = (await admin.call('GET', `/v1/recordings/${runId}`)).body.manifest;
      const topics = manifest.topics.map((t: any) => t.topic).sort();
      const shown = await page.locator('#timeline g[data-topic]').evaluateAll((gs) => gs.map((g) => g.getAttribute('data-topic')));
      expect(shown.sort()).toEqual(topics);
      for (const topic of topics) expect(await page.locator(`#timeline g[data-topic="${topic}"] rect.cov`).count()).toBeGreaterThan(0);
      expect(await page.locator('#rec-topics tr[data-topic]').count()).toBe(topics.length);
      expect(await page.locator('#rec-tables tr[data-table="sensor_msgs_msg_Imu"]').count()).toBe(1);
    });

    it('draws a plot with points, zooms by asking the server for the range, and finds similar moments from a click', async () => {
      await expect.poll(() => page.locator('#plot').getAttribute('data-points'), { timeout: 20_000 }).not.toBeNull();
      expect(Number(await page.locator('#plot').getAttribute('data-points'))).toBeGreaterThan(100);
      expect(await page.locator('#plot canvas').count()).toBe(1);
      const wholeRows = Number(await page.locator('#plot').getAttribute('data-rows'));
      const over = page.locator('#plot .u-over');
      await over.scrollIntoViewIfNeeded();
      const box = (await over.boundingBox())!;
      const zoom = page.waitForResponse((r) => r.url().includes('/series?') && r.url().includes('start='));
      await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2, { steps: 5 });
      await page.mouse.up();
      expect((await zoom).status()).toBe(200);
      await expect.poll(async () => Number(await page.locator('#plot').getAttribute('data-rows'))).toBeLessThan(wholeRows);

      await expect.poll(() => page.locator('#features-plot').getAttribute('data-points'), { timeout: 20_000 }).not.toBeNull();
      await page.locator('#features-plot .u-over').scrollIntoViewIfNeeded();
      const features = (await page.locator('#features-plot .u-over').boundingBox())!;
      await page.mouse.click(features.x + features.width * 0.5, features.y + features.height / 2);
      await page.locator('#similar li[data-similar]').first().waitFor({ timeout: 20_000 });
      expect(await page.locator('#similar li[data-similar]').count()).toBeGreaterThan(0);
      await page.screenshot({ path: join(SCREENSHOTS, 'recording.png'), fullPage: true });
    }, 60_000);

    it('shows the attachments, metadata, gaps and out-of-order marks of a recording that has them', async () => {
      await page.goto(`${admin.url}/#/recording/${faultsId}`);
      await page.locator('#timeline g[data-topic="/counter"] rect.gap').waitFor();
      expect(await page.locator('#timeline g[data-topic="/counter"] rect.ooo').count()).toBe(1);
      await expect.poll(() => page.textContent('#rec-attachments')).toMatch(/calibration\.yaml.*application\/yaml/);
      await expect.poll(() => page.textContent('#rec-metadata')).toMatch(/robot.*serial = r-17/);
      const href = await page.getAttribute('#extract-link', 'href');
      expect(href).toContain(`v1/recordings/${faultsId}/extract?`);
      // The download link works with the browser's session.
      const download = await page.evaluate(async (url) => (await fetch(url)).status, href!);
      expect(download).toBe(200);
      // Clicking the timeline plots that moment: a series request for a range inside the recording.
      // The page is a new one once its plot is of this recording's table (the last view's is replaced).
      await expect.poll(() => page.textContent('#plot-info')).toMatch(/rows of example_msgs_msg_Counter/);
      const clicked = page.waitForResponse((r) => r.url().includes('/series?') && r.url().includes('start='));
      const timelineRow = page.locator('#timeline g[data-topic="/counter"] rect').first();
      await timelineRow.scrollIntoViewIfNeeded();
      const row = (await timelineRow.boundingBox())!;
      await page.mouse.click(row.x + row.width * 0.75, row.y + row.height / 2);
      const range = new URL((await clicked).url()).searchParams;
      const [from, to] = [BigInt(range.get('start')!), BigInt(range.get('end')!)];
      expect(from < START + 1500n * MS && to > START + 1500n * MS).toBe(true);
      await page.screenshot({ path: join(SCREENSHOTS, 'recording-faults.png'), fullPage: true });
      // A recording that is not there says so on the page.
      await page.goto(`${admin.url}/#/recording/${'0'.repeat(32)}`);
      await expect.poll(() => page.textContent('#error')).toMatch(/NOT_FOUND: no recording 0{32}/);
    }, 60_000);

    it('runs a query in the SQL console and shows a table and a chart', async () => {
      await page.goto(`${admin.url}/#/sql`);
      await page.fill('#sql-text', 'SELECT topic, count(*) AS messages FROM messages GROUP BY topic ORDER BY topic');
      await page.click('#sql-form button');
      await expect.poll(() => page.locator('#sql-result tr').count()).toBeGreaterThan(2);
      expect(await page.textContent('#sql-result')).toContain('/imu');
      expect(Number(await page.locator('#sql-chart').getAttribute('data-points'))).toBeGreaterThan(2);
      expect(await page.locator('#sql-chart').getAttribute('data-kind')).toBe('bars');
      // A time column (nanoseconds, named like a time) makes a chart over time.
      await page.fill(
        '#sql-text',
        `SELECT log_time, linear_acceleration.x AS ax FROM sensor_msgs_msg_Imu WHERE recording_id = '${runId}' ORDER BY log_time LIMIT 120`,
      );
      await page.click('#sql-form button');
      await expect.poll(() => page.locator('#sql-chart').getAttribute('data-points')).toBe('120');
      expect(await page.locator('#sql-chart').getAttribute('data-kind')).toBe('time');
      expect(await page.locator('#sql-chart .u-legend').textContent()).toContain('ax');
      await page.fill('#sql-text', 'SELECT nope FROM messages');
      await page.click('#sql-form button');
      await expect.poll(() => page.textContent('#sql-info')).toMatch(/QUERY_FAILED/);
      await page.screenshot({ path: join(SCREENSHOTS, 'sql.png'), fullPage: true });
      expect(errors).toEqual([]);
    }, 30_000);
  });
});

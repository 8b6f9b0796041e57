/**
 * One small recording with 20,000 channels must not slow down every later query: the
 * catalog tables are built in bulk, not one INSERT per row.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { McapWriter } from '@mcap/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startAdmin, type AdminHarness } from '../helpers/admin-harness.ts';
import { cdrEncoder, MemoryWritable } from '../helpers/mcap-builders.ts';

const CHANNELS = 20_000;
let admin: AdminHarness;
let dir: string;

async function manyChannels(path: string): Promise<void> {
  const encode = cdrEncoder('int32 x\n');
  const writable = new MemoryWritable();
  const writer = new McapWriter({ writable, chunkSize: 1024 * 1024 });
  await writer.start({ profile: 'ros2', library: 'mcapflow-test' });
  const schemaId = await writer.registerSchema({ name: 'pkg/msg/Many', encoding: 'ros2msg', data: new TextEncoder().encode('int32 x\n') });
  let time = 1_700_000_000_000_000_000n;
  for (let i = 0; i < CHANNELS; i++) {
    const channelId = await writer.registerChannel({ topic: `/sensor_${i}`, schemaId, messageEncoding: 'cdr', metadata: new Map() });
    time += 1_000n;
    await writer.addMessage({ channelId, sequence: 0, logTime: time, publishTime: time, data: encode({ x: i }) });
  }
  await writer.end();
  writeFileSync(path, writable.bytes());
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcapflow-many-channels-'));
  admin = await startAdmin('many-channels');
  await manyChannels(join(dir, 'many.mcap'));
  const summary = await admin.harness.process(join(dir, 'many.mcap'), 120_000);
  expect(summary.status).toBe('committed');
}, 180_000);

afterAll(async () => {
  await admin?.close();
  rmSync(dir, { recursive: true, force: true });
});

it('leaves every later query fast', async () => {
  const query = async (sql: string) => admin.call('POST', '/v1/query', { body: { sql } });
  const started = Date.now();
  expect((await query('SELECT 1')).body).toMatchObject({ rows: [[1]] });
  expect((await query(`SELECT count(*), count(DISTINCT topic) FROM topics`)).body).toMatchObject({ rows: [[CHANNELS, CHANNELS]] });
  expect((await query(`SELECT count(*) FROM pkg_msg_Many`)).body).toMatchObject({ rows: [[CHANNELS]] });
  // Before, each query took 31–40 s here: the catalog was rebuilt one INSERT per row.
  expect(Date.now() - started).toBeLessThan(10_000);
}, 120_000);

/**
 * Issue 10, item 6: a recording whose topics use schemas made to hurt the decoder compiler,
 * next to an ordinary topic, goes through the whole pipeline in bounded time. Chains of nested
 * sequences took hours to compile at depth 31: the 16-level chain (the deepest accepted) decodes
 * and can be queried, the 31-level one and the schemas past the other complexity limits are
 * planned undecodable with the limit named, and the ordinary topic commits.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { McapWriter } from '@mcap/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryCatalog } from '../../src/catalog/query-session.ts';
import type { RecordingSummary } from '../../src/cli/summary.ts';
import { doublingSchema, mixedChainMessage, sequenceChainSchema } from '../helpers/deep-schemas.ts';
import { cdrEncoder, COUNTER_SCHEMA, MemoryWritable } from '../helpers/mcap-builders.ts';
import { startHarness, type Harness } from '../helpers/pipeline-harness.ts';

const DEPTH = 16;
const CHAIN = { ...sequenceChainSchema(DEPTH, { mixed: true }), name: 'deep_msgs/msg/Chain' };
const CHAIN_31 = { ...sequenceChainSchema(31), name: 'deep_msgs/msg/Chain31' };
const TOO_DEEP = { ...sequenceChainSchema(200), name: 'deep_msgs/msg/TooDeep' };
const TOO_WIDE = { ...doublingSchema(30, { sequences: true }), name: 'deep_msgs/msg/TooWide' };

interface Topic {
  topic: string;
  schema: { name: string; text: string };
  messages: unknown[];
}

const TOPICS: Topic[] = [
  { topic: '/counter', schema: COUNTER_SCHEMA, messages: Array.from({ length: 20 }, (_, i) => ({ count: BigInt(i), value: i / 4 })) },
  { topic: '/deep/chain', schema: CHAIN, messages: [mixedChainMessage(DEPTH), mixedChainMessage(DEPTH)] },
  { topic: '/deep/chain31', schema: CHAIN_31, messages: [{ c: [] }, { c: [] }, { c: [] }] },
  { topic: '/deep/too_deep', schema: TOO_DEEP, messages: [{ c: [] }, { c: [] }] },
  { topic: '/deep/too_wide', schema: TOO_WIDE, messages: [{ a: [], b: [] }] },
];

let harness: Harness;
let dir: string;
let result: RecordingSummary;
let elapsedMs: number;

async function writeRecording(path: string): Promise<void> {
  const writable = new MemoryWritable();
  const writer = new McapWriter({ writable, chunkSize: 4096 });
  await writer.start({ profile: 'ros2', library: 'mcapflow-test' });
  let time = 1_700_000_000_000_000_000n;
  for (const t of TOPICS) {
    const schemaId = await writer.registerSchema({ name: t.schema.name, encoding: 'ros2msg', data: new TextEncoder().encode(t.schema.text) });
    const channelId = await writer.registerChannel({ topic: t.topic, schemaId, messageEncoding: 'cdr', metadata: new Map() });
    const encode = cdrEncoder(t.schema.text);
    for (const [i, message] of t.messages.entries()) {
      time += 1_000_000n;
      await writer.addMessage({ channelId, sequence: i, logTime: time, publishTime: time, data: encode(message) });
    }
  }
  await writer.end();
  writeFileSync(path, writable.bytes());
}

beforeAll(async () => {
  harness = await startHarness('deep-schema');
  dir = mkdtempSync(join(tmpdir(), 'mcapflow-deep-schema-'));
  const path = join(dir, 'deep.mcap');
  await writeRecording(path);
  const start = performance.now();
  result = await harness.process(path, 60_000);
  elapsedMs = performance.now() - start;
}, 90_000);

afterAll(async () => {
  await harness?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const topicOf = (name: string) => result.topics.find((t) => t.topic === name);

describe('a recording with pathological schemas next to an ordinary topic', () => {
  it('commits in bounded time with the ordinary topic decoded', async () => {
    expect(elapsedMs).toBeLessThan(60_000);
    expect(result).toMatchObject({ status: 'committed', messages: 28 });
    expect(topicOf('/counter')).toMatchObject({ status: 'ok', messages: 20, decode_errors: 0, table: 'example_msgs_msg_Counter' });
    const rows = await queryCatalog(
      { store: harness.services.store, derivedBucket: harness.config.derivedBucket, home: harness.home },
      `SELECT count(*), sum(count) FROM example_msgs_msg_Counter WHERE recording_id = '${result.recording_id}'`,
    );
    expect(rows.rows).toEqual([[20, 190]]);
  });

  it('decodes the 16-level chain of nested sequences down to its deepest value', async () => {
    expect(topicOf('/deep/chain')).toMatchObject({ status: 'ok', messages: 2, decode_errors: 0, table: 'deep_msgs_msg_Chain' });
    const path = Array.from({ length: DEPTH }, () => 'c[1]').join('.');
    const rows = await queryCatalog(
      { store: harness.services.store, derivedBucket: harness.config.derivedBucket, home: harness.home },
      `SELECT tag, v, ${path}.x, ${path}.name FROM deep_msgs_msg_Chain WHERE recording_id = '${result.recording_id}'`,
    );
    expect(rows.rows).toEqual([
      [0, 0.25, -1000 - DEPTH, `leaf ${DEPTH}`],
      [0, 0.25, -1000 - DEPTH, `leaf ${DEPTH}`],
    ]);
  });

  it.each([
    ['/deep/chain31', 3, 'deep_msgs/msg/Chain31', /column c nests 31 lists \(sequences\), more than the limit of 16 nested lists/],
    ['/deep/too_deep', 2, 'deep_msgs/msg/TooDeep', /nested messages deeper than the limit of 32 levels/],
    ['/deep/too_wide', 1, 'deep_msgs/msg/TooWide', /more than the limit of 10000 fields/],
  ])('plans %s undecodable with the limit named, keeping its message count', (topic, messages, schema, limit) => {
    const found = topicOf(topic);
    expect(found).toMatchObject({ status: 'undecodable', messages, table: null });
    expect(found?.reason).toContain(`schema ${schema} is too complex to decode: `);
    expect(found?.reason).toMatch(limit);
  });
});

/**
 * Every real rosbag2 recording goes through upload → event → dispatcher → workers → commit,
 * and what is committed matches rosbag2's own metadata and the decoded values.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryCatalog } from '../../src/catalog/query-session.ts';
import type { RecordingSummary } from '../../src/cli/summary.ts';
import { fixture, fixtures } from '../helpers/fixtures.ts';
import { startHarness, type Harness } from '../helpers/pipeline-harness.ts';

let harness: Harness;
const results = new Map<string, RecordingSummary>();

async function sql(query: string) {
  return queryCatalog({ store: harness.services.store, derivedBucket: harness.config.derivedBucket, home: harness.home }, query);
}

beforeAll(async () => {
  harness = await startHarness('fixtures');
  for (const f of fixtures()) results.set(f.name, await harness.process(f.path));
});

afterAll(async () => {
  await harness?.close();
});

describe('rosbag2 fixtures through the whole pipeline', () => {
  it.each(fixtures().map((f) => [f.name, f]))('%s commits with the per-topic counts of its metadata.yaml', (name, f) => {
    const result = results.get(name)!;
    expect(result.status).toBe('committed');
    expect(result.recovered).toBe(false);
    const counts = new Map(result.topics.map((t) => [t.topic, t.messages]));
    if (f.expected) {
      expect(counts).toEqual(f.expected);
      expect(result.messages).toBe([...f.expected.values()].reduce((a, b) => a + b, 0));
    }
  });

  it('only_topics (no metadata.yaml) commits its 7 parameter events and its empty topics', () => {
    const result = results.get('only_topics')!;
    expect(result.status).toBe('committed');
    expect(Object.fromEntries(result.topics.map((t) => [t.topic, t.messages]))).toEqual({ '/rosout': 0, '/parameter_events': 7, '/events/write_split': 0 });
  });

  it('decodes the talker strings in order', async () => {
    const id = results.get('talker')!.recording_id;
    const { rows } = await sql(`SELECT data FROM std_msgs_msg_String WHERE recording_id = '${id}' ORDER BY log_time`);
    expect(rows.map((r) => r[0])).toEqual(Array.from({ length: 10 }, (_, i) => `Hello, world! ${i}`));
    const log = await sql(`SELECT level, msg, stamp.sec FROM rcl_interfaces_msg_Log WHERE recording_id = '${id}' ORDER BY log_time LIMIT 1`);
    expect(log.rows[0]).toEqual([20, "Publishing: 'Hello, world! 0'", 1585866235]);
  });

  it('decodes every primitive and array type of cdr_test', async () => {
    const id = results.get('cdr_test')!.recording_id;
    const basic = await sql(
      `SELECT int32_value, uint64_value, bool_value FROM test_msgs_msg_BasicTypes WHERE recording_id = '${id}' ORDER BY log_time LIMIT 1`,
    );
    expect(basic.rows[0]).toEqual([123, 0, false]);
    const arrays = await sql(
      `SELECT string_values, int64_values_default, uint64_values_default, defaults_values[1].int8_value, float64_values_default
       FROM test_msgs_msg_Arrays WHERE recording_id = '${id}' ORDER BY log_time LIMIT 1`,
    );
    expect(arrays.rows[0]).toEqual([
      ['Complex Hello1', 'Complex Hello2', 'Complex Hello3'],
      [0, '9223372036854775807', '-9223372036854775808'],
      [0, 1, '18446744073709551615'],
      -50,
      [3.1415, 0, -3.1415],
    ]);
  });

  it('reports wrong_format channels undecodable with a reason while every message is indexed', async () => {
    const result = results.get('wrong_rmw_test')!;
    expect(result.status).toBe('committed');
    for (const topic of result.topics) {
      expect(topic.status).toBe('undecodable');
      expect(topic.table).toBeNull();
      expect(topic.reason).toMatch(/wrong_format/);
    }
    const { rows } = await sql(`SELECT topic, count(*) FROM messages WHERE recording_id = '${result.recording_id}' GROUP BY topic ORDER BY topic`);
    expect(rows).toEqual([
      ['/array_topic', 4],
      ['/test_topic', 3],
    ]);
  });

  it('keeps the old-style type name of test_bag_for_seek as its table name', () => {
    expect(results.get('test_bag_for_seek')!.topics[0]).toMatchObject({ schema: 'test_msgs/BasicTypes', table: 'test_msgs_BasicTypes', messages: 5 });
  });

  it('lists every committed recording and topic in the catalog tables', async () => {
    const recordings = await sql('SELECT count(*), sum(message_count) FROM recordings');
    expect(recordings.rows[0]).toEqual([fixtures().length, [...results.values()].reduce((n, r) => n + r.messages, 0)]);
    const topics = await sql(
      `SELECT topic, message_count, table_name, status FROM topics WHERE recording_id = '${results.get('talker')!.recording_id}' ORDER BY topic`,
    );
    expect(topics.rows).toEqual([
      ['/parameter_events', 0, 'rcl_interfaces_msg_ParameterEvent', 'ok'],
      ['/rosout', 10, 'rcl_interfaces_msg_Log', 'ok'],
      ['/topic', 10, 'std_msgs_msg_String', 'ok'],
    ]);
    expect(fixture('talker').expected!.get('/topic')).toBe(10);
  });

  it('locates every message so it can be fetched again by range', async () => {
    const id = results.get('talker')!.recording_id;
    const { rows } = await sql(`SELECT DISTINCT chunk_offset FROM messages WHERE recording_id = '${id}'`);
    expect(rows).toEqual([[45]]);
  });
});

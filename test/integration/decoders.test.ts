/**
 * One MCAP per encoding family (ROS 2 services and IDL, ROS 1, protobuf, JSON) through the
 * whole pipeline: upload → event → dispatcher → workers → commit, then SQL over the tables.
 * Payloads are written with the reference serializers, not with the code under test.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from '@foxglove/rosmsg';
import { MessageWriter as Ros1Writer } from '@foxglove/rosmsg-serialization';
import { McapWriter } from '@mcap/core';
import { protobufToDescriptor } from '@mcap/support';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryCatalog } from '../../src/catalog/query-session.ts';
import type { RecordingSummary, TopicSummary } from '../../src/cli/summary.ts';
import { cdrEncoder, MemoryWritable } from '../helpers/mcap-builders.ts';
import { startHarness, type Harness } from '../helpers/pipeline-harness.ts';

const SEP = '='.repeat(80);
const utf8 = (s: string) => new TextEncoder().encode(s);

let harness: Harness;
let dir: string;
const results = new Map<string, RecordingSummary>();

interface TopicSpec {
  topic: string;
  schema?: { name: string; encoding: string; data: Uint8Array };
  messageEncoding: string;
  messages: Uint8Array[];
}

/** Writes one recording with the given topics, messages interleaved, 1 ms apart. */
async function writeRecording(name: string, profile: string, topics: TopicSpec[]): Promise<string> {
  const writable = new MemoryWritable();
  const writer = new McapWriter({ writable, chunkSize: 4096 });
  await writer.start({ profile, library: 'mcapflow-test' });
  const channels: number[] = [];
  for (const t of topics) {
    const schemaId = t.schema ? await writer.registerSchema(t.schema) : 0;
    channels.push(await writer.registerChannel({ topic: t.topic, schemaId, messageEncoding: t.messageEncoding, metadata: new Map() }));
  }
  let time = 1_700_000_000_000_000_000n;
  const longest = Math.max(...topics.map((t) => t.messages.length));
  for (let i = 0; i < longest; i++) {
    for (const [k, t] of topics.entries()) {
      const data = t.messages[i];
      if (data === undefined) continue;
      time += 1_000_000n;
      await writer.addMessage({ channelId: channels[k]!, sequence: i, logTime: time, publishTime: time, data });
    }
  }
  await writer.end();
  const path = join(dir, name);
  writeFileSync(path, writable.bytes());
  return path;
}

// --- ROS 2: a rosbag2 service event topic (.srv schema text) and a ros2idl topic ------------

const ADD_TWO_INTS_SRV = [SEP, 'SRV: example_interfaces/srv/AddTwoInts', 'int64 a', 'int64 b', '---', 'int64 sum'].join('\n');
const ADD_TWO_INTS_EVENT = [
  'service_msgs/msg/ServiceEventInfo info',
  'example_interfaces/srv/AddTwoInts_Request[<=1] request',
  'example_interfaces/srv/AddTwoInts_Response[<=1] response',
  SEP,
  'MSG: service_msgs/msg/ServiceEventInfo',
  'uint8 event_type',
  'builtin_interfaces/Time stamp',
  'char[16] client_gid',
  'int64 sequence_number',
  SEP,
  'MSG: example_interfaces/srv/AddTwoInts_Request',
  'int64 a',
  'int64 b',
  SEP,
  'MSG: example_interfaces/srv/AddTwoInts_Response',
  'int64 sum',
].join('\n');

const STATUS_IDL = [
  SEP,
  'IDL: demo_msgs/msg/Status',
  '#include "builtin_interfaces/msg/Time.idl"',
  'module demo_msgs { module msg {',
  '  module Status_Constants { const uint8 OK = 0; };',
  '  struct Status { builtin_interfaces::msg::Time stamp; uint8 level; string<32> name; sequence<double> values; };',
  '}; };',
  SEP,
  'IDL: builtin_interfaces/msg/Time',
  'module builtin_interfaces { module msg { struct Time { int32 sec; uint32 nanosec; }; }; };',
].join('\n');
const STATUS_MSG = 'builtin_interfaces/Time stamp\nuint8 level\nstring name\nfloat64[] values\n';

function ros2Topics(): TopicSpec[] {
  const event = cdrEncoder(ADD_TWO_INTS_EVENT);
  const gid = new Uint8Array(16).fill(7);
  const calls = [
    [2n, 3n],
    [40n, 2n],
    [-5n, 5n],
  ] as const;
  const events = calls.flatMap(([a, b], i) => [
    event({ info: { event_type: 0, stamp: { sec: 10 + i, nanosec: 0 }, client_gid: gid, sequence_number: BigInt(i + 1) }, request: [{ a, b }], response: [] }),
    event({
      info: { event_type: 3, stamp: { sec: 10 + i, nanosec: 500 }, client_gid: gid, sequence_number: BigInt(i + 1) },
      request: [],
      response: [{ sum: a + b }],
    }),
  ]);
  const status = cdrEncoder(STATUS_MSG);
  const statuses = [0, 1, 2, 3, 4].map((i) =>
    status({ stamp: { sec: 100 + i, nanosec: i }, level: i % 3, name: `arm-${i}`, values: Float64Array.from({ length: i }, (_, k) => k / 2) }),
  );
  return [
    {
      topic: '/add_two_ints/_service_event',
      schema: { name: 'example_interfaces/srv/AddTwoInts_Event', encoding: 'ros2msg', data: utf8(ADD_TWO_INTS_SRV) },
      messageEncoding: 'cdr',
      messages: events,
    },
    { topic: '/status', schema: { name: 'demo_msgs/msg/Status', encoding: 'ros2idl', data: utf8(STATUS_IDL) }, messageEncoding: 'cdr', messages: statuses },
  ];
}

// --- ROS 1 ----------------------------------------------------------------------------------

const TEMPERATURE = [
  'Header header',
  'float64 temperature',
  'float64 variance',
  SEP,
  'MSG: std_msgs/Header',
  'uint32 seq',
  'time stamp',
  'string frame_id',
].join('\n');

function ros1Topics(): TopicSpec[] {
  const writer = new Ros1Writer(parse(TEMPERATURE));
  const messages = [0, 1, 2, 3, 4, 5].map((i) =>
    writer.writeMessage({ header: { seq: i, stamp: { sec: 3_000_000_000 + i, nsec: 250 }, frame_id: 'thermo' }, temperature: 20 + i / 4, variance: 0.01 }),
  );
  return [
    { topic: '/temperature', schema: { name: 'sensor_msgs/Temperature', encoding: 'ros1msg', data: utf8(TEMPERATURE) }, messageEncoding: 'ros1', messages },
  ];
}

// --- protobuf -------------------------------------------------------------------------------

const PROTO = `
syntax = "proto3";
package demo;
message Vec { double x = 1; double y = 2; }
message Sample {
  int64 id = 1;
  string label = 2;
  Vec position = 3;
  repeated float weights = 4;
  map<string, int32> counts = 5;
  bytes payload = 6;
}
message Node { string name = 1; repeated Node children = 2; }
`;

function protobufTopics(): TopicSpec[] {
  const root = protobuf.parse(PROTO, { keepCase: true }).root;
  const data = descriptor.FileDescriptorSet.encode(protobufToDescriptor(root)).finish();
  const Sample = root.lookupType('demo.Sample');
  const Node = root.lookupType('demo.Node');
  const samples = [0, 1, 2, 3].map((i) =>
    Sample.encode(
      Sample.fromObject({
        id: String(2n ** 60n + BigInt(i)),
        label: `s${i}`,
        position: { x: i, y: -i },
        weights: [i, i + 0.5],
        counts: { a: i, b: 10 * i },
        payload: new Uint8Array(i === 3 ? 10_000 : 4).fill(i),
      }),
    ).finish(),
  );
  return [
    { topic: '/sample', schema: { name: 'demo.Sample', encoding: 'protobuf', data }, messageEncoding: 'protobuf', messages: samples },
    {
      topic: '/tree',
      schema: { name: 'demo.Node', encoding: 'protobuf', data },
      messageEncoding: 'protobuf',
      messages: [Node.encode(Node.fromObject({ name: 'root' })).finish()],
    },
  ];
}

// --- JSON -----------------------------------------------------------------------------------

const ODOMETRY_SCHEMA = JSON.stringify({
  type: 'object',
  properties: {
    seq: { type: 'integer' },
    speed: { type: 'number' },
    mode: { type: 'string' },
    pose: { type: 'object', properties: { x: { type: 'number' }, y: { type: 'number' } } },
    tags: { type: 'array', items: { type: 'string' } },
  },
});

function jsonTopics(): TopicSpec[] {
  const odometry = [0, 1, 2].map((i) =>
    utf8(JSON.stringify({ seq: i, speed: i * 1.5, mode: i === 1 ? 'auto' : 'manual', pose: { x: i, y: 2 * i }, tags: i === 2 ? ['fast', 'late'] : [] })),
  );
  return [
    { topic: '/odometry', schema: { name: 'demo.Odometry', encoding: 'jsonschema', data: utf8(ODOMETRY_SCHEMA) }, messageEncoding: 'json', messages: odometry },
    {
      topic: '/fb',
      schema: { name: 'demo.Flat', encoding: 'flatbuffer', data: new Uint8Array([1, 2, 3]) },
      messageEncoding: 'flatbuffer',
      messages: [new Uint8Array(8), new Uint8Array(8)],
    },
  ];
}

function schemalessTopics(): TopicSpec[] {
  return [{ topic: '/robot/events', messageEncoding: 'json', messages: [utf8('{"kind":"boot","ok":true}'), utf8('{"kind":"dock","battery":0.5}')] }];
}

async function sql(query: string): Promise<unknown[][]> {
  return (await queryCatalog({ store: harness.services.store, derivedBucket: harness.config.derivedBucket, home: harness.home }, query)).rows;
}

function topic(name: string, topicName: string): TopicSummary {
  const found = results.get(name)!.topics.find((t) => t.topic === topicName);
  if (found === undefined) throw new Error(`no topic ${topicName} in ${name}`);
  return found;
}

beforeAll(async () => {
  harness = await startHarness('decoders');
  dir = mkdtempSync(join(tmpdir(), 'mcapflow-decoders-'));
  const files: [string, string][] = [
    ['ros2', await writeRecording('ros2.mcap', 'ros2', ros2Topics())],
    ['ros1', await writeRecording('ros1.mcap', 'ros1', ros1Topics())],
    ['protobuf', await writeRecording('protobuf.mcap', '', protobufTopics())],
    ['json', await writeRecording('json.mcap', '', jsonTopics())],
    ['schemaless', await writeRecording('schemaless.mcap', '', schemalessTopics())],
  ];
  for (const [name, path] of files) results.set(name, await harness.process(path));
});

afterAll(async () => {
  await harness?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('decoders through the pipeline', () => {
  it('ros2: service events and a ros2idl topic become tables', async () => {
    const result = results.get('ros2')!;
    expect(result).toMatchObject({ status: 'committed', recovered: false, messages: 11 });
    expect(topic('ros2', '/add_two_ints/_service_event')).toMatchObject({
      status: 'ok',
      messages: 6,
      decode_errors: 0,
      table: 'example_interfaces_srv_AddTwoInts_Event',
    });
    expect(topic('ros2', '/status')).toMatchObject({ status: 'ok', messages: 5, decode_errors: 0, table: 'demo_msgs_msg_Status' });

    const events = await sql(
      `SELECT info.event_type, info.sequence_number, request[1].a, request[1].b, response[1].sum, octet_length(info.client_gid)
       FROM example_interfaces_srv_AddTwoInts_Event WHERE recording_id = '${result.recording_id}' ORDER BY log_time`,
    );
    expect(events).toEqual([
      [0, 1, 2, 3, null, 16],
      [3, 1, null, null, 5, 16],
      [0, 2, 40, 2, null, 16],
      [3, 2, null, null, 42, 16],
      [0, 3, -5, 5, null, 16],
      [3, 3, null, null, 0, 16],
    ]);
    const statuses = await sql(
      `SELECT stamp.sec, stamp.nanosec, level, name, len(values) FROM demo_msgs_msg_Status WHERE recording_id = '${result.recording_id}' ORDER BY log_time`,
    );
    expect(statuses).toEqual([0, 1, 2, 3, 4].map((i) => [100 + i, i, i % 3, `arm-${i}`, i]));
  });

  it('ros1: time decodes as {sec, nsec} with seconds past 2^31', async () => {
    const result = results.get('ros1')!;
    expect(result).toMatchObject({ status: 'committed', messages: 6 });
    expect(topic('ros1', '/temperature')).toMatchObject({
      status: 'ok',
      messages: 6,
      decode_errors: 0,
      table: 'sensor_msgs_Temperature',
      message_encoding: 'ros1',
    });
    const rows = await sql(
      `SELECT header.seq, header.stamp.sec, header.stamp.nsec, header.frame_id, temperature FROM sensor_msgs_Temperature WHERE recording_id = '${result.recording_id}' ORDER BY log_time`,
    );
    expect(rows).toEqual([0, 1, 2, 3, 4, 5].map((i) => [i, 3_000_000_000 + i, 250, 'thermo', 20 + i / 4]));
  });

  it('protobuf: fields, maps and large bytes decode; a recursive type is undecodable with a reason', async () => {
    const result = results.get('protobuf')!;
    expect(result).toMatchObject({ status: 'committed', messages: 5 });
    expect(topic('protobuf', '/sample')).toMatchObject({ status: 'ok', messages: 4, decode_errors: 0, table: 'demo_Sample' });
    const tree = topic('protobuf', '/tree');
    expect(tree).toMatchObject({ status: 'undecodable', table: null, messages: 1 });
    expect(tree.reason).toContain('demo.Node is recursive');
    const rows = await sql(
      `SELECT CAST(id AS VARCHAR), label, position.y, weights, list_sort(list_transform(counts, e -> e.key || '=' || e.value)), payload.length, payload.uri IS NULL
       FROM demo_Sample WHERE recording_id = '${result.recording_id}' ORDER BY log_time`,
    );
    expect(rows).toEqual(
      [0, 1, 2, 3].map((i) => [String(2n ** 60n + BigInt(i)), `s${i}`, -i, [i, i + 0.5], [`a=${i}`, `b=${10 * i}`], i === 3 ? 10_000 : 4, i !== 3]),
    );
  });

  it('json: jsonschema topics decode into columns; other encodings are undecodable but indexed', async () => {
    const result = results.get('json')!;
    expect(result).toMatchObject({ status: 'committed', messages: 5 });
    expect(topic('json', '/odometry')).toMatchObject({ status: 'ok', messages: 3, decode_errors: 0, table: 'demo_Odometry' });
    const flat = topic('json', '/fb');
    expect(flat).toMatchObject({ status: 'undecodable', table: null, messages: 2 });
    expect(flat.reason).toContain('schema encoding "flatbuffer" of demo.Flat is not supported');
    const rows = await sql(`SELECT seq, speed, mode, pose.y, tags FROM demo_Odometry WHERE recording_id = '${result.recording_id}' ORDER BY log_time`);
    expect(rows).toEqual([
      [0, 0, 'manual', 0, []],
      [1, 1.5, 'auto', 2, []],
      [2, 3, 'manual', 4, ['fast', 'late']],
    ]);
    const indexed = await sql(`SELECT count(*) FROM messages WHERE recording_id = '${result.recording_id}' AND topic = '/fb'`);
    expect(indexed).toEqual([[2]]);
  });

  it('schemaless json lands in a table named after its topic, one JSON text column', async () => {
    const result = results.get('schemaless')!;
    expect(result).toMatchObject({ status: 'committed', messages: 2 });
    expect(topic('schemaless', '/robot/events')).toMatchObject({ status: 'ok', table: 'json_robot_events', messages: 2, decode_errors: 0 });
    const rows = await sql(`SELECT json->>'kind', json->>'battery' FROM json_robot_events WHERE recording_id = '${result.recording_id}' ORDER BY log_time`);
    expect(rows).toEqual([
      ['boot', null],
      ['dock', '0.5'],
    ]);
  });
});

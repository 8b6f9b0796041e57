/**
 * ROS 2 decoding beyond plain .msg: rosbag2 service event schemas (.srv text), mixed old/new
 * style type names, bounded strings and arrays, wstring, and ros2idl schemas. Payloads are
 * real CDR from @foxglove/rosmsg2-serialization's MessageWriter (or written byte by byte where
 * that writer refuses, as for wstring), decoded through the registry into Arrow tables.
 */
import { parse } from '@foxglove/rosmsg';
import { MessageWriter } from '@foxglove/rosmsg2-serialization';
import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { arrowType } from '../../src/decode/column-plan.ts';
import { classifierFor, decoderFor, type CompiledDecoder } from '../../src/decode/registry.ts';
import { SchemaTableBuilder } from '../../src/decode/table-builder.ts';
import type { ChannelInfo, SchemaInfo } from '../../src/mcap/recording-index.ts';
import { MemoryBlobSink } from '../helpers/decode-helpers.ts';

const THRESHOLD = 64;
const SEP = '='.repeat(80);

function schemaInfo(name: string, text: string, encoding = 'ros2msg'): SchemaInfo {
  return { id: 1, name, encoding, data: Buffer.from(text).toString('base64') };
}

function channel(messageEncoding = 'cdr', topic = '/t'): ChannelInfo {
  return { id: 1, schemaId: 1, topic, messageEncoding, metadata: {} };
}

/** CDR bytes of `message` written with definitions parsed from a plain, well-formed .msg text. */
function writeCdr(messageText: string, message: unknown): Uint8Array {
  const writer = new MessageWriter(parse(messageText, { ros2: true }));
  // MessageWriter hands `output` to CdrWriter, which needs an ArrayBuffer.
  const out = writer.writeMessage(message, new ArrayBuffer(writer.calculateByteSize(message)) as unknown as Uint8Array);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength).slice();
}

function tableOf(decoder: CompiledDecoder, payloads: Uint8Array[]): arrow.Table {
  const builder = new SchemaTableBuilder(decoder.columns, { blobThresholdBytes: THRESHOLD, blobs: new MemoryBlobSink() });
  payloads.forEach((p, i) => builder.append('rec', '/t', BigInt(i), BigInt(i), decoder.decode(p)));
  return builder.finish();
}

function typesOf(decoder: CompiledDecoder): Record<string, string> {
  return Object.fromEntries(decoder.columns.map((c) => [c.plan.name, String(arrowType(c.plan))]));
}

/** Row `i` of column `name` as plain JSON-able values (structs → objects, lists → arrays). */
function cell(table: arrow.Table, name: string, i: number): unknown {
  const value: unknown = table.getChild(name)!.get(i);
  const plain = (v: unknown): unknown => {
    if (v instanceof arrow.Vector) return [...v].map(plain);
    if (v instanceof Uint8Array) return [...v];
    const row = v as { toJSON?: () => object } | null;
    if (row !== null && typeof row === 'object' && typeof row.toJSON === 'function')
      return Object.fromEntries(Object.entries(row.toJSON()).map(([k, x]) => [k, plain(x)]));
    return v;
  };
  return plain(value);
}

// What rosbag2 stores for a service event topic (ros2/rosbag2#2365): the .srv text after an
// `SRV:` header, then the .msg blocks of its dependencies.
const SET_GOAL_SRV = [
  SEP,
  'SRV: demo_srvs/srv/SetGoal',
  '# Ask the robot to drive to a point.',
  'geometry_msgs/Point goal',
  'string<=16 label',
  '---',
  'bool accepted',
  'string message',
  SEP,
  'MSG: geometry_msgs/Point',
  'float64 x',
  'float64 y',
  'float64 z',
].join('\n');

// The message actually on the topic, written out independently as a plain .msg text.
const SET_GOAL_EVENT_MSG = [
  'service_msgs/msg/ServiceEventInfo info',
  'demo_srvs/srv/SetGoal_Request[<=1] request',
  'demo_srvs/srv/SetGoal_Response[<=1] response',
  SEP,
  'MSG: service_msgs/msg/ServiceEventInfo',
  'uint8 REQUEST_SENT=0',
  'uint8 REQUEST_RECEIVED=1',
  'uint8 RESPONSE_SENT=2',
  'uint8 RESPONSE_RECEIVED=3',
  'uint8 event_type',
  'builtin_interfaces/Time stamp',
  'char[16] client_gid',
  'int64 sequence_number',
  SEP,
  'MSG: demo_srvs/srv/SetGoal_Request',
  'geometry_msgs/Point goal',
  'string label',
  SEP,
  'MSG: demo_srvs/srv/SetGoal_Response',
  'bool accepted',
  'string message',
  SEP,
  'MSG: geometry_msgs/Point',
  'float64 x',
  'float64 y',
  'float64 z',
].join('\n');

const GID = Uint8Array.from({ length: 16 }, (_, i) => i * 3);

describe('ros2msg service event schemas (.srv text)', () => {
  const events = [
    {
      info: { event_type: 0, stamp: { sec: 100, nanosec: 5 }, client_gid: GID, sequence_number: 9_007_199_254_740_993n },
      request: [{ goal: { x: 1.5, y: -2, z: 0 }, label: 'dock' }],
      response: [],
    },
    {
      info: { event_type: 3, stamp: { sec: 101, nanosec: 7 }, client_gid: GID, sequence_number: 9_007_199_254_740_993n },
      request: [],
      response: [{ accepted: true, message: 'on my way' }],
    },
  ];

  it('decodes rosbag2 service events as ServiceEventInfo, request[<=1] and response[<=1]', () => {
    const decoder = decoderFor(schemaInfo('demo_srvs/srv/SetGoal_Event', SET_GOAL_SRV), { blobThresholdBytes: THRESHOLD });
    expect(typesOf(decoder)).toEqual({
      info: 'Struct<{event_type:Uint8, stamp:Struct<{sec:Int32, nanosec:Uint32}>, client_gid:Binary, sequence_number:Int64}>',
      request: 'List<Struct<{goal:Struct<{x:Float64, y:Float64, z:Float64}>, label:Utf8}>>',
      response: 'List<Struct<{accepted:Bool, message:Utf8}>>',
    });
    const table = tableOf(
      decoder,
      events.map((e) => writeCdr(SET_GOAL_EVENT_MSG, e)),
    );
    expect(table.numRows).toBe(2);
    expect(cell(table, 'info', 0)).toEqual({ event_type: 0, stamp: { sec: 100, nanosec: 5 }, client_gid: [...GID], sequence_number: 9_007_199_254_740_993n });
    expect(cell(table, 'request', 0)).toEqual([{ goal: { x: 1.5, y: -2, z: 0 }, label: 'dock' }]);
    expect(cell(table, 'response', 0)).toEqual([]);
    expect(cell(table, 'info', 1)).toMatchObject({ event_type: 3, stamp: { sec: 101, nanosec: 7 } });
    expect(cell(table, 'request', 1)).toEqual([]);
    expect(cell(table, 'response', 1)).toEqual([{ accepted: true, message: 'on my way' }]);
  });

  it('accepts a bare .srv text (no SRV: header), naming request and response after the schema', () => {
    const bare = [
      'geometry_msgs/Point goal',
      'string<=16 label',
      '---',
      'bool accepted',
      'string message',
      SEP,
      'MSG: geometry_msgs/msg/Point',
      'float64 x',
      'float64 y',
      'float64 z',
    ].join('\n');
    const decoder = decoderFor(schemaInfo('demo_srvs/srv/SetGoal_Event', bare), { blobThresholdBytes: THRESHOLD });
    const table = tableOf(decoder, [writeCdr(SET_GOAL_EVENT_MSG, events[0])]);
    expect(cell(table, 'request', 0)).toEqual([{ goal: { x: 1.5, y: -2, z: 0 }, label: 'dock' }]);
  });

  it('drops an empty request (std_srvs/Trigger) from the columns but still decodes the response', () => {
    const trigger = [SEP, 'SRV: std_srvs/srv/Trigger', '---', 'bool success', 'string message'].join('\n');
    const eventMsg = [
      'service_msgs/msg/ServiceEventInfo info',
      'std_srvs/srv/Trigger_Request[<=1] request',
      'std_srvs/srv/Trigger_Response[<=1] response',
      SEP,
      'MSG: service_msgs/msg/ServiceEventInfo',
      'uint8 event_type',
      'builtin_interfaces/Time stamp',
      'char[16] client_gid',
      'int64 sequence_number',
      SEP,
      'MSG: std_srvs/srv/Trigger_Request',
      // CDR of an empty message is one placeholder byte; the writer needs it spelled out.
      'uint8 structure_needs_at_least_one_member',
      SEP,
      'MSG: std_srvs/srv/Trigger_Response',
      'bool success',
      'string message',
    ].join('\n');
    const decoder = decoderFor(schemaInfo('std_srvs/srv/Trigger_Event', trigger), { blobThresholdBytes: THRESHOLD });
    expect(decoder.columns.map((c) => c.plan.name)).toEqual(['info', 'response']);
    const payload = writeCdr(eventMsg, {
      info: { event_type: 2, stamp: { sec: 1, nanosec: 2 }, client_gid: GID, sequence_number: 4n },
      request: [{ structure_needs_at_least_one_member: 0 }],
      response: [{ success: true, message: 'done' }],
    });
    const table = tableOf(decoder, [payload]);
    expect(cell(table, 'response', 0)).toEqual([{ success: true, message: 'done' }]);
    expect(cell(table, 'info', 0)).toMatchObject({ event_type: 2, sequence_number: 4n });
  });

  it('refuses action schemas (.action text, two --- lines) with a reason', () => {
    const action = [SEP, 'ACTION: demo/action/Go', 'int32 goal', '---', 'bool ok', '---', 'float32 progress'].join('\n');
    const verdict = classifierFor({ blobThresholdBytes: THRESHOLD })(schemaInfo('demo/action/Go_SendGoal_Event', action), channel());
    expect(verdict.ok).toBe(false);
    expect(!verdict.ok && verdict.reason).toMatch(/demo\/action\/Go_SendGoal_Event could not be parsed: .*action/);
  });
});

describe('ros2msg type names, bounded types and wstring', () => {
  it('resolves field types written without /msg/ against blocks written with it, and bare names by package', () => {
    const mixed = [
      'std_msgs/Header header',
      'Point position',
      SEP,
      'MSG: std_msgs/msg/Header',
      'builtin_interfaces/Time stamp',
      'string frame_id',
      SEP,
      'MSG: geometry_msgs/msg/Point',
      'float64 x',
      'float64 y',
      'float64 z',
    ].join('\n');
    const plain = [
      'std_msgs/Header header',
      'geometry_msgs/Point position',
      SEP,
      'MSG: std_msgs/Header',
      'builtin_interfaces/Time stamp',
      'string frame_id',
      SEP,
      'MSG: geometry_msgs/Point',
      'float64 x',
      'float64 y',
      'float64 z',
    ].join('\n');
    expect(() => parse(mixed, { ros2: true })).toThrow(); // what the library alone does
    const decoder = decoderFor(schemaInfo('geometry_msgs/msg/PointStamped', mixed), { blobThresholdBytes: THRESHOLD });
    const message = { header: { stamp: { sec: 7, nanosec: 8 }, frame_id: 'map' }, position: { x: 1, y: 2, z: 3 } };
    const table = tableOf(decoder, [writeCdr(plain, message)]);
    expect(cell(table, 'header', 0)).toEqual(message.header);
    expect(cell(table, 'position', 0)).toEqual(message.position);
    // The reverse spelling, and a plain `Header`.
    const reverse = [
      'Header header',
      'geometry_msgs/msg/Point position',
      SEP,
      'MSG: std_msgs/msg/Header',
      'builtin_interfaces/Time stamp',
      'string frame_id',
      SEP,
      'MSG: geometry_msgs/Point',
      'float64 x',
      'float64 y',
      'float64 z',
    ].join('\n');
    expect(
      cell(
        tableOf(decoderFor(schemaInfo('geometry_msgs/msg/PointStamped', reverse), { blobThresholdBytes: THRESHOLD }), [writeCdr(plain, message)]),
        'position',
        0,
      ),
    ).toEqual(message.position);
  });

  it('still names the missing type when a referenced definition is absent', () => {
    const verdict = classifierFor({ blobThresholdBytes: THRESHOLD })(schemaInfo('pkg/msg/Robot', 'geometry_msgs/Pose pose\nPoint p\n'), channel());
    expect(verdict.ok).toBe(false);
    expect(!verdict.ok && verdict.reason).toMatch(/pkg\/msg\/Robot could not be parsed: .*geometry_msgs\/Pose/);
  });

  it('plans and decodes bounded strings and bounded arrays like their unbounded forms', () => {
    const text = 'string<=10 name\nint32[<=5] values\nstring<=4[<=3] tags\nuint8[<=8] small_bytes\nfloat64[3] fixed\n';
    const decoder = decoderFor(schemaInfo('demo_msgs/msg/Bounded', text), { blobThresholdBytes: THRESHOLD });
    expect(typesOf(decoder)).toEqual({
      name: 'Utf8',
      values: 'List<Int32>',
      tags: 'List<Utf8>',
      small_bytes: String(arrowType({ kind: 'blob', name: 'x' })),
      fixed: 'List<Float64>',
    });
    const message = {
      name: 'robot-7',
      values: Int32Array.from([1, -2, 3]),
      tags: ['a', 'bc'],
      small_bytes: Uint8Array.from([9, 8, 7]),
      fixed: Float64Array.from([0.5, 1.5, 2.5]),
    };
    const table = tableOf(decoder, [writeCdr(text, message)]);
    expect(cell(table, 'name', 0)).toBe('robot-7');
    expect(cell(table, 'values', 0)).toEqual([1, -2, 3]);
    expect(cell(table, 'tags', 0)).toEqual(['a', 'bc']);
    expect(cell(table, 'small_bytes', 0)).toMatchObject({ inline: [9, 8, 7], length: 3n });
    expect(cell(table, 'fixed', 0)).toEqual([0.5, 1.5, 2.5]);
  });

  it('decodes wstring, wstring arrays and bounded wstrings written as uint32 count + UTF-16 units', () => {
    const text = 'wstring greeting\nwstring[] names\nwstring<=5 short\nint32 after\n';
    const decoder = decoderFor(schemaInfo('demo_msgs/msg/Wide', text), { blobThresholdBytes: THRESHOLD });
    expect(typesOf(decoder)).toEqual({ greeting: 'Utf8', names: 'List<Utf8>', short: 'Utf8', after: 'Int32' });

    // Little-endian CDR written by hand: the reference writer refuses wstring.
    const bytes: number[] = [0x00, 0x01, 0x00, 0x00];
    const align = (n: number) => {
      while ((bytes.length - 4) % n !== 0) bytes.push(0);
    };
    const u32 = (v: number) => {
      align(4);
      bytes.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
    };
    const wstring = (s: string) => {
      u32(s.length); // UTF-16 code units
      for (let i = 0; i < s.length; i++) bytes.push(s.charCodeAt(i) & 0xff, s.charCodeAt(i) >>> 8);
    };
    const greeting = 'Grüße, 日本 🤖';
    wstring(greeting);
    u32(3);
    for (const n of ['é', '', 'Zoë']) wstring(n);
    wstring('hi');
    u32(-42 >>> 0);

    const table = tableOf(decoder, [Uint8Array.from(bytes)]);
    expect(cell(table, 'greeting', 0)).toBe(greeting);
    expect(cell(table, 'names', 0)).toEqual(['é', '', 'Zoë']);
    expect(cell(table, 'short', 0)).toBe('hi');
    expect(cell(table, 'after', 0)).toBe(-42);
  });
});

const IDL_TEXT = [
  SEP,
  'IDL: demo_msgs/msg/Status',
  '// generated from rosidl_adapter/resource/msg.idl.em',
  '#include "builtin_interfaces/msg/Time.idl"',
  '#include "demo_msgs/msg/Inner.idl"',
  '',
  'module demo_msgs {',
  '  module msg {',
  '    module Status_Constants {',
  '      const uint8 OK = 0;',
  '    };',
  '    @verbatim (language="comment", text="A status report.")',
  '    struct Status {',
  '      builtin_interfaces::msg::Time stamp;',
  '      uint8 level;',
  '      string<32> name;',
  '      sequence<double, 4> values;',
  '      demo_msgs::msg::Inner inner;',
  '      int64 counts[2];',
  '    };',
  '  };',
  '};',
  SEP,
  'IDL: builtin_interfaces/msg/Time',
  'module builtin_interfaces { module msg { struct Time { int32 sec; uint32 nanosec; }; }; };',
  SEP,
  'IDL: demo_msgs/msg/Inner',
  'module demo_msgs { module msg { struct Inner { float x; boolean ok; }; }; };',
].join('\n');

// The same message as .msg, for the writer.
const IDL_AS_MSG = [
  'builtin_interfaces/Time stamp',
  'uint8 level',
  'string<=32 name',
  'float64[<=4] values',
  'demo_msgs/Inner inner',
  'int64[2] counts',
  SEP,
  'MSG: demo_msgs/Inner',
  'float32 x',
  'bool ok',
].join('\n');

describe('ros2idl schemas', () => {
  const message = {
    stamp: { sec: 1_700_000_000, nanosec: 250 },
    level: 2,
    name: 'arm',
    values: Float64Array.from([0.25, -1]),
    inner: { x: 1.5, ok: true },
    counts: BigInt64Array.from([-5n, 2n ** 62n]),
  };

  it.each(['demo_msgs/msg/Status', 'demo_msgs::msg::Status'])('decodes the struct named by the schema (%s), skipping constant modules', (name) => {
    const decoder = decoderFor(schemaInfo(name, IDL_TEXT, 'ros2idl'), { blobThresholdBytes: THRESHOLD });
    // builtin Time gets the same column type as in ros2msg tables.
    expect(typesOf(decoder)).toEqual({
      stamp: 'Struct<{sec:Int32, nanosec:Uint32}>',
      level: 'Uint8',
      name: 'Utf8',
      values: 'List<Float64>',
      inner: 'Struct<{x:Float32, ok:Bool}>',
      counts: 'List<Int64>',
    });
    const table = tableOf(decoder, [writeCdr(IDL_AS_MSG, message)]);
    expect(cell(table, 'stamp', 0)).toEqual(message.stamp);
    expect(cell(table, 'name', 0)).toBe('arm');
    expect(cell(table, 'values', 0)).toEqual([0.25, -1]);
    expect(cell(table, 'inner', 0)).toEqual({ x: 1.5, ok: true });
    expect(cell(table, 'counts', 0)).toEqual([-5n, 2n ** 62n]);
  });

  it('says which structs the IDL defines when none is named like the schema', () => {
    const verdict = classifierFor({ blobThresholdBytes: THRESHOLD })(schemaInfo('demo_msgs/msg/Other', IDL_TEXT, 'ros2idl'), channel());
    expect(verdict.ok).toBe(false);
    expect(!verdict.ok && verdict.reason).toContain('no struct named demo_msgs/msg/Other');
    expect(!verdict.ok && verdict.reason).toContain('demo_msgs/msg/Status');
  });
});

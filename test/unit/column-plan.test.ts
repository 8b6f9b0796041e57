import { readFileSync } from 'node:fs';
import { parse } from '@foxglove/rosmsg';
import type { MessageDefinition } from '@foxglove/message-definition';
import * as arrow from 'apache-arrow';
import { beforeAll, describe, expect, it } from 'vitest';
import { arrowType, BLOB_TYPE, planColumns, SchemaPlanError, tableFields, type TopColumn } from '../../src/decode/column-plan.ts';
import { ROS2_SCHEMAS } from '../../src/synth/ros2-schemas.ts';
import { fixture } from '../helpers/fixtures.ts';
import { schemaTexts } from '../helpers/mcap-builders.ts';

const options = { blobThresholdBytes: 4096 };

function columnsOf(schemaText: string, opts = options): TopColumn[] {
  return planColumns(parse(schemaText, { ros2: true }), opts);
}

/** Column name → Arrow type text, e.g. `Int64` or `Struct<{sec:Int32, nanosec:Uint32}>`. */
function typesOf(columns: TopColumn[]): Record<string, string> {
  return Object.fromEntries(columns.map((c) => [c.plan.name, String(arrowType(c.plan))]));
}

let fixtureSchemas: Map<string, string>;

beforeAll(async () => {
  fixtureSchemas = await schemaTexts(readFileSync(fixture('cdr_test').path));
});

describe('planColumns on the cdr_test fixture schemas', () => {
  it('maps every ROS 2 primitive of test_msgs/msg/BasicTypes to the matching Arrow type', () => {
    const types = typesOf(columnsOf(fixtureSchemas.get('test_msgs/msg/BasicTypes')!));
    expect(types).toEqual({
      bool_value: 'Bool',
      byte_value: 'Uint8',
      char_value: 'Uint8',
      float32_value: 'Float32',
      float64_value: 'Float64',
      int8_value: 'Int8',
      uint8_value: 'Uint8',
      int16_value: 'Int16',
      uint16_value: 'Uint16',
      int32_value: 'Int32',
      uint32_value: 'Uint32',
      int64_value: 'Int64',
      uint64_value: 'Uint64',
    });
    // Type ids, not only names: 64-bit integers must not be narrowed to floats.
    const int64 = columnsOf(fixtureSchemas.get('test_msgs/msg/BasicTypes')!).find((c) => c.source === 'uint64_value')!;
    expect(arrow.DataType.isInt(arrowType(int64.plan))).toBe(true);
    expect((arrowType(int64.plan) as arrow.Int).bitWidth).toBe(64);
    expect((arrowType(int64.plan) as arrow.Int).isSigned).toBe(false);
  });

  it('turns arrays into lists, small fixed byte arrays into binary, and drops constants-only messages', () => {
    const columns = columnsOf(fixtureSchemas.get('test_msgs/msg/Arrays')!);
    const types = typesOf(columns);
    expect(types.float64_values).toBe('List<Float64>');
    expect(types.int64_values).toBe('List<Int64>');
    expect(types.string_values).toBe('List<Utf8>');
    expect(types.bool_values).toBe('List<Bool>');
    // uint8[3], byte[3], char[3]: at most 3 bytes, kept inline.
    expect(types.uint8_values).toBe('Binary');
    expect(types.byte_values).toBe('Binary');
    expect(types.char_values).toBe('Binary');
    // Nested messages become lists of structs.
    expect(types.basic_types_values).toMatch(/^List<Struct<\{bool_value:Bool, .*uint64_value:Uint64\}>>$/);
    // test_msgs/Constants has only constants: a struct without children cannot be stored.
    expect(columns.map((c) => c.source)).not.toContain('constants_values');
    expect(columns.map((c) => c.source)).toContain('defaults_values');
    expect(types.alignment_check).toBe('Int32');
  });

  it('keeps column order as declared in the message', () => {
    const columns = columnsOf(fixtureSchemas.get('test_msgs/msg/Arrays')!);
    expect(columns.slice(0, 3).map((c) => c.source)).toEqual(['bool_values', 'byte_values', 'char_values']);
    expect(columns.at(-1)!.source).toBe('alignment_check');
  });
});

describe('planColumns on generated schemas', () => {
  it('maps builtin time to Struct<sec: Int32, nanosec: Uint32> and unbounded uint8[] to a blob reference', () => {
    const columns = columnsOf(ROS2_SCHEMAS['sensor_msgs/msg/CompressedImage']);
    const header = columns.find((c) => c.source === 'header')!;
    const headerType = arrowType(header.plan) as arrow.Struct;
    const stamp = headerType.children.find((f) => f.name === 'stamp')!;
    expect(String(stamp.type)).toBe('Struct<{sec:Int32, nanosec:Uint32}>');
    const data = columns.find((c) => c.source === 'data')!;
    expect(data.plan.kind).toBe('blob');
    expect(arrowType(data.plan)).toBe(BLOB_TYPE);
    expect(BLOB_TYPE.children.map((f) => f.name)).toEqual(['inline', 'uri', 'offset', 'length', 'sha256', 'chunk_offset']);
  });

  it('plans nested message arrays (PointCloud2 fields) as lists of structs', () => {
    const types = typesOf(columnsOf(ROS2_SCHEMAS['sensor_msgs/msg/PointCloud2']));
    expect(types.fields).toMatch(/^List<Struct<\{name:Utf8, offset:Uint32, datatype:Uint8, count:Uint32\}>>$/);
    expect(types.data).toBe(String(BLOB_TYPE));
    expect(types.is_bigendian).toBe('Bool');
  });

  it('blobs a fixed byte array longer than the threshold, keeps one within it inline', () => {
    const text = 'uint8[16] digest\nuint8[8192] page\n';
    expect(typesOf(columnsOf(text)).digest).toBe('Binary');
    expect(columnsOf(text).find((c) => c.source === 'page')!.plan.kind).toBe('blob');
    expect(columnsOf(text, { blobThresholdBytes: 8 }).find((c) => c.source === 'digest')!.plan.kind).toBe('blob');
  });

  it('skips constants', () => {
    const columns = columnsOf('uint8 DEBUG=10\nuint8 INFO=20\nuint8 level\nstring name\n');
    expect(columns.map((c) => c.source)).toEqual(['level', 'name']);
  });

  it('renames fields that clash with the fixed columns, keeping the source field name', () => {
    const columns = columnsOf('string topic\nint64 log_time\nint64 publish_time\nstring recording_id\nfloat64 value\n');
    expect(columns.map((c) => [c.source, c.plan.name])).toEqual([
      ['topic', 'topic_'],
      ['log_time', 'log_time_'],
      ['publish_time', 'publish_time_'],
      ['recording_id', 'recording_id_'],
      ['value', 'value'],
    ]);
  });

  it('keeps renamed columns unique when the suffixed name is also a field', () => {
    // ROS 2 forbids a trailing underscore, but other schema languages allow it.
    const definitions: MessageDefinition[] = [
      {
        definitions: [
          { name: 'topic', type: 'string', isComplex: false },
          { name: 'topic_', type: 'string', isComplex: false },
          { name: 'log_time', type: 'int64', isComplex: false },
        ],
      },
    ];
    const columns = planColumns(definitions, options);
    expect(columns.map((c) => c.source)).toEqual(['topic', 'topic_', 'log_time']);
    const names = tableFields(columns).map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.slice(0, 4)).toEqual(['recording_id', 'topic', 'log_time', 'publish_time']);
  });

  it('does not rename nested fields (they live inside a struct)', () => {
    const columns = columnsOf('pkg/Meta meta\n================================================================================\nMSG: pkg/Meta\nstring topic\n');
    const meta = arrowType(columns[0]!.plan) as arrow.Struct;
    expect(meta.children.map((f) => f.name)).toEqual(['topic']);
  });
});

describe('tableFields', () => {
  it('starts every table with recording_id, topic, log_time, publish_time, non-nullable', () => {
    const fields = tableFields(columnsOf('float64 x\n'));
    expect(fields.map((f) => [f.name, String(f.type), f.nullable])).toEqual([
      ['recording_id', 'Utf8', false],
      ['topic', 'Utf8', false],
      ['log_time', 'Int64', false],
      ['publish_time', 'Int64', false],
      ['x', 'Float64', true],
    ]);
  });
});

describe('planColumns errors', () => {
  it('throws SchemaPlanError for a complex type the schema does not define', () => {
    const definitions: MessageDefinition[] = [
      { name: 'pkg/msg/Robot', definitions: [{ name: 'pose', type: 'geometry_msgs/Pose', isComplex: true, isArray: false }] },
    ];
    expect(() => planColumns(definitions, options)).toThrow(SchemaPlanError);
    expect(() => planColumns(definitions, options)).toThrow(/pose.*geometry_msgs\/Pose/);
  });

  it('throws SchemaPlanError for an unknown primitive', () => {
    const definitions: MessageDefinition[] = [{ definitions: [{ name: 'v', type: 'float128', isComplex: false }] }];
    expect(() => planColumns(definitions, options)).toThrow(SchemaPlanError);
  });

  it('throws SchemaPlanError for a recursive definition instead of overflowing the stack', () => {
    const definitions: MessageDefinition[] = [
      {
        name: 'pkg/Node',
        definitions: [
          { name: 'value', type: 'int32', isComplex: false },
          { name: 'next', type: 'pkg/Node', isComplex: true, isArray: false },
        ],
      },
    ];
    expect(() => planColumns(definitions, options)).toThrow(SchemaPlanError);
  });

  it('throws SchemaPlanError when there is no message at all', () => {
    expect(() => planColumns([], options)).toThrow(SchemaPlanError);
  });
});

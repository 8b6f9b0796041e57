import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/errors.ts';
import { validateObjectKey } from '../../src/domain/object-keys.ts';
import { CATALOG_TABLES, tableNameForSchema } from '../../src/domain/table-names.ts';

describe('tableNameForSchema', () => {
  it('turns every non-alphanumeric character into _', () => {
    expect(tableNameForSchema('sensor_msgs/msg/Imu')).toBe('sensor_msgs_msg_Imu');
    expect(tableNameForSchema('test_msgs/BasicTypes')).toBe('test_msgs_BasicTypes');
    expect(tableNameForSchema('foxglove.PointCloud')).toBe('foxglove_PointCloud');
    expect(tableNameForSchema('pkg/msg/Naïve')).toBe('pkg_msg_Na_ve');
  });

  it('never yields a name SQL would need to quote: no leading digit, never empty', () => {
    expect(tableNameForSchema('3d_msgs/msg/Box')).toBe('t_3d_msgs_msg_Box');
    expect(tableNameForSchema('')).toBe('schema_');
    for (const name of ['', '9', '/', 'a b', 'x-y/z.w', '0/0']) expect(tableNameForSchema(name)).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
  });

  it('never takes the name of a catalog table', () => {
    for (const table of CATALOG_TABLES) {
      expect(tableNameForSchema(table)).not.toBe(table);
      expect(tableNameForSchema(table)).toBe(`${table}_schema`);
    }
    expect(tableNameForSchema('my/messages')).toBe('my_messages');
  });
});

function badKey(key: string): string {
  try {
    validateObjectKey(key);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).code).toBe('BAD_KEY');
    return (error as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(key)} to be rejected`);
}

describe('validateObjectKey', () => {
  it.each([
    ['', 'empty'],
    ['/abs/run.mcap', 'absolute'],
    ['a/../b', '".."'],
    ['../escape.mcap', '".."'],
    ['./x', '"."'],
    ['runs/./x.mcap', '"."'],
    ['runs/\u0000x.mcap', 'control'],
    ['runs/x\n.mcap', 'control'],
    ['runs/x\u007f.mcap', 'control'],
    ['runs\\..\\x.mcap', 'backslash'],
  ])('rejects %j (%s)', (key, why) => {
    expect(badKey(key)).toContain(why);
  });

  it('rejects keys over 1024 bytes, counting UTF-8 bytes rather than characters', () => {
    expect(badKey('a'.repeat(1025))).toContain('1024 bytes');
    // 400 characters, 1200 bytes.
    expect(badKey('€'.repeat(400))).toContain('1024 bytes');
    expect(validateObjectKey('a'.repeat(1024))).toBe('a'.repeat(1024));
  });

  it('accepts ordinary keys, including spaces, unicode, dots inside names and colons', () => {
    for (const key of [
      'runs/2026-01-15/robot 7.mcap',
      'runs/Straße/ロボット.mcap',
      'runs/v1.2..3/x.mcap',
      'runs/..hidden.mcap',
      'a:b/12:00:00.mcap',
      'run+1%2B.mcap',
    ]) {
      expect(validateObjectKey(key)).toBe(key);
    }
  });

  it('accepts empty segments, which are legal S3 keys', () => {
    expect(validateObjectKey('runs//a.mcap')).toBe('runs//a.mcap');
  });
});

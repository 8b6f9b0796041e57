import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/domain/hash.ts';
import { queryableTableNames, tableNameForSchema, TABLE_NAME_PATTERN } from '../../src/domain/table-names.ts';

const suffixed = (name: string) => `${name}_${sha256Hex(name).slice(0, 8)}`;

describe('tableNameForSchema, ignoring case as SQL does', () => {
  it('keeps a schema off the catalog tables in any case', () => {
    for (const name of ['Recordings', 'TOPICS', 'Messages', 'Attachments', 'metaData']) expect(tableNameForSchema(name)).toBe(`${name}_schema`);
    expect(tableNameForSchema('sensor_msgs/msg/Imu')).toBe('sensor_msgs_msg_Imu');
    expect(tableNameForSchema('pkg/Recordings')).toBe('pkg_Recordings');
  });

  it('always gives a name that the catalog accepts', () => {
    for (const name of ['', '9', '/', 'a b', 'x-y/z.w', '0/0', 'Topics', 'x'.repeat(200)]) expect(tableNameForSchema(name)).toMatch(TABLE_NAME_PATTERN);
  });
});

describe('queryableTableNames', () => {
  const names = (tables: [string, number | undefined][]) =>
    Object.fromEntries(queryableTableNames(tables.map(([name, firstCommittedMs]) => ({ name, firstCommittedMs }))));

  it('keeps names that are unique ignoring case', () => {
    expect(
      names([
        ['messages', 1],
        ['attachments', 1],
        ['metadata', 1],
        ['sensor_msgs_msg_Imu', 1],
        ['std_msgs_msg_String', 2],
      ]),
    ).toEqual({
      messages: 'messages',
      attachments: 'attachments',
      metadata: 'metadata',
      sensor_msgs_msg_Imu: 'sensor_msgs_msg_Imu',
      std_msgs_msg_String: 'std_msgs_msg_String',
    });
  });

  it('gives the first committed spelling the name and every later one a suffix from its own hash', () => {
    expect(
      names([
        ['pkg_foo', 5],
        ['pkg_Foo', 3],
        ['PKG_FOO', 9],
      ]),
    ).toEqual({ pkg_Foo: 'pkg_Foo', pkg_foo: suffixed('pkg_foo'), PKG_FOO: suffixed('PKG_FOO') });
    // committed together (one recording): code-point order decides
    expect(
      names([
        ['pkg_foo', 3],
        ['pkg_Foo', 3],
      ]),
    ).toEqual({ pkg_Foo: 'pkg_Foo', pkg_foo: suffixed('pkg_foo') });
    // unknown commit times sort last
    expect(
      names([
        ['pkg_Foo', undefined],
        ['pkg_foo', 3],
      ]),
    ).toEqual({ pkg_foo: 'pkg_foo', pkg_Foo: suffixed('pkg_Foo') });
  });

  it('does not depend on the order the manifests were listed in', () => {
    const tables: [string, number][] = [
      ['a_B', 2],
      ['a_b', 1],
      ['A_B', 2],
      ['x', 1],
      ['Topics', 4],
      ['Topics_schema', 7],
    ];
    const forward = names(tables);
    expect(names([...tables].reverse())).toEqual(forward);
  });

  it('moves schema tables committed under a catalog name (before they were reserved) beside today’s name for them', () => {
    expect(
      names([
        ['messages', 1],
        ['Messages', 1],
        ['recordings', 2],
        ['Topics_schema', 3],
        ['Topics', 5],
      ]),
    ).toEqual({
      messages: 'messages',
      Messages: 'Messages_schema',
      recordings: 'recordings_schema',
      Topics: 'Topics_schema',
      Topics_schema: 'Topics_schema',
    });
  });

  it('never lets a suffixed name meet a real one, in any case', () => {
    const clash = suffixed('pkg_foo');
    const result = names([
      ['pkg_Foo', 1],
      ['pkg_foo', 2],
      [clash.toUpperCase(), 3],
    ]);
    expect(result.pkg_foo).toBe(`pkg_foo_${sha256Hex('pkg_foo').slice(0, 16)}`);
    const folded = Object.values(result).map((n) => n.toLowerCase());
    expect(new Set(folded).size).toBe(folded.length);
    expect(folded).not.toContain('recordings');
    expect(folded).not.toContain('topics');
  });
});

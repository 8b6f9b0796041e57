import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { BUILTIN_OPERATORS } from '../../src/operators/builtin/index.ts';
import { OperatorRegistry, operatorId } from '../../src/operators/registry.ts';
import type { TableOperator } from '../../src/sdk/operator.ts';

const schema = new arrow.Schema([new arrow.Field('recording_id', new arrow.Utf8(), false)]);

function tableOperator(name: string, reads: string[], writes: string, version = '1'): TableOperator {
  return { name, version, inputs: { kind: 'tables', tables: reads }, outputs: [{ name: writes, schema }], transform: () => ({}) };
}

describe('OperatorRegistry', () => {
  it('holds the built-ins and reserves their tables for schema tables', () => {
    const registry = new OperatorRegistry(BUILTIN_OPERATORS);
    expect(registry.all().map(operatorId)).toContain('messages@2');
    expect([...registry.reservedTableNames()]).toEqual(
      expect.arrayContaining(['recordings', 'topics', 'messages', 'chunks', 'imu_windows', 'odometry_events']),
    );
  });

  it('orders table operators in waves by the tables they read', () => {
    const registry = new OperatorRegistry([...BUILTIN_OPERATORS, tableOperator('b', ['a_out'], 'b_out'), tableOperator('a', ['sensor_msgs_msg_Imu'], 'a_out')]);
    const waves = registry.recordingOperatorWaves().map((w) => w.map((o) => o.name).sort());
    expect(waves.findIndex((w) => w.includes('a'))).toBeLessThan(waves.findIndex((w) => w.includes('b')));
  });

  it.each([
    ['a cycle', [tableOperator('a', ['b_out'], 'a_out'), tableOperator('b', ['a_out'], 'b_out')], /read each other's tables in a cycle/],
    ['two writers of a table', [tableOperator('a', [], 'same'), tableOperator('b', [], 'same')], /table same is written by both a and b/],
    ['a duplicate name', [tableOperator('a', [], 'x'), tableOperator('a', [], 'y')], /2 operators are named a/],
    ['a bad name', [tableOperator('Bad Name', [], 'x')], /name must be lowercase/],
    ['a bad version', [tableOperator('a', [], 'x', '')], /version must be/],
    ['a catalog table', [tableOperator('a', [], 'Recordings')], /output table Recordings is the catalog's own/],
  ])('refuses %s, naming it', (_what, operators, reason) => {
    expect(() => new OperatorRegistry([...BUILTIN_OPERATORS, ...operators])).toThrow(reason);
  });

  it('resolves the operators a job names, and refuses versions this worker does not have', () => {
    const registry = new OperatorRegistry(BUILTIN_OPERATORS);
    expect(registry.resolve(['messages@2']).map((o) => o.name)).toEqual(['messages']);
    expect(() => registry.resolve(['messages@9', 'nope@1'])).toThrow(/cannot run operator\(s\) messages@9 \(this worker has messages@2\), nope@1/);
  });
});

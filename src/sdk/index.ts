/**
 * mcapflow's public SDK for operators (`import { defineOperator, arrow } from 'mcapflow/sdk'`).
 * An operator module exports one operator or an array of them (default or named exports);
 * name it in MCAPFLOW_OPERATORS and every role loads it. See docs/operators.md.
 *
 * Build tables with the `arrow` exported here: it is the Apache Arrow instance mcapflow
 * itself uses, so tables pass between your code and the engine without copies or surprises.
 */
import * as arrow from 'apache-arrow';
import type { AttachmentOperator, MessageOperator, Operator, RecordOperator, TableOperator } from './operator.ts';

export { arrow };
export type * from './operator.ts';

/**
 * Types an operator definition where it is written: its `inputs.kind` decides what `transform`
 * is handed (the engine checks everything else when the registry loads it).
 */
export function defineOperator(operator: MessageOperator): MessageOperator;
export function defineOperator(operator: TableOperator): TableOperator;
export function defineOperator(operator: AttachmentOperator): AttachmentOperator;
export function defineOperator(operator: RecordOperator): RecordOperator;
export function defineOperator(operator: Operator): Operator {
  return operator;
}

/** The schema of a table whose rows belong to a recording and a topic at a log time: those columns first. */
export function recordingTableSchema(fields: arrow.Field[]): arrow.Schema {
  return new arrow.Schema([
    new arrow.Field('recording_id', new arrow.Utf8(), false),
    new arrow.Field('topic', new arrow.Utf8(), false),
    new arrow.Field('log_time', new arrow.Int64(), false),
    ...fields,
  ]);
}

/**
 * mcapflow's public SDK for operators (`import { defineOperator, arrow } from 'mcapflow/sdk'`).
 * An operator module exports one operator or an array of them (default or named exports);
 * name it in MCAPFLOW_OPERATORS and every role loads it. See docs/operators.md.
 *
 * Build tables with the `arrow` exported here: it is the Apache Arrow instance mcapflow
 * itself uses, so tables pass between your code and the engine without copies or surprises.
 */
import * as arrow from 'apache-arrow';
import type { MessageOperator, Operator, OperatorParams, TableOperator } from './operator.ts';

export { arrow };
export type * from './operator.ts';

/** Checks an operator definition where it is written, so a mistake names the operator at load time. */
export function defineOperator<P extends OperatorParams, O extends MessageOperator<P> | TableOperator<P>>(operator: O): O;
export function defineOperator<O extends Operator>(operator: O): O;
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

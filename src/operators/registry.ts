/**
 * The operator registry: the built-ins and the user's operators, checked once. Everything that
 * depends on which operators exist is derived from here — the work of a recording's flow, the
 * tables a recording gets and the operator that makes each, the content-address identity of
 * every operator, what a backfill has to recompute, and the `operators` listing and docs.
 */
import { canonicalJson } from '../domain/canonical-json.ts';
import { sha256Hex } from '../domain/hash.ts';
import { TABLE_NAME_PATTERN } from '../domain/table-names.ts';
import { ConfigError, McapflowError } from '../errors.ts';
import type { AttachmentOperator, MessageOperator, Operator, RecordOperator, RecordingInfo, TableOperator, TableSpec } from '../sdk/operator.ts';

export type SpanOperator = RecordOperator | MessageOperator;
export type RecordingOperator = TableOperator | AttachmentOperator;

const NAME = /^[a-z][a-z0-9_-]{0,62}$/;
const VERSION = /^[A-Za-z0-9._-]{1,32}$/;

/** Tables the catalog builds itself from the manifests: no operator may write them. */
export const CATALOG_OWN_TABLES = ['recordings', 'topics'] as const;

/** `name@version`, the operator's identity in content addresses and manifests (params apart). */
export function operatorId(operator: Operator): string {
  return `${operator.name}@${operator.version}`;
}

/** A short hash of an operator's parameters: outputs made with other parameters live elsewhere. */
export function paramsDigest(operator: Operator): string {
  return sha256Hex(canonicalJson(operator.params ?? {})).slice(0, 16);
}

export function isSpanOperator(operator: Operator): operator is SpanOperator {
  return operator.inputs.kind === 'records' || operator.inputs.kind === 'messages';
}

/** Static outputs, or undefined when they depend on the recording (the schema tables). */
function staticOutputs(operator: Operator): readonly TableSpec[] | undefined {
  return typeof operator.outputs === 'function' ? undefined : operator.outputs;
}

function problemsOf(operator: Operator): string[] {
  const problems: string[] = [];
  const who = `operator ${JSON.stringify(operator.name)}`;
  if (typeof operator.name !== 'string' || !NAME.test(operator.name))
    problems.push(`${who}: name must be lowercase letters, digits, _ or -, starting with a letter`);
  if (typeof operator.version !== 'string' || !VERSION.test(operator.version)) problems.push(`${who}: version must be 1–32 letters, digits, . _ or -`);
  if (!['records', 'messages', 'tables', 'attachments'].includes(operator.inputs?.kind))
    problems.push(`${who}: inputs.kind must be records, messages, tables or attachments`);
  if (typeof (operator as { transform?: unknown }).transform !== 'function' && typeof (operator as { open?: unknown }).open !== 'function') {
    problems.push(`${who}: needs a transform(batch, ctx) function`);
  }
  for (const spec of staticOutputs(operator) ?? []) {
    if (!TABLE_NAME_PATTERN.test(spec.name)) problems.push(`${who}: output table ${JSON.stringify(spec.name)} is not a valid table name`);
    if ((CATALOG_OWN_TABLES as readonly string[]).includes(spec.name.toLowerCase())) problems.push(`${who}: output table ${spec.name} is the catalog's own`);
  }
  return problems;
}

export class OperatorRegistry {
  readonly #operators: readonly Operator[];

  constructor(operators: readonly Operator[]) {
    const problems = operators.flatMap(problemsOf);
    const names = new Map<string, number>();
    const tables = new Map<string, string>();
    for (const operator of operators) {
      names.set(operator.name, (names.get(operator.name) ?? 0) + 1);
      for (const spec of staticOutputs(operator) ?? []) {
        const owner = tables.get(spec.name.toLowerCase());
        if (owner !== undefined) problems.push(`table ${spec.name} is written by both ${owner} and ${operator.name}`);
        tables.set(spec.name.toLowerCase(), operator.name);
      }
    }
    for (const [name, count] of names) if (count > 1) problems.push(`${count} operators are named ${name}`);
    if (problems.length > 0) throw new ConfigError(`invalid operators: ${problems.join('; ')}`);
    this.#operators = operators;
    this.recordingOperatorWaves(); // throws on a dependency cycle
  }

  all(): readonly Operator[] {
    return this.#operators;
  }

  get(name: string): Operator | undefined {
    return this.#operators.find((o) => o.name === name);
  }

  /**
   * The operators a job was planned with, by `name@version`. A worker that does not have one
   * (a rolling upgrade, a missing MCAPFLOW_OPERATORS module) fails the job, retryably: another
   * worker, or this one once updated, can run it.
   */
  resolve(ids: readonly string[]): Operator[] {
    const missing: string[] = [];
    const found: Operator[] = [];
    for (const id of ids) {
      const operator = this.get(id.slice(0, id.lastIndexOf('@')));
      if (operator === undefined || operatorId(operator) !== id) missing.push(operator === undefined ? id : `${id} (this worker has ${operatorId(operator)})`);
      else found.push(operator);
    }
    if (missing.length > 0)
      throw new McapflowError(
        'OPERATOR_FAILED',
        `this worker cannot run operator(s) ${missing.join(', ')}: load the same MCAPFLOW_OPERATORS and version everywhere`,
        { retryable: true },
      );
    return found;
  }

  /** Names every static output table has, lowercased: schema tables must not take them. */
  reservedTableNames(): Set<string> {
    return new Set([...CATALOG_OWN_TABLES, ...this.#operators.flatMap((o) => (staticOutputs(o) ?? []).map((s) => s.name.toLowerCase()))]);
  }

  spanOperators(): SpanOperator[] {
    return this.#operators.filter(isSpanOperator);
  }

  /** The tables `operator` writes for `recording`. */
  outputsOf(operator: Operator, recording: RecordingInfo): readonly TableSpec[] {
    return typeof operator.outputs === 'function' ? operator.outputs(recording) : operator.outputs;
  }

  /**
   * Recording-level operators in the order they can run: each wave reads only tables of span
   * operators or of earlier waves. A table operator that reads another's output waits for it.
   */
  recordingOperatorWaves(): RecordingOperator[][] {
    const pending = this.#operators.filter((o): o is RecordingOperator => !isSpanOperator(o));
    const producedBy = new Map<string, string>();
    for (const o of pending) for (const spec of staticOutputs(o) ?? []) producedBy.set(spec.name.toLowerCase(), o.name);
    const waves: RecordingOperator[][] = [];
    const done = new Set<string>();
    while (pending.length > 0) {
      const ready = pending.filter(
        (o) => o.inputs.kind !== 'tables' || o.inputs.tables.every((t) => !producedBy.has(t.toLowerCase()) || done.has(producedBy.get(t.toLowerCase())!)),
      );
      if (ready.length === 0)
        throw new ConfigError(`invalid operators: table operators ${pending.map((o) => o.name).join(', ')} read each other's tables in a cycle`);
      waves.push(ready);
      for (const o of ready) {
        done.add(o.name);
        pending.splice(pending.indexOf(o), 1);
      }
    }
    return waves;
  }

  /**
   * The first wave holding table operators of `selected` that are not `done`: the ones a
   * recording's commit runs next (and a table-operator-only backfill starts with). Empty when none is left.
   */
  nextTableWave(selected: readonly Operator[], done: (operator: Operator) => boolean = () => false): RecordingOperator[] {
    const names = new Set(selected.map((o) => o.name));
    return (
      this.recordingOperatorWaves()
        .map((wave) => wave.filter((o) => names.has(o.name) && o.inputs.kind === 'tables' && !done(o)))
        .find((wave) => wave.length > 0) ?? []
    );
  }
}

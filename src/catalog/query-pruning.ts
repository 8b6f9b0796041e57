/**
 * Which objects of a table a statement can need, from its parse tree (DuckDB's
 * `json_serialize_sql`) and the statistics each manifest keeps per object. Pure: no DuckDB here.
 *
 * Pruning must never change an answer, so every rule errs towards reading more:
 * - only conjuncts at the top of a SELECT's WHERE count, and only comparisons of a column with a
 *   constant (`=`, `<`, `<=`, `>`, `>=`, BETWEEN, IN): each rejects NULL, so an object none of
 *   whose rows can pass them adds no row to the result, whatever joins the SELECT makes;
 * - a column counts only when it surely belongs to the table: qualified by its alias, or
 *   unqualified in the statement's own SELECT (never in a subquery, which may see outer columns)
 *   when that SELECT reads this one table;
 * - any other reference to a table (in a subquery of FROM, a join's side we cannot attribute, a
 *   CTE of the same name) needs all its objects, and a statement that can name tables in other
 *   ways (table functions, `query_table`) or that DuckDB cannot serialize is not pruned at all;
 * - an object without a statistic is kept for predicates on it, and numeric constants are
 *   widened by 1 µs because the parse tree's JSON carries 64-bit integers as doubles.
 */

/** What the rows an object holds can match: one recording, some topics, a log_time range. */
export interface PrunableObject {
  recordingId: string;
  /** null: unknown, the object may hold any topic. */
  topics: readonly string[] | null;
  minLogTime: bigint | null;
  maxLogTime: bigint | null;
}

/** The conjunction of the constraints one reference to a table puts on its rows. */
export interface RowConstraint {
  recordingIds?: Set<string>;
  topics?: Set<string>;
  /** Rows have log_time ≥ this (inclusive, widened). */
  minLogTime?: bigint;
  /** Rows have log_time ≤ this (inclusive, widened). */
  maxLogTime?: bigint;
}

/** Per table (lower-cased name): one constraint per place the statement reads it. */
export type TableReads = Map<string, RowConstraint[]>;

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Doubles standing for 64-bit integers are off by up to 256 ns near today's epoch times: widen by 1 µs. */
const WIDEN_NS = 1000n;

/** Names by which SQL can reach a table without a FROM item we can see. */
const TABLE_NAMING_FUNCTIONS = new Set(['query', 'query_table']);

/**
 * The reads of each table `ast` makes, or null when the statement cannot be pruned safely (then
 * every object of every mentioned table is read, as without pruning).
 */
export function tableReads(ast: unknown): TableReads | null {
  if (!isObject(ast) || ast.error !== false || !Array.isArray(ast.statements) || ast.statements.length !== 1) return null;
  const statement: unknown = ast.statements[0];
  if (!isObject(statement) || !isObject(statement.node)) return null;
  const reads: TableReads = new Map();
  const attributed = new Set<Json>();
  const rootScope = new Set<Json>();
  collectRootSelects(statement.node, rootScope);
  let safe = true;
  const visit = (value: unknown): void => {
    if (!safe) return;
    if (Array.isArray(value)) {
      for (const v of value) visit(v);
      return;
    }
    if (!isObject(value)) return;
    if (value.type === 'TABLE_FUNCTION') safe = false;
    if (value.class === 'FUNCTION' && typeof value.function_name === 'string' && TABLE_NAMING_FUNCTIONS.has(value.function_name.toLowerCase())) safe = false;
    if (value.type === 'SELECT_NODE') analyzeSelect(value, rootScope.has(value), reads, attributed);
    if (value.type === 'BASE_TABLE' && !attributed.has(value)) addRead(reads, value, {});
    for (const child of Object.values(value)) visit(child);
  };
  visit(statement.node);
  return safe ? reads : null;
}

/** The statement's own SELECTs: its node, or both sides of its set operations. */
function collectRootSelects(node: Json, into: Set<Json>): void {
  if (node.type === 'SELECT_NODE') into.add(node);
  if (node.type === 'SET_OPERATION_NODE') {
    for (const side of [node.left, node.right]) if (isObject(side)) collectRootSelects(side, into);
  }
}

function addRead(reads: TableReads, table: Json, constraint: RowConstraint): void {
  const name = typeof table.table_name === 'string' ? table.table_name.toLowerCase() : '';
  const list = reads.get(name) ?? [];
  list.push(constraint);
  reads.set(name, list);
}

/** The base tables a FROM joins directly (through JOIN nodes, not into subqueries). */
function joinedTables(from: unknown, into: Json[]): void {
  if (!isObject(from)) return;
  if (from.type === 'BASE_TABLE') into.push(from);
  if (from.type === 'JOIN') {
    joinedTables(from.left, into);
    joinedTables(from.right, into);
  }
}

function analyzeSelect(node: Json, rootScope: boolean, reads: TableReads, attributed: Set<Json>): void {
  const tables: Json[] = [];
  joinedTables(node.from_table, tables);
  const conjuncts: Json[] = [];
  flattenAnd(node.where_clause, conjuncts);
  for (const table of tables) {
    const name = String(table.alias === '' || typeof table.alias !== 'string' ? table.table_name : table.alias).toLowerCase();
    const unqualifiedIsOurs = rootScope && node.from_table === table && !aliasesPrunedColumn(node.select_list);
    const ours = (ref: unknown): string | undefined => columnOf(ref, name, unqualifiedIsOurs);
    const constraint: RowConstraint = {};
    for (const c of conjuncts) applyConjunct(c, ours, constraint);
    attributed.add(table);
    addRead(reads, table, constraint);
  }
}

const PRUNED_COLUMNS = new Set(['recording_id', 'topic', 'log_time']);

/** WHERE may name a select-list alias when no column has that name: then `topic` may not be the table's. */
function aliasesPrunedColumn(selectList: unknown): boolean {
  return Array.isArray(selectList) && selectList.some((e) => isObject(e) && typeof e.alias === 'string' && PRUNED_COLUMNS.has(e.alias.toLowerCase()));
}

function flattenAnd(expression: unknown, into: Json[]): void {
  if (!isObject(expression)) return;
  if (expression.class === 'CONJUNCTION' && expression.type === 'CONJUNCTION_AND' && Array.isArray(expression.children)) {
    for (const child of expression.children) flattenAnd(child, into);
  } else {
    into.push(expression);
  }
}

/** The lower-cased column name when `ref` is a column of the table named `table`. */
function columnOf(ref: unknown, table: string, unqualifiedIsOurs: boolean): string | undefined {
  if (!isObject(ref) || ref.class !== 'COLUMN_REF' || !Array.isArray(ref.column_names)) return undefined;
  const names = ref.column_names.map((n) => String(n).toLowerCase());
  if (names.length === 1) return unqualifiedIsOurs ? names[0] : undefined;
  return names.at(-2) === table ? names.at(-1) : undefined;
}

type Constant = { kind: 'string'; value: string } | { kind: 'number'; value: number };

function constantOf(expression: unknown): Constant | undefined {
  if (!isObject(expression) || expression.class !== 'CONSTANT' || !isObject(expression.value)) return undefined;
  const { is_null: isNull, value } = expression.value;
  if (isNull !== false) return undefined;
  if (typeof value === 'string') return { kind: 'string', value };
  if (typeof value === 'number' && Number.isFinite(value)) return { kind: 'number', value };
  return undefined;
}

const FLIPPED: Record<string, string> = {
  COMPARE_EQUAL: 'COMPARE_EQUAL',
  COMPARE_LESSTHAN: 'COMPARE_GREATERTHAN',
  COMPARE_LESSTHANOREQUALTO: 'COMPARE_GREATERTHANOREQUALTO',
  COMPARE_GREATERTHAN: 'COMPARE_LESSTHAN',
  COMPARE_GREATERTHANOREQUALTO: 'COMPARE_LESSTHANOREQUALTO',
};

function applyConjunct(c: Json, ours: (ref: unknown) => string | undefined, into: RowConstraint): void {
  if (c.class === 'COMPARISON' && typeof c.type === 'string' && c.type in FLIPPED) {
    const leftColumn = ours(c.left);
    const rightColumn = ours(c.right);
    if (leftColumn !== undefined) constrain(into, leftColumn, c.type, constantOf(c.right));
    else if (rightColumn !== undefined) constrain(into, rightColumn, FLIPPED[c.type]!, constantOf(c.left));
  } else if (c.class === 'BETWEEN') {
    const column = ours(c.input);
    if (column !== undefined) {
      constrain(into, column, 'COMPARE_GREATERTHANOREQUALTO', constantOf(c.lower));
      constrain(into, column, 'COMPARE_LESSTHANOREQUALTO', constantOf(c.upper));
    }
  } else if (c.type === 'COMPARE_IN' && Array.isArray(c.children) && c.children.length > 1) {
    const column = ours(c.children[0]);
    const values = c.children.slice(1).map(constantOf);
    if (column !== undefined && values.every((v) => v?.kind === 'string')) {
      intersect(into, column, new Set(values.map((v) => v.value)));
    }
  }
}

function constrain(into: RowConstraint, column: string, op: string, constant: Constant | undefined): void {
  if (constant === undefined) return;
  if (constant.kind === 'string') {
    if (op === 'COMPARE_EQUAL') intersect(into, column, new Set([constant.value]));
    return;
  }
  if (column !== 'log_time') return;
  const low = BigInt(Math.floor(constant.value)) - WIDEN_NS;
  const high = BigInt(Math.ceil(constant.value)) + WIDEN_NS;
  if (op === 'COMPARE_EQUAL' || op === 'COMPARE_GREATERTHAN' || op === 'COMPARE_GREATERTHANOREQUALTO') {
    into.minLogTime = into.minLogTime === undefined || low > into.minLogTime ? low : into.minLogTime;
  }
  if (op === 'COMPARE_EQUAL' || op === 'COMPARE_LESSTHAN' || op === 'COMPARE_LESSTHANOREQUALTO') {
    into.maxLogTime = into.maxLogTime === undefined || high < into.maxLogTime ? high : into.maxLogTime;
  }
}

function intersect(into: RowConstraint, column: string, values: Set<string>): void {
  const field = column === 'recording_id' ? 'recordingIds' : column === 'topic' ? 'topics' : undefined;
  if (field === undefined) return;
  const known = into[field];
  into[field] = known === undefined ? values : new Set([...known].filter((v) => values.has(v)));
}

/** Whether some row of `object` may satisfy `constraint`. */
export function mayMatch(constraint: RowConstraint, object: PrunableObject): boolean {
  if (constraint.recordingIds !== undefined && !constraint.recordingIds.has(object.recordingId)) return false;
  if (constraint.topics !== undefined && object.topics !== null && !object.topics.some((t) => constraint.topics!.has(t))) return false;
  if (constraint.minLogTime !== undefined && object.maxLogTime !== null && object.maxLogTime < constraint.minLogTime) return false;
  if (constraint.maxLogTime !== undefined && object.minLogTime !== null && object.minLogTime > constraint.maxLogTime) return false;
  return true;
}

/**
 * The objects of `table` that `reads` can need, in their order. A table the parse tree never
 * names as a FROM item (only mentioned as a word) is read in full, as is every table when
 * `reads` is null.
 */
export function neededObjects<T extends PrunableObject>(reads: TableReads | null, table: string, objects: readonly T[]): T[] {
  const constraints = reads?.get(table.toLowerCase());
  if (constraints === undefined) return [...objects];
  return objects.filter((o) => constraints.some((c) => mayMatch(c, o)));
}

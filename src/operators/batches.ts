/**
 * What operators are handed: a message operator's decoded rows of one span, a table
 * operator's finished tables of one recording — as Arrow, and as SQL on request.
 */
import type * as arrow from 'apache-arrow';
import { takeRows } from '../columnar/take.ts';
import type { TopicPlan } from '../domain/plan.ts';
import type { Span } from '../domain/spans.ts';
import { InvalidInputError } from '../errors.ts';
import type { MessageBatch, SqlSession, TableBatch } from '../sdk/operator.ts';
import { openSqlSession, type OpenSession, type SqlSettings } from './sql-session.ts';

/** The rows of `table` on the given topics; the table itself when it holds no others. */
function onTopics(table: arrow.Table, topics: ReadonlySet<string>): arrow.Table {
  const column = table.getChild('topic');
  if (column === null) return table;
  const keep: number[] = [];
  for (let i = 0; i < table.numRows; i++) if (topics.has(column.get(i) as string)) keep.push(i);
  return keep.length === table.numRows ? table : takeRows(table, keep);
}

function sessions(open: () => Promise<OpenSession>): { duckdb: () => Promise<SqlSession>; close: () => Promise<void> } {
  let session: Promise<OpenSession> | undefined;
  return {
    duckdb: () => (session ??= open()),
    async close() {
      if (session !== undefined) await (await session).close();
    },
  };
}

/** A message operator's batch: the decoded rows of its channels in this span. */
export function messageBatch(
  decoded: ReadonlyMap<string, arrow.Table>,
  channels: readonly TopicPlan[],
  span: Span,
  sql: SqlSettings,
): MessageBatch & { close(): Promise<void> } {
  const topicsByTable = new Map<string, Set<string>>();
  for (const c of channels) {
    const set = topicsByTable.get(c.table!) ?? new Set<string>();
    set.add(c.topic);
    topicsByTable.set(c.table!, set);
  }
  const tables = [...topicsByTable.keys()].filter((t) => decoded.has(t)).sort();
  const cache = new Map<string, arrow.Table>();
  const rows = (table: string): arrow.Table => {
    let found = cache.get(table);
    if (found === undefined) {
      const all = decoded.get(table);
      if (all === undefined) throw new InvalidInputError('BAD_ARGUMENT', `this batch has no table ${table} (it has ${tables.join(', ') || 'none'})`);
      found = onTopics(all, topicsByTable.get(table)!);
      cache.set(table, found);
    }
    return found;
  };
  const session = sessions(() =>
    openSqlSession(sql, { arrow: Object.fromEntries(tables.map((t) => [t, rows(t)])), aliases: tables.length === 1 ? { input: tables[0]! } : {} }),
  );
  return {
    span: { index: span.index, startTime: BigInt(span.messageStartTime), endTime: BigInt(span.messageEndTime) },
    tables,
    arrow(table) {
      if (table === undefined) {
        if (tables.length !== 1) throw new InvalidInputError('BAD_ARGUMENT', `this batch has ${tables.length} tables (${tables.join(', ')}): name one`);
        return rows(tables[0]!);
      }
      return rows(table);
    },
    duckdb: session.duckdb,
    close: session.close,
  };
}

/** A table operator's batch: the recording's input tables as local Parquet files. */
export function tableBatch(
  files: ReadonlyMap<string, string[]>,
  sql: SqlSettings,
  readTable: (table: string) => Promise<arrow.Table>,
): TableBatch & { close(): Promise<void> } {
  const tables = [...files.keys()].sort();
  const session = sessions(() => openSqlSession(sql, { parquet: Object.fromEntries(files) }));
  return {
    tables,
    async arrow(table) {
      if (!files.has(table)) throw new InvalidInputError('BAD_ARGUMENT', `this recording has no table ${table} (it has ${tables.join(', ') || 'none'})`);
      return readTable(table);
    },
    duckdb: session.duckdb,
    close: session.close,
  };
}

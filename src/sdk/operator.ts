/**
 * The operator: mcapflow's unit of derived data. An operator has a name and a version,
 * declares what it reads and which tables it writes, and turns a batch of its input into
 * Arrow tables. The engine derives everything else from the registered operators: the jobs
 * of a recording, the content addresses of their outputs, the tables of the manifest and the
 * versions that made them, and what a backfill has to recompute.
 *
 * Four kinds, by what they read:
 * - **message operators** see the decoded messages of the channels they ask for, one chunk
 *   span at a time, in the same pass that decodes them (nothing is read twice);
 * - **table operators** see a recording's finished tables, after its message operators;
 * - **record operators** (the built-ins use them) see raw MCAP records as a span is walked;
 * - **attachment operators** see the recording's top-level Attachment and Metadata records.
 */
import type * as arrow from 'apache-arrow';
import type { MessageLocation } from '../domain/work.ts';

/** A table an operator writes. */
export interface TableSpec {
  /** Letters, digits and `_`, starting with a letter; unique among all operators' tables. */
  name: string;
  /** Every batch the operator returns for this table must have exactly this schema. */
  schema: arrow.Schema;
  /** Rows are sorted by these columns within each file (default: `log_time` when the table has it). */
  sortKeys?: readonly string[];
}

/** Parameters shape an operator's output: they enter its content addresses like its version. */
export type OperatorParams = Readonly<Record<string, string | number | boolean | null>>;

/** The recording an operator runs on. */
export interface RecordingInfo {
  id: string;
  source: { uri: string; size: number };
  /** Every channel of the recording, with the table its messages decode to (null: undecodable). */
  topics: readonly { topic: string; channelId: number; schema: string; messageEncoding: string; table: string | null }[];
}

export interface OperatorContext<P extends OperatorParams = OperatorParams> {
  recording: RecordingInfo;
  params: P;
}

/** SQL over a batch, in an in-process DuckDB: each input table is a view of its name. */
export interface SqlSession {
  /** Runs one statement and returns its rows as an Arrow table. */
  query(sql: string): Promise<arrow.Table>;
}

/** The decoded messages of a message operator's input channels in one chunk span. */
export interface MessageBatch {
  /** Which span of the recording this is (spans are disjoint and cover the recording). */
  readonly span: { index: number; startTime: bigint; endTime: bigint };
  /** Schema tables with rows in this batch. */
  readonly tables: readonly string[];
  /** The rows of one input table (the only one when omitted), shaped like that schema table. */
  arrow(table?: string): arrow.Table;
  /** The batch as SQL: each input table a view of its name, the only one also as `input`. */
  duckdb(): Promise<SqlSession>;
}

/** A recording's finished input tables, for a table operator. */
export interface TableBatch {
  readonly tables: readonly string[];
  /** All rows of one input table of this recording. */
  arrow(table: string): Promise<arrow.Table>;
  /** The tables as SQL (DuckDB over their Parquet files, nothing copied): one view per table. */
  duckdb(): Promise<SqlSession>;
}

export type TransformResult = Record<string, arrow.Table> | Promise<Record<string, arrow.Table>>;

/** The tables an operator writes: fixed, or depending on the recording (one per schema, say). */
export type OutputSpecs = readonly TableSpec[] | ((recording: RecordingInfo) => readonly TableSpec[]);

interface OperatorBase<P extends OperatorParams> {
  /** Lowercase letters, digits, `_` and `-`; unique in the registry. */
  name: string;
  /** Change it whenever the output for the same input changes: old outputs stay under their old addresses. */
  version: string;
  description?: string;
  params?: P;
}

export interface MessageOperator<P extends OperatorParams = OperatorParams> extends OperatorBase<P> {
  /** Channels whose schema or topic is listed (neither listed: every decodable channel). */
  inputs: { kind: 'messages'; schemas?: readonly string[]; topics?: readonly string[] };
  outputs: OutputSpecs;
  transform(batch: MessageBatch, ctx: OperatorContext<P>): TransformResult;
}

export interface TableOperator<P extends OperatorParams = OperatorParams> extends OperatorBase<P> {
  inputs: { kind: 'tables'; tables: readonly string[] };
  outputs: readonly TableSpec[];
  transform(batch: TableBatch, ctx: OperatorContext<P>): TransformResult;
}

/** A message record as the span walk sees it; `data` is borrowed, valid during the call only. */
export interface RawMessage {
  channelId: number;
  sequence: number;
  logTime: bigint;
  publishTime: bigint;
  data: Uint8Array;
}

/** Where a message lives in the recording (chunk offset, offset in the chunk), to read it again by range. */
export type RecordLocation = MessageLocation;

/** What a record operator is handed for one span; built-ins get the engine's internals through it. */
export interface SpanInfo {
  index: number;
  recording: RecordingInfo;
  startTime: bigint;
  endTime: bigint;
}

/** Receives the raw records of one span, in file order; `finish` returns the span's tables. */
export interface RecordSink {
  message(message: RawMessage, location: RecordLocation): void;
  finish(): Record<string, arrow.Table>;
}

export interface RecordOperator<P extends OperatorParams = OperatorParams> extends OperatorBase<P> {
  inputs: { kind: 'records' };
  outputs: OutputSpecs;
  open(span: SpanInfo, ctx: OperatorContext<P>): RecordSink;
}

/** An Attachment record; its bytes stay in the recording, at `dataOffset`. */
export interface AttachmentInfo {
  offset: number;
  name: string;
  mediaType: string;
  logTime: bigint;
  createTime: bigint;
  dataOffset: number;
  dataLength: number;
  sha256: string;
}

export interface MetadataInfo {
  offset: number;
  name: string;
  entries: Record<string, string>;
}

/** The recording's top-level records; records that cannot be read are reported by the engine. */
export interface AttachmentBatch {
  attachments(): AsyncIterable<AttachmentInfo>;
  metadata(): AsyncIterable<MetadataInfo>;
}

export interface AttachmentOperator<P extends OperatorParams = OperatorParams> extends OperatorBase<P> {
  inputs: { kind: 'attachments' };
  outputs: readonly TableSpec[];
  transform(batch: AttachmentBatch, ctx: OperatorContext<P>): TransformResult;
}

export type Operator = MessageOperator | TableOperator | RecordOperator | AttachmentOperator;

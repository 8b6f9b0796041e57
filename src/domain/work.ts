/**
 * What each piece of a recording's work produces: the results span, convert and operator jobs
 * hand to the commit, from which the manifest is built. Pure values; the queue carries them as
 * job return values, the manifest builder reads them.
 */
import type { TopicTiming } from './topic-timing.ts';

/** A byte range of the recording that could not be read, and why (file offset of the record). */
export interface Damage {
  offset: number;
  reason: string;
}

/** Where a message lives in the recording, to read it again by range. */
export interface MessageLocation {
  /** File offset of its Chunk record, or of the Message record itself when it is outside chunks. */
  chunkOffset: number;
  /** Offset of the Message record in the chunk's decompressed records (0 outside chunks). */
  offsetInChunk: number;
}

/** Bytes a job fetched from storage and the bytes it actually needed (their ratio: read amplification). */
export interface ReadAccounting {
  fetched: number;
  needed: number;
}

/** An object a job wrote, as the manifest lists it. */
export interface StoredObject {
  key: string;
  bytes: number;
  sha256: string;
}

/** One span's rows of one table, waiting to be converted (Arrow IPC, sorted by log_time). */
export interface PartRef {
  table: string;
  key: string;
  rows: number;
  bytes: number;
  /** Nanoseconds as decimal strings; null for a table without log_time. */
  minLogTime: string | null;
  maxLogTime: string | null;
}

/** A finished Parquet file of a table. */
export interface TableObject extends StoredObject {
  rows: number;
  minLogTime: string | null;
  maxLogTime: string | null;
  /** Distinct topics of its rows, sorted; null when it has no topic column or too many to list. */
  topics: string[] | null;
}

/** Messages of one channel seen in a span (or claimed by its message indexes). */
export interface ChannelStats {
  channelId: number;
  count: number;
  firstLogTime: string;
  lastLogTime: string;
}

export interface DecodeErrors {
  channelId: number;
  count: number;
  first: string;
}

export interface ChannelTiming extends TopicTiming {
  channelId: number;
}

/** The one pass over a span: every span operator's part of every table, and what the walk saw. */
export interface ExtractResult {
  kind: 'extract';
  span: number;
  read?: ReadAccounting;
  /** Ids (`name@version`) of the span operators that ran. */
  operators: string[];
  parts: PartRef[];
  blobs: StoredObject[];
  channels: ChannelStats[];
  damaged: Damage[];
  /** Where the bytes contradict the plan (a summary that describes other bytes). */
  mismatches: string[];
  decodeErrors: DecodeErrors[];
}

/** The chunk index of a span, read from its MessageIndex records without decompressing. */
export interface IndexResult {
  kind: 'index';
  span: number;
  read?: ReadAccounting;
  /** The span's rows of the `chunks` table; null when it has none. */
  part: PartRef | null;
  /** Message counts per channel as the message indexes claim them. */
  channels: ChannelStats[];
  damaged: Damage[];
}

/** One table made into Parquet, by converting span parts or by a recording operator. */
export interface ConvertResult {
  kind: 'convert';
  table: string;
  /** `name@version` of the operator whose table this is. */
  operator: string;
  objects: TableObject[];
  /** Per-channel timing quality, from the `messages` table in file order. */
  timing?: ChannelTiming[];
  /** Records that could not be read (attachments, metadata). */
  damaged?: Damage[];
}

/** What a recording operator (table or attachment operator) made: one converted table per output. */
export interface OperatorResult {
  kind: 'operator';
  operator: string;
  tables: ConvertResult[];
}

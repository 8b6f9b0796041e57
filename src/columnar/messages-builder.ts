/**
 * Rows of the `messages` table built straight into typed-array columns (no per-value
 * builder calls).
 */
import type * as arrow from 'apache-arrow';
import type { MessageRecord } from '../mcap/records.ts';
import type { MessageLocation } from '../domain/work.ts';
import { int64Data, NumericColumn, tableFromData, uint16Data, uint32Data, utf8FromPalette } from './arrow-columns.ts';
import { MESSAGES_FIELDS } from './messages-table.ts';

export class MessagesBuilder {
  readonly #topicOf: Map<number, string>;
  readonly #palette: string[] = [];
  readonly #paletteIndex = new Map<number, number>();
  readonly #channel = new NumericColumn((n) => new Uint16Array(n));
  readonly #pick = new NumericColumn((n) => new Int32Array(n));
  readonly #logTime = new NumericColumn((n) => new BigInt64Array(n));
  readonly #publishTime = new NumericColumn((n) => new BigInt64Array(n));
  readonly #sequence = new NumericColumn((n) => new Uint32Array(n));
  readonly #size = new NumericColumn((n) => new Uint32Array(n));
  readonly #chunkOffset = new NumericColumn((n) => new BigInt64Array(n));
  readonly #offsetInChunk = new NumericColumn((n) => new BigInt64Array(n));

  /** `topics`: channel id → topic from the plan; channels first seen inside a span are learned. */
  constructor(topics: Map<number, string>) {
    this.#topicOf = new Map(topics);
  }

  get rowCount(): number {
    return this.#channel.length;
  }

  learnChannel(id: number, topic: string): void {
    if (!this.#topicOf.has(id)) this.#topicOf.set(id, topic);
  }

  add(message: MessageRecord, where: MessageLocation): void {
    let index = this.#paletteIndex.get(message.channelId);
    if (index === undefined) {
      index = this.#palette.push(this.#topicOf.get(message.channelId) ?? '') - 1;
      this.#paletteIndex.set(message.channelId, index);
    }
    this.#channel.push(message.channelId);
    this.#pick.push(index);
    this.#logTime.push(BigInt.asIntN(64, message.logTime));
    this.#publishTime.push(BigInt.asIntN(64, message.publishTime));
    this.#sequence.push(message.sequence);
    this.#size.push(message.data.length);
    this.#chunkOffset.push(BigInt(where.chunkOffset));
    this.#offsetInChunk.push(BigInt(where.offsetInChunk));
  }

  finish(recordingId: string): arrow.Table {
    const rows = this.rowCount;
    return tableFromData(
      MESSAGES_FIELDS,
      [
        utf8FromPalette([recordingId], new Int32Array(rows), rows),
        utf8FromPalette(this.#palette, this.#pick.values(), rows),
        uint16Data(this.#channel.values()),
        int64Data(this.#logTime.values()),
        int64Data(this.#publishTime.values()),
        uint32Data(this.#sequence.values()),
        uint32Data(this.#size.values()),
        int64Data(this.#chunkOffset.values()),
        int64Data(this.#offsetInChunk.values()),
      ],
      rows,
    );
  }
}

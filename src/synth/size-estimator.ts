// opcode + record length + channel id + sequence + log time + publish time
const MESSAGE_RECORD_OVERHEAD = 1 + 8 + 2 + 4 + 8 + 8;
// One (log time, offset) pair per message in the MessageIndex records written after each chunk.
const MESSAGE_INDEX_ENTRY_BYTES = 16;
// Chunk index record (~100 B with five channel offsets) plus slack for the message index headers.
const PER_CHUNK_SUMMARY_BYTES = 200;
// Statistics, summary offsets, data end, footer, magic.
const FIXED_SUMMARY_BYTES = 600;

export interface SizeEstimatorOptions {
  /** Expected compressed/uncompressed ratio of message records before any chunk is flushed. */
  initialRatio: number;
  /** File position once the header is written. */
  startPosition: number;
  /** Whether MessageIndex records follow each chunk. */
  messageIndex: boolean;
  /** Bytes the summary section repeats regardless of length (schemas, channels). */
  summaryBaseBytes: number;
}

/**
 * Predicts the final file size while writing. McapWriter only touches the file when a chunk is
 * finalised, so bytes still in the open chunk are extrapolated with the compression ratio seen so
 * far (or the up-front sample until the first chunk lands).
 */
export class SizeEstimator {
  #ratio: number;
  #position: number;
  readonly #messageIndex: boolean;
  readonly #summaryBaseBytes: number;
  #pendingRecordBytes = 0;
  #pendingIndexBytes = 0;
  #flushedRecordBytes = 0;
  #flushedOutputBytes = 0;
  #chunks = 0;

  constructor(options: SizeEstimatorOptions) {
    this.#ratio = options.initialRatio;
    this.#position = options.startPosition;
    this.#messageIndex = options.messageIndex;
    this.#summaryBaseBytes = options.summaryBaseBytes;
  }

  /** Counts uncompressed bytes that go into the open chunk without being a message (schemas...). */
  addRecordBytes(bytes: number): void {
    this.#pendingRecordBytes += bytes;
  }

  /** Call after each `addMessage` with the writable's position at that point. */
  addMessage(payloadBytes: number, positionAfter: number): void {
    this.#pendingRecordBytes += payloadBytes + MESSAGE_RECORD_OVERHEAD;
    if (this.#messageIndex) this.#pendingIndexBytes += MESSAGE_INDEX_ENTRY_BYTES;
    if (positionAfter === this.#position) return;
    // A chunk was finalised and its contents include this message.
    this.#chunks++;
    this.#flushedRecordBytes += this.#pendingRecordBytes;
    this.#flushedOutputBytes += Math.max(0, positionAfter - this.#position - this.#pendingIndexBytes);
    this.#ratio = this.#flushedOutputBytes / this.#flushedRecordBytes;
    this.#position = positionAfter;
    this.#pendingRecordBytes = 0;
    this.#pendingIndexBytes = 0;
  }

  /** Estimated file size if the writer were ended now. */
  estimate(): number {
    const openChunk = this.#pendingRecordBytes > 0 ? 1 : 0;
    return (
      this.#position +
      this.#pendingRecordBytes * this.#ratio +
      this.#pendingIndexBytes +
      this.#summaryBaseBytes +
      FIXED_SUMMARY_BYTES +
      (this.#chunks + openChunk) * PER_CHUNK_SUMMARY_BYTES
    );
  }
}

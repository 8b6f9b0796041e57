import { describe, expect, it } from 'vitest';
import { checkSummary, summaryIsComplete, type ClaimedChunk, type SummaryClaims } from '../../src/mcap/summary-claims.ts';

/** A chunk record of `compressedSize` bytes with compression `zstd`, its message indexes right after it. */
function chunk(offset: number, compressedSize: number, channels: number[] = [1], overrides: Partial<ClaimedChunk> = {}): ClaimedChunk {
  const length = 9 + 40 + 4 + compressedSize;
  return {
    offset,
    length,
    compression: 'zstd',
    compressedSize,
    uncompressedSize: compressedSize * 4,
    messageStartTime: 10n,
    messageEndTime: 20n,
    messageIndexOffsets: new Map(channels.map((c, i) => [c, BigInt(offset + length + i * 30)])),
    messageIndexLength: channels.length * 30,
    ...overrides,
  };
}

function claims(overrides: Partial<SummaryClaims> = {}): SummaryClaims {
  const first = chunk(100, 1000);
  const second = chunk(first.offset + first.length + first.messageIndexLength, 500);
  return {
    dataStart: 100,
    dataEnd: second.offset + second.length + second.messageIndexLength,
    chunks: [first, second],
    schemaIds: new Set([7]),
    channels: new Map([[1, 7]]),
    attachments: [],
    metadata: [],
    statistics: {
      messageCount: 4n,
      schemaCount: 1,
      channelCount: 1,
      attachmentCount: 0,
      metadataCount: 0,
      chunkCount: 2,
      channelMessageCounts: new Map([[1, 4n]]),
    },
    ...overrides,
  };
}

const limits = { maxChunkBytes: 1 << 20 };

describe('checkSummary', () => {
  it('finds nothing to read in a complete, consistent summary', () => {
    const check = checkSummary(claims(), limits);
    expect(check).toMatchObject({ scanBecause: [], gaps: [], oversizedChunks: [] });
    expect(summaryIsComplete(check)).toBe(true);
  });

  it.each([
    ['before the data section', (c: ClaimedChunk) => ({ ...c, offset: 8 }), /points before the data section/],
    ['past its end', (c: ClaimedChunk) => ({ ...c, offset: 1e9 }), /past the end of the data section/],
    ['2^40 bytes long', (c: ClaimedChunk) => ({ ...c, length: 2 ** 40 }), /past the end of the data section/],
    ['too short for its data', (c: ClaimedChunk) => ({ ...c, length: c.length - 1 }), /too short for 1000 compressed bytes/],
    ['with misplaced message indexes', (c: ClaimedChunk) => ({ ...c, offset: c.offset + 3 }), /outside the 30 bytes after the chunk/],
    ['with its times reversed', (c: ClaimedChunk) => ({ ...c, messageStartTime: 30n }), /start time after its end time/],
  ])('distrusts a chunk index entry %s', (_name, edit, reason) => {
    const base = claims();
    const check = checkSummary({ ...base, chunks: [edit(base.chunks[0]!), base.chunks[1]!] }, limits);
    expect(check.scanBecause.join('; ')).toMatch(reason);
    expect(check.gaps).toEqual([]);
  });

  it('distrusts overlapping chunks and statistics that contradict the indexes', () => {
    const base = claims();
    const overlapping = { ...base, chunks: [base.chunks[0]!, { ...base.chunks[0]!, offset: base.chunks[0]!.offset + 10, messageIndexOffsets: new Map() }] };
    expect(checkSummary(overlapping, limits).scanBecause.join()).toMatch(/overlap at offset 110/);
    const stats = { ...base.statistics!, chunkCount: 3, messageCount: 5n };
    const reasons = checkSummary({ ...base, statistics: stats }, limits).scanBecause.join('; ');
    expect(reasons).toMatch(/lists 2 chunk indexes but its statistics count 3 chunks/);
    expect(reasons).toMatch(/count 5 messages in all but 4 channel by channel/);
  });

  it('names channels and schemas it leaves out, with the chunk where each first appears', () => {
    const base = claims();
    const chunks = [chunk(100, 1000, [1, 2]), { ...chunk(100 + 1053 + 60, 500, [3]) }];
    const check = checkSummary(
      { ...base, chunks, dataEnd: chunks[1]!.offset + chunks[1]!.length + 30, channels: new Map([[1, 9]]), statistics: undefined },
      limits,
    );
    expect(check.scanBecause).toEqual([]);
    expect([...check.missingChannels]).toEqual([
      [2, 100],
      [3, chunks[1]!.offset],
    ]);
    expect([...check.missingSchemas]).toEqual([9]);
    expect(summaryIsComplete(check)).toBe(false);
  });

  it('wants a scan when nothing names the channels its chunks hold', () => {
    const base = claims();
    const chunks = base.chunks.map((c) => ({ ...c, messageIndexOffsets: new Map(), messageIndexLength: 0 }));
    const check = checkSummary({ ...base, chunks, dataEnd: chunks[1]!.offset + chunks[1]!.length, channels: new Map(), statistics: undefined }, limits);
    expect(check.scanBecause).toEqual(['the summary defines no channels and no message index or statistics names them']);
  });

  it('lists the data-section bytes no index accounts for', () => {
    const base = claims();
    const moved = chunk(base.chunks[1]!.offset + 200, 500);
    const check = checkSummary({ ...base, chunks: [base.chunks[0]!, moved], dataEnd: base.dataEnd + 300 }, limits);
    expect(check.gaps).toEqual([
      { start: base.chunks[1]!.offset, end: moved.offset },
      { start: base.dataEnd + 200, end: base.dataEnd + 300 },
    ]);
  });

  it('leaves out chunks that declare more than a worker may decompress', () => {
    const check = checkSummary(claims(), { maxChunkBytes: 3000 });
    expect(check.oversizedChunks).toEqual([{ offset: 100, reason: expect.stringMatching(/declares 4000 uncompressed bytes, over the 3000-byte limit/) }]);
  });
});

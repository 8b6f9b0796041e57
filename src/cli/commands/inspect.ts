import bytes from 'bytes';
import type { Command } from 'commander';
import type { IReadable } from '@mcap/core';
import { loadConfig } from '../../config/config.ts';
import { planSpans } from '../../domain/spans.ts';
import { InvalidInputError } from '../../errors.ts';
import { FileReadable } from '../../mcap/file-readable.ts';
import { RangedReadable } from '../../mcap/ranged-readable.ts';
import { HEAD_PROBE_BYTES, validateHead, type RecordingIndex } from '../../mcap/recording-index.ts';
import { indexFromSummary, planningLimits } from '../../mcap/summary-repair.ts';
import { prepareEnvironment } from '../../runtime/environment.ts';
import { createStore } from '../../runtime/services.ts';

interface Inspection {
  source: string;
  size: number;
  summary: 'ok' | 'unusable';
  reason?: string;
  library?: string;
  profile?: string;
  messages?: number | null;
  start_time?: string | null;
  end_time?: string | null;
  duration_s?: number | null;
  chunks?: number;
  spans?: number;
  compression?: Record<string, { chunks: number; compressed_bytes: number; uncompressed_bytes: number }>;
  channels?: { id: number; topic: string; schema: string; schema_encoding: string; message_encoding: string; messages: number | null; hz: number | null }[];
  attachments?: number;
  metadata?: number;
  planning_read: { bytes: number; requests: number; fraction: number };
}

function describe(
  index: RecordingIndex,
  limits: { spanMaxBytes: number; maxChunkBytes: number },
): Omit<Inspection, 'source' | 'size' | 'summary' | 'planning_read'> {
  const stats = index.statistics;
  const start = stats ? BigInt(stats.messageStartTime) : undefined;
  const end = stats ? BigInt(stats.messageEndTime) : undefined;
  const seconds = start !== undefined && end !== undefined && end > start ? Number(end - start) / 1e9 : null;
  const compression: Inspection['compression'] = {};
  for (const s of index.segments) {
    const c = (compression[s.compression || 'none'] ??= { chunks: 0, compressed_bytes: 0, uncompressed_bytes: 0 });
    c.chunks += 1;
    c.compressed_bytes += s.compressedSize;
    c.uncompressed_bytes += s.uncompressedSize;
  }
  const schemas = new Map(index.schemas.map((s) => [s.id, s]));
  return {
    library: index.library,
    profile: index.profile,
    messages: stats ? Number(stats.messageCount) : null,
    start_time: start?.toString() ?? null,
    end_time: end?.toString() ?? null,
    duration_s: seconds,
    chunks: index.segments.length,
    spans: planSpans(index.segments, limits.spanMaxBytes, limits.maxChunkBytes).length,
    compression,
    channels: index.channels.map((c) => {
      const count = stats?.channelMessageCounts[String(c.id)];
      const messages = count === undefined ? null : Number(count);
      return {
        id: c.id,
        topic: c.topic,
        schema: schemas.get(c.schemaId)?.name ?? '',
        schema_encoding: schemas.get(c.schemaId)?.encoding ?? '',
        message_encoding: c.messageEncoding,
        messages,
        hz: messages !== null && seconds ? Math.round((messages / seconds) * 10) / 10 : null,
      };
    }),
    attachments: index.attachments?.length ?? 0,
    metadata: index.metadata?.length ?? 0,
  };
}

function print(info: Inspection): void {
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(`source:      ${info.source} (${bytes.format(info.size)})`);
  if (info.summary !== 'ok') {
    out(`summary:     unusable: ${info.reason}`);
    out('             `mcapflow process` scans such a file once to index it.');
  } else {
    out(`library:     ${info.library}`);
    out(`profile:     ${info.profile}`);
    out(`messages:    ${info.messages ?? 'unknown (no statistics)'}`);
    if (info.duration_s !== null) out(`duration:    ${info.duration_s?.toFixed(3)} s (${info.start_time} → ${info.end_time} ns)`);
    out(`chunks:      ${info.chunks} (${info.spans} span${info.spans === 1 ? '' : 's'} at the configured span size)`);
    for (const [name, c] of Object.entries(info.compression ?? {})) {
      out(`  ${name.padEnd(10)} ${c.chunks} chunks, ${bytes.format(c.compressed_bytes)} of ${bytes.format(c.uncompressed_bytes)} uncompressed`);
    }
    out('channels:');
    for (const c of info.channels ?? []) {
      out(
        `  (${c.id}) ${c.topic.padEnd(28)} ${String(c.messages ?? '?').padStart(8)} msgs${c.hz !== null ? ` (${c.hz} Hz)` : ''} : ${c.schema} [${c.schema_encoding}] ${c.message_encoding}`,
      );
    }
    out(`attachments: ${info.attachments}`);
    out(`metadata:    ${info.metadata}`);
  }
  out(
    `read:        ${bytes.format(info.planning_read.bytes)} in ${info.planning_read.requests} request(s), ${(info.planning_read.fraction * 100).toFixed(3)}% of the file`,
  );
}

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description(
      'Describe a recording like `mcap info` — topics, schemas, counts, time range, chunks and compression — reading only its footer and summary (a local file or s3://bucket/key).',
    )
    .argument('<recording>', 'path or s3://bucket/key')
    .option('--json', 'print JSON')
    .action(async (source: string, options: { json?: boolean }) => {
      const config = loadConfig();
      let readable: IReadable & { close?(): Promise<void> };
      let cleanup: () => Promise<void>;
      let accounting: () => { bytes: number; requests: number };
      let size: number;
      const s3 = /^s3:\/\/([^/]+)\/(.+)$/.exec(source);
      if (s3) {
        const env = await prepareEnvironment(config, { redis: false });
        const store = createStore(config, env.endpoints);
        cleanup = async () => {
          store.close();
          await env.stop();
        };
        const info = await store.head(s3[1]!, s3[2]!);
        if (info === undefined) {
          await cleanup();
          throw new InvalidInputError('BAD_ARGUMENT', `${source}: no such object`);
        }
        size = info.size;
        const ranged = new RangedReadable({
          store,
          bucket: s3[1]!,
          key: s3[2]!,
          size,
          purpose: 'plan',
          minFetchBytes: config.readBlockBytes,
          maxReadBytes: config.maxRecordBytes,
        });
        await ranged.prefetchTail(Math.min(size, 1024 * 1024));
        readable = ranged;
        accounting = () => ({ bytes: ranged.bytesFetched, requests: ranged.requests });
      } else {
        const file = await FileReadable.open(source).catch(() => {
          throw new InvalidInputError('BAD_ARGUMENT', `${source}: no such file`);
        });
        size = Number(await file.size());
        readable = file;
        cleanup = () => file.close();
        accounting = () => ({ bytes: file.bytesRead, requests: file.requests });
      }
      try {
        validateHead(await readable.read(0n, BigInt(Math.min(size, HEAD_PROBE_BYTES))), size);
        const summary = await indexFromSummary(readable, planningLimits(config));
        const read = accounting();
        const planningRead = { ...read, fraction: size > 0 ? read.bytes / size : 0 };
        const info: Inspection =
          'unusable' in summary
            ? { source, size, summary: 'unusable', reason: summary.unusable, planning_read: planningRead }
            : { source, size, summary: 'ok', ...describe(summary.index, config), planning_read: planningRead };
        if (options.json) process.stdout.write(`${JSON.stringify(info)}\n`);
        else print(info);
      } finally {
        await cleanup();
      }
    });
}

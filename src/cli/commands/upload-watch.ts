/**
 * `mcapflow upload --watch [DIR]`: the edge uploader in the foreground, with a status line on
 * the terminal and one line (or one JSON object with --json) per recording confirmed.
 */
import bytes from 'bytes';
import { loadConfig } from '../../config/config.ts';
import { describeError, InvalidInputError } from '../../errors.ts';
import { prepareEnvironment } from '../../runtime/environment.ts';
import { parseBandwidth } from '../../uploader/bandwidth.ts';
import { runUploader } from '../../uploader/run-uploader.ts';
import { RateMeter, startStatusLine } from '../../uploader/status-line.ts';
import { uploaderOptions } from '../../uploader/uploader-config.ts';

export interface UploadCommandOptions {
  bucket?: string;
  prefix?: string;
  json?: boolean;
  watch?: boolean;
  stableMs?: number;
  pollMs?: number;
  delete?: boolean;
  moveTo?: string;
  bandwidth?: string;
}

export async function watchCommand(dir: string | undefined, options: UploadCommandOptions): Promise<void> {
  const stopRequested = new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  if (options.delete && options.moveTo !== undefined) throw new InvalidInputError('BAD_ARGUMENT', '--delete and --move-to exclude each other');
  const config = loadConfig();
  const resolved = uploaderOptions(config, {
    dir,
    bucket: options.bucket,
    prefix: options.prefix,
    stableMs: options.stableMs,
    pollMs: options.pollMs,
    after: options.delete ? 'delete' : options.moveTo !== undefined ? 'move' : undefined,
    moveDir: options.moveTo,
    bandwidth: options.bandwidth === undefined ? undefined : parseBandwidth(options.bandwidth),
  });
  const env = await prepareEnvironment(config, { redis: false, ensureBuckets: false });
  const meter = new RateMeter();
  const clearLine = () => process.stderr.isTTY && process.stderr.write('\r\x1b[2K');
  const running = runUploader(config, env.endpoints, resolved, {
    onBytesSent: (n) => meter.add(n),
    onFileDone: (file) => {
      clearLine();
      if (options.json) process.stdout.write(`${JSON.stringify(file)}\n`);
      else
        process.stdout.write(
          `${file.source} → ${file.uri} (${file.outcome}, ${bytes.format(file.size)}, sha256 ${file.sha256.slice(0, 16)}…, ${file.after})\n`,
        );
    },
    onFailure: (name, error, retryInMs) => {
      clearLine();
      const when = Number.isFinite(retryInMs) ? `retrying in ${(retryInMs / 1000).toFixed(1)} s` : 'skipped';
      process.stderr.write(`mcapflow: ${name}: ${describeError(error)} (${when})\n`);
    },
  });
  const stopStatus = startStatusLine(running.uploader, meter);
  if (!options.json)
    process.stderr.write(
      `mcapflow: watching ${resolved.dir} → s3://${resolved.bucket}/${resolved.prefix} (after upload: ${resolved.after}${resolved.bandwidth ? `, limit ${bytes.format(resolved.bandwidth)}/s` : ''})\n`,
    );
  await stopRequested;
  stopStatus();
  await running.stop();
  await env.stop();
}

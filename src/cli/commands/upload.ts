import { readdirSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import bytes from 'bytes';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { loadConfig } from '../../config/config.ts';
import { isRecordingKey } from '../../dispatcher/event-handler.ts';
import { validateObjectKey } from '../../domain/object-keys.ts';
import { InvalidInputError } from '../../errors.ts';
import { prepareEnvironment } from '../../runtime/environment.ts';
import { createStore } from '../../runtime/services.ts';
import { uploadFile } from '../../storage/file-upload.ts';
import { watchCommand, type UploadCommandOptions } from './upload-watch.ts';

function parseMs(value: string): number {
  if (!/^[0-9]+$/.test(value)) throw new InvalidInputError('BAD_ARGUMENT', `${JSON.stringify(value)} is not a number of milliseconds`);
  return Number(value);
}

function kebab(flag: string): string {
  return flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function filesOf(path: string, suffixes: string[]): { path: string; name: string }[] {
  const info = statSync(path, { throwIfNoEntry: false });
  if (info === undefined) throw new InvalidInputError('BAD_ARGUMENT', `${path}: no such file or directory`);
  if (info.isFile()) return [{ path, name: basename(path) }];
  const out: { path: string; name: string }[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && isRecordingKey(entry.name, suffixes)) out.push({ path: full, name: relative(path, full) });
    }
  };
  walk(path);
  return out;
}

export function registerUpload(program: Command): void {
  program
    .command('upload')
    .description(
      'Upload a recording (or every recording under a directory) to S3: multipart with a SHA-256 checksum per part, retries with backoff, a progress bar, and a resume journal under $MCAPFLOW_HOME/uploads (killed and rerun, it continues from the last completed part). The whole-file sha256 is recorded on the object, so the recording identity is content-based. On the embedded default it uploads into the running `mcapflow serve`, whose event starts processing. With --watch it is the edge uploader: it keeps watching a directory and uploads each recording once it is complete (stable, or renamed from x.mcap.active), surviving kills, power loss and a flaky link; see docs/operations.md.',
    )
    .argument('[path]', 'a file or a directory (with --watch: the directory to watch, default MCAPFLOW_UPLOAD_WATCH_DIR)')
    .option('--bucket <bucket>', 'destination bucket (default: MCAPFLOW_RAW_BUCKET)')
    .option('--prefix <prefix>', 'key prefix, e.g. robots/r1/ (with --watch, default MCAPFLOW_UPLOAD_PREFIX)')
    .option('--json', 'print one JSON object per file')
    .option(
      '--watch',
      'keep watching the directory and upload each recording once it is complete (see docs/operations.md, "Edge uploader"); runs until SIGINT/SIGTERM',
    )
    .option('--stable-ms <ms>', 'with --watch: a file unchanged this long is complete (default MCAPFLOW_UPLOAD_STABLE_MS)', parseMs)
    .option('--poll-ms <ms>', 'with --watch: how often to scan (default MCAPFLOW_UPLOAD_POLL_MS)', parseMs)
    .option('--delete', 'with --watch: delete each local file once the object is confirmed (sha256 and size)')
    .option('--move-to <dir>', 'with --watch: move each local file there once the object is confirmed')
    .option('--bandwidth <rate>', 'with --watch: bandwidth limit, e.g. 2MB/s (default MCAPFLOW_UPLOAD_BANDWIDTH)')
    .action(async (path: string | undefined, options: UploadCommandOptions) => {
      if (options.watch) return watchCommand(path, options);
      for (const flag of ['stableMs', 'pollMs', 'delete', 'moveTo', 'bandwidth'] as const)
        if (options[flag] !== undefined) throw new InvalidInputError('BAD_ARGUMENT', `--${kebab(flag)} needs --watch`);
      if (path === undefined) throw new InvalidInputError('BAD_ARGUMENT', 'upload needs a file or directory (or --watch)');
      const prefix = options.prefix ?? '';
      const config = loadConfig();
      const bucket = options.bucket ?? config.rawBucket;
      const files = filesOf(path, config.recordingSuffixes);
      if (files.length === 0) throw new InvalidInputError('BAD_ARGUMENT', `${path}: no recordings (${config.recordingSuffixes.join(', ')}) found`);
      const env = await prepareEnvironment(config, { redis: false });
      const store = createStore(config, env.endpoints);
      try {
        for (const file of files) {
          const key = validateObjectKey(`${prefix}${file.name}`);
          const bar = options.json
            ? undefined
            : new SingleBar({ format: `  {phase} ${file.name} {bar} {percentage}% | {done}/{size}`, stream: process.stderr, hideCursor: true });
          bar?.start(1, 0, { phase: 'hashing  ', done: '0B', size: bytes.format(statSync(file.path).size) });
          const result = await uploadFile(store, bucket, key, file.path, {
            journalDir: join(config.home, 'uploads'),
            contentType: 'application/x-mcap',
            onProgress: (done, total, phase) => {
              bar?.setTotal(Math.max(1, total));
              bar?.update(done, { phase: phase === 'hashing' ? 'hashing  ' : 'uploading', done: bytes.format(done) });
            },
          });
          bar?.stop();
          if (options.json) process.stdout.write(`${JSON.stringify({ source: file.path, uri: `s3://${bucket}/${key}`, ...result })}\n`);
          else
            process.stdout.write(
              `${file.path} → s3://${bucket}/${key} (${result.outcome}, ${bytes.format(result.size)}, sha256 ${result.sha256.slice(0, 16)}…)\n`,
            );
        }
      } finally {
        store.close();
        await env.stop();
      }
    });
}

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
      'Upload a recording (or every recording under a directory) to S3: multipart with a SHA-256 checksum per part, retries with backoff, a progress bar, and a resume journal under $MCAPFLOW_HOME/uploads (killed and rerun, it continues from the last completed part). The whole-file sha256 is recorded on the object, so the recording identity is content-based. On the embedded default it uploads into the running `mcapflow serve`, whose event starts processing.',
    )
    .argument('<path>', 'a file or a directory')
    .option('--bucket <bucket>', 'destination bucket (default: MCAPFLOW_RAW_BUCKET)')
    .option('--prefix <prefix>', 'key prefix, e.g. robots/r1/', '')
    .option('--json', 'print one JSON object per file')
    .action(async (path: string, options: { bucket?: string; prefix: string; json?: boolean }) => {
      const config = loadConfig();
      const bucket = options.bucket ?? config.rawBucket;
      const files = filesOf(path, config.recordingSuffixes);
      if (files.length === 0) throw new InvalidInputError('BAD_ARGUMENT', `${path}: no recordings (${config.recordingSuffixes.join(', ')}) found`);
      const env = await prepareEnvironment(config, { redis: false });
      const store = createStore(config, env.endpoints);
      try {
        for (const file of files) {
          const key = validateObjectKey(`${options.prefix}${file.name}`);
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

/**
 * The edge uploader's options from the configuration (MCAPFLOW_UPLOAD_*) and, for
 * `upload --watch`, the command line on top; every inconsistency is an error naming it.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../config/config.ts';
import { InvalidInputError } from '../errors.ts';
import type { AfterUpload } from './after-upload.ts';
import type { UploaderOptions } from './uploader.ts';

export interface UploaderOverrides {
  dir?: string | undefined;
  bucket?: string | undefined;
  prefix?: string | undefined;
  stableMs?: number | undefined;
  pollMs?: number | undefined;
  after?: AfterUpload | undefined;
  moveDir?: string | undefined;
  bandwidth?: number | undefined;
}

export function uploaderOptions(config: Config, overrides: UploaderOverrides = {}): UploaderOptions {
  const rawDir = overrides.dir ?? config.uploadWatchDir;
  if (rawDir === undefined) throw new InvalidInputError('BAD_ARGUMENT', 'the edge uploader needs a directory to watch: set MCAPFLOW_UPLOAD_WATCH_DIR');
  const dir = resolve(rawDir);
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new InvalidInputError('BAD_ARGUMENT', `${dir}: the watched directory does not exist`);
  const after = overrides.after ?? config.uploadAfter;
  const rawMoveDir = overrides.moveDir ?? config.uploadMoveDir;
  const moveDir = rawMoveDir === undefined ? undefined : resolve(rawMoveDir);
  if (after === 'move' && moveDir === undefined)
    throw new InvalidInputError('BAD_ARGUMENT', 'moving uploaded recordings needs a destination: --move-to DIR or MCAPFLOW_UPLOAD_MOVE_DIR');
  // A destination inside the watched directory is fine (scans skip it), the directory itself is not.
  if (after === 'move' && moveDir === dir)
    throw new InvalidInputError('BAD_ARGUMENT', `${moveDir}: the move destination cannot be the watched directory itself`);
  const prefix = overrides.prefix ?? config.uploadPrefix;
  if (prefix.startsWith('/')) throw new InvalidInputError('BAD_ARGUMENT', `key prefix ${JSON.stringify(prefix)} must not start with /`);
  return {
    dir,
    bucket: overrides.bucket ?? config.rawBucket,
    prefix,
    suffixes: config.recordingSuffixes,
    stableMs: overrides.stableMs ?? config.uploadStableMs,
    pollMs: overrides.pollMs ?? config.uploadPollMs,
    after,
    moveDir: after === 'move' ? moveDir : undefined,
    bandwidth: overrides.bandwidth ?? config.uploadBandwidth,
    home: config.home,
    backoffMinMs: Math.min(1000, config.uploadBackoffMaxMs),
    backoffMaxMs: config.uploadBackoffMaxMs,
  };
}

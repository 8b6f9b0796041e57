/**
 * What happens to a local recording once its object is confirmed: kept, deleted, or moved to
 * another directory (keeping its relative path). Both changes are fsynced, so a power cut
 * right after cannot bring back a deleted file or lose a moved one.
 */
import { copyFileSync, existsSync, fsyncSync, mkdirSync, closeSync, openSync, renameSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fsyncDirectory } from '../storage/durable-file.ts';

export const AFTER_UPLOAD = ['keep', 'delete', 'move'] as const;
export type AfterUpload = (typeof AFTER_UPLOAD)[number];

function fsyncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Applies the action; idempotent, so a rerun after a crash mid-way finishes it. */
export function afterUpload(action: AfterUpload, path: string, name: string, moveDir: string | undefined): void {
  if (action === 'keep') return;
  if (action === 'delete') {
    if (!existsSync(path)) return;
    unlinkSync(path);
    fsyncDirectory(dirname(path));
    return;
  }
  const target = join(moveDir!, name);
  if (!existsSync(path)) return; // Moved before a crash that lost only the queue's note of it.
  mkdirSync(dirname(target), { recursive: true });
  try {
    renameSync(path, target);
  } catch (error) {
    // Another filesystem (e.g. a USB disk): copy, make the copy durable, then remove the original.
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    copyFileSync(path, `${target}.tmp`);
    fsyncFile(`${target}.tmp`);
    renameSync(`${target}.tmp`, target);
    fsyncDirectory(dirname(target));
    unlinkSync(path);
  }
  fsyncDirectory(dirname(target));
  fsyncDirectory(dirname(path));
}

/**
 * What happens to a local recording once its object is confirmed: kept, deleted, or moved to
 * another directory (keeping its relative path). Both changes are fsynced, so a power cut
 * right after cannot bring back a deleted file or lose a moved one.
 */
import { copyFileSync, existsSync, mkdirSync, renameSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fsyncPath } from '../storage/durable-file.ts';

export const AFTER_UPLOAD = ['keep', 'delete', 'move'] as const;
export type AfterUpload = (typeof AFTER_UPLOAD)[number];

/** Applies the action; idempotent, so a rerun after a crash mid-way finishes it. */
export function afterUpload(action: AfterUpload, path: string, name: string, moveDir: string | undefined): void {
  if (action === 'keep') return;
  if (action === 'delete') {
    if (!existsSync(path)) return;
    unlinkSync(path);
    fsyncPath(dirname(path));
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
    fsyncPath(`${target}.tmp`);
    renameSync(`${target}.tmp`, target);
    fsyncPath(dirname(target));
    unlinkSync(path);
  }
  fsyncPath(dirname(target));
  fsyncPath(dirname(path));
}

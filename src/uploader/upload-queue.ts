/**
 * The uploader's durable queue: one JSON file per watched directory listing every recording
 * it has taken on and how far it got. Each state change is fsynced before the next step
 * begins (storage/durable-file.ts), so after a kill or a power cut the uploader resumes from
 * the last state that reached the disk:
 *
 *   pending → uploading → confirmed → cleaned
 *
 * - pending: complete on disk, not started;
 * - uploading: the multipart upload runs; its parts are journaled by storage/file-upload.ts;
 * - confirmed: a HEAD showed the object's sha256 metadata and size equal the local file's;
 * - cleaned: the after-upload action (keep, delete, move) is done.
 *
 * A confirmed or cleaned entry is never uploaded again while the file is unchanged; an entry
 * is forgotten once its file has left the directory.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from '../domain/hash.ts';
import { McapflowError } from '../errors.ts';
import { writeFileDurably } from '../storage/durable-file.ts';

export const ENTRY_STATES = ['pending', 'uploading', 'confirmed', 'cleaned'] as const;
export type EntryState = (typeof ENTRY_STATES)[number];

export interface QueueEntry {
  /** Path relative to the watched directory (also the key below the prefix). */
  name: string;
  key: string;
  size: number;
  mtimeMs: number;
  state: EntryState;
  sha256?: string;
  /** Failed attempts so far (informational; the backoff is kept in memory). */
  failures: number;
  lastError?: string;
  updatedAt: string;
}

interface QueueFile {
  version: 1;
  dir: string;
  entries: QueueEntry[];
}

export class UploadQueue {
  readonly file: string;
  readonly #dir: string;
  readonly #entries = new Map<string, QueueEntry>();

  private constructor(file: string, dir: string) {
    this.file = file;
    this.#dir = dir;
  }

  /** The queue of `watchDir`, kept under `stateDir` (named by the directory, so two watchers never share one). */
  static open(stateDir: string, watchDir: string): UploadQueue {
    mkdirSync(stateDir, { recursive: true });
    const queue = new UploadQueue(join(stateDir, `queue-${sha256Hex(watchDir).slice(0, 16)}.json`), watchDir);
    if (existsSync(queue.file)) {
      let parsed: QueueFile;
      try {
        parsed = JSON.parse(readFileSync(queue.file, 'utf8')) as QueueFile;
      } catch (error) {
        // Durable writes never leave a torn file; an unreadable one was edited or damaged by hand.
        throw new McapflowError('INTERNAL', `upload queue ${queue.file} is unreadable; move it away to start over`, { cause: error });
      }
      for (const entry of parsed.entries) queue.#entries.set(entry.name, entry);
    }
    return queue;
  }

  get(name: string): QueueEntry | undefined {
    return this.#entries.get(name);
  }

  entries(): QueueEntry[] {
    return [...this.#entries.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Records a new entry (or replaces one) and makes it durable before returning. */
  put(entry: Omit<QueueEntry, 'updatedAt'>): QueueEntry {
    const stored = { ...entry, updatedAt: new Date().toISOString() };
    this.#entries.set(entry.name, stored);
    this.#save();
    return stored;
  }

  /** Changes an entry and makes the change durable before returning. */
  patch(name: string, change: Partial<Omit<QueueEntry, 'name' | 'updatedAt'>>): QueueEntry {
    const previous = this.#entries.get(name);
    if (previous === undefined) throw new McapflowError('INTERNAL', `upload queue has no entry ${name}`);
    return this.put({ ...previous, ...change });
  }

  /**
   * Forgets the entries whose file is no longer in the directory: deleted or moved after its
   * confirmation (possibly just before a crash that lost the `cleaned` note), or removed by
   * someone else before it was uploaded (its multipart upload is left for the bucket's
   * lifecycle rule on incomplete uploads).
   */
  prune(stillPresent: (entry: QueueEntry) => boolean): void {
    let changed = false;
    for (const entry of this.#entries.values()) {
      if (!stillPresent(entry)) {
        this.#entries.delete(entry.name);
        changed = true;
      }
    }
    if (changed) this.#save();
  }

  #save(): void {
    const body: QueueFile = { version: 1, dir: this.#dir, entries: this.entries() };
    writeFileDurably(this.file, `${JSON.stringify(body, null, 1)}\n`);
  }
}

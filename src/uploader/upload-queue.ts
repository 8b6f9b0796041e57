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
import { z } from 'zod';
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

/** The stored queue, checked when read: written by this or another version of mcapflow, or edited by hand. */
const queueFileSchema = z.object({
  version: z.literal(1),
  dir: z.string(),
  entries: z.array(
    z.object({
      name: z.string().min(1),
      key: z.string().min(1),
      size: z.number().int().nonnegative(),
      mtimeMs: z.number(),
      state: z.enum(ENTRY_STATES),
      sha256: z
        .string()
        .regex(/^[0-9a-f]{64}$/)
        .optional(),
      failures: z.number().int().nonnegative(),
      lastError: z.string().optional(),
      updatedAt: z.string(),
    }),
  ),
}) satisfies z.ZodType<QueueFile, unknown>;

function parseQueueFile(file: string, text: string): QueueFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new McapflowError(
      'INTERNAL',
      `upload queue ${file} is not JSON (${error instanceof Error ? error.message : String(error)}); move it away to start over`,
    );
  }
  const version = (json as { version?: unknown } | null)?.version;
  if (version !== 1) throw new McapflowError('INTERNAL', `upload queue ${file} has version ${JSON.stringify(version)}; this mcapflow reads version 1`);
  const parsed = queueFileSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`);
    throw new McapflowError('INTERNAL', `upload queue ${file} does not fit its format (${problems.join('; ')}); move it away to start over`);
  }
  return parsed.data;
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
      // Durable writes never leave a torn file; one that does not parse was edited or damaged by hand.
      const parsed = parseQueueFile(queue.file, readFileSync(queue.file, 'utf8'));
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

/**
 * Deciding when a recording on disk is finished. Recorders write a file in place and close
 * it, or write under a temporary name and rename it when done (rosbag2's and other
 * recorders' `x.mcap.active` → `x.mcap` with split files). A file is complete when
 *
 * - it was seen under a temporary name in the previous scan and now has its final name, or
 * - its size and mtime stayed the same for `stableMs` of this process's own clock (a robot's
 *   wall clock may be wrong, so the file's mtime is compared only with itself).
 *
 * Files with a temporary suffix and hidden files are never candidates.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { isRecordingKey } from '../dispatcher/event-handler.ts';

/** Suffixes recorders and copy tools give files they are still writing. */
export const TEMPORARY_SUFFIXES = ['.active', '.tmp', '.part', '.partial', '.inprogress', '.writing', '.crdownload'];

export interface FileSighting {
  /** Relative to the watched directory, with `/` separators. */
  name: string;
  path: string;
  size: number;
  mtimeMs: number;
}

function temporaryBase(name: string): string | undefined {
  const lower = name.toLowerCase();
  const suffix = TEMPORARY_SUFFIXES.find((s) => lower.endsWith(s));
  return suffix === undefined ? undefined : name.slice(0, -suffix.length);
}

/** Every regular file under `dir` (hidden entries and `exclude` skipped), in name order. */
export function scanDirectory(dir: string, exclude?: string): FileSighting[] {
  const out: FileSighting[] = [];
  const walk = (current: string) => {
    let entries;
    try {
      entries = readdirSync(current, { withFileTypes: true });
    } catch (error) {
      // The watched directory itself unreadable (an unmounted disk) is a failure, not "empty":
      // an empty scan would make the queue forget every recording in it.
      if (current === dir) throw error;
      return; // A subdirectory removed mid-scan is simply not there this time.
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const path = join(current, entry.name);
      if (exclude !== undefined && path === exclude) continue;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        const info = statSync(path, { throwIfNoEntry: false });
        if (info) out.push({ name: relative(dir, path).split(sep).join('/'), path, size: info.size, mtimeMs: info.mtimeMs });
      }
    }
  };
  walk(dir);
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export class CompletionTracker {
  readonly #stableMs: number;
  readonly #suffixes: string[];
  readonly #now: () => number;
  /** Size and mtime last seen per name, and since when (monotonic ms) they are unchanged. */
  readonly #seen = new Map<string, { size: number; mtimeMs: number; since: number; renamed: boolean }>();
  #temporaryBases = new Set<string>();

  constructor(options: { stableMs: number; suffixes: string[]; now?: () => number }) {
    this.#stableMs = options.stableMs;
    this.#suffixes = options.suffixes;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Takes one scan; returns the recordings that are complete now. */
  observe(files: FileSighting[]): FileSighting[] {
    const now = this.#now();
    const temporary = new Set<string>();
    const complete: FileSighting[] = [];
    const present = new Set<string>();
    for (const file of files) {
      const base = temporaryBase(file.name);
      if (base !== undefined) {
        temporary.add(base);
        continue;
      }
      if (!isRecordingKey(file.name, this.#suffixes)) continue;
      present.add(file.name);
      const last = this.#seen.get(file.name);
      let state = last;
      if (last === undefined || last.size !== file.size || last.mtimeMs !== file.mtimeMs) {
        // Renamed from a temporary name since the last scan: the recorder says it is done.
        const renamed = last === undefined && this.#temporaryBases.has(file.name);
        state = { size: file.size, mtimeMs: file.mtimeMs, since: now, renamed };
        this.#seen.set(file.name, state);
      }
      if (state!.renamed || now - state!.since >= this.#stableMs) complete.push(file);
    }
    for (const name of this.#seen.keys()) if (!present.has(name)) this.#seen.delete(name);
    this.#temporaryBases = temporary;
    return complete;
  }
}

/**
 * Summarises V8 CPU profiles (`node --cpu-prof` writes `*.cpuprofile`): the functions with
 * the most self time, and self time grouped by where the code lives (a package in
 * node_modules, a directory of src/, Node internals, GC, idle).
 *
 *   npx tsx bench/cpuprofile-summary.ts [--top N] [--json] [--window START_US,END_US] FILE_OR_DIR...
 *
 * Several files (e.g. every worker process of a run) are summed into one summary. Self time
 * is taken from the sample timestamps (`timeDeltas`), so it is in milliseconds of wall time
 * the thread spent in that function.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  name: string;
  where: string;
  group: string;
  selfMs: number;
  share: number;
}

export interface ProfileSummary {
  files: number;
  totalMs: number;
  /** Total minus idle: time the thread was doing something. */
  busyMs: number;
  top: ProfileEntry[];
  groups: { group: string; selfMs: number; share: number }[];
  /**
   * Self time by owner: time in Node internals, wasm and native code is charged to the
   * nearest caller that is a package or a directory of this repository (sha256 called by
   * src/domain/hash.ts counts for src/domain; zstd's wasm for @foxglove/wasm-zstd).
   */
  owners: { group: string; selfMs: number; share: number }[];
}

/** Groups whose time is charged to their caller in the owner view. */
const BORROWED = new Set(['node internals', 'wasm', '(native)']);

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..');

function pathOf(url: string): string {
  if (url.startsWith('file://')) {
    try {
      return fileURLToPath(url);
    } catch {
      return url;
    }
  }
  return url;
}

/** Where a frame's code lives, coarsely: a package, a src/ directory, node internals, V8 pseudo-frames. */
function groupOf(frame: CallFrame): string {
  const name = frame.functionName;
  if (frame.url === '') {
    if (name === '(idle)' || name === '(program)' || name === '(garbage collector)' || name === '(root)') return name;
    return '(native)';
  }
  if (frame.url.startsWith('node:')) return 'node internals';
  if (frame.url.startsWith('wasm://')) return 'wasm';
  const path = pathOf(frame.url);
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const rel = relative(ROOT, path);
  if (!rel.startsWith('..')) {
    const parts = rel.split('/');
    return parts.length > 2 ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  return path;
}

function whereOf(frame: CallFrame): string {
  if (frame.url === '') return '';
  const path = pathOf(frame.url);
  const nm = path.lastIndexOf('node_modules/');
  const shown = nm >= 0 ? path.slice(nm + 'node_modules/'.length) : relative(ROOT, path).startsWith('..') ? path : relative(ROOT, path);
  return `${shown}:${frame.lineNumber + 1}`;
}

/**
 * Profiles in the given files and directories. In a directory only main-thread profiles are
 * taken (`CPU.<date>.<time>.<pid>.0.<seq>.cpuprofile`): the other threads of a tsx process are
 * its module loader, idle once the program runs.
 */
function profileFiles(paths: string[]): string[] {
  const out: string[] = [];
  for (const path of paths) {
    if (statSync(path).isDirectory()) {
      for (const name of readdirSync(path).sort()) if (/\.\d+\.0\.\d+\.cpuprofile$/.test(name)) out.push(join(path, name));
    } else {
      out.push(path);
    }
  }
  return out;
}

/**
 * `window`: only samples taken between these two instants of the monotonic clock, in
 * microseconds (V8 profile timestamps and `process.hrtime` share CLOCK_MONOTONIC on Linux, so a
 * window measured in one process selects samples of another).
 */
export function summarizeProfiles(paths: string[], top = 25, window?: { startUs: number; endUs: number }): ProfileSummary {
  const files = profileFiles(paths);
  const self = new Map<string, { name: string; where: string; group: string; us: number }>();
  const owners = new Map<string, number>();
  let totalUs = 0;
  for (const file of files) {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parentOf = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
    const ownerCache = new Map<number, string>();
    const ownerOf = (id: number): string => {
      const cached = ownerCache.get(id);
      if (cached !== undefined) return cached;
      const node = byId.get(id)!;
      const group = groupOf(node.callFrame);
      const parent = parentOf.get(id);
      const owner = BORROWED.has(group) && parent !== undefined && groupOf(byId.get(parent)!.callFrame) !== '(root)' ? ownerOf(parent) : group;
      ownerCache.set(id, owner);
      return owner;
    };
    // timeDeltas[i] is the time since the previous sample; attribute it to sample i's node.
    let at = profile.startTime;
    for (let i = 0; i < profile.samples.length; i++) {
      const node = byId.get(profile.samples[i]!);
      const us = Math.max(0, profile.timeDeltas[i] ?? 0);
      at += profile.timeDeltas[i] ?? 0;
      if (node === undefined) continue;
      if (window !== undefined && (at < window.startUs || at > window.endUs)) continue;
      totalUs += us;
      const frame = node.callFrame;
      const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
      const where = whereOf(frame);
      const key = `${name}@${where}`;
      const entry = self.get(key);
      if (entry) entry.us += us;
      else self.set(key, { name, where, group: groupOf(frame), us });
      const owner = ownerOf(node.id);
      owners.set(owner, (owners.get(owner) ?? 0) + us);
    }
  }
  const idleUs = [...self.values()].filter((e) => e.name === '(idle)').reduce((n, e) => n + e.us, 0);
  const groups = new Map<string, number>();
  for (const e of self.values()) groups.set(e.group, (groups.get(e.group) ?? 0) + e.us);
  const ms = (us: number) => Math.round(us / 100) / 10;
  const share = (us: number) => (totalUs === 0 ? 0 : Math.round((us / totalUs) * 1000) / 10);
  return {
    files: files.length,
    totalMs: ms(totalUs),
    busyMs: ms(totalUs - idleUs),
    top: [...self.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((e) => ({ name: e.name, where: e.where, group: e.group, selfMs: ms(e.us), share: share(e.us) })),
    groups: [...groups].sort((a, b) => b[1] - a[1]).map(([group, us]) => ({ group, selfMs: ms(us), share: share(us) })),
    owners: [...owners].sort((a, b) => b[1] - a[1]).map(([group, us]) => ({ group, selfMs: ms(us), share: share(us) })),
  };
}

export function formatSummary(summary: ProfileSummary, groupsShown = 15): string {
  const lines = [`${summary.files} profile(s), ${summary.totalMs} ms sampled, ${summary.busyMs} ms busy (not idle)`, '', 'self time by location:'];
  for (const g of summary.groups.slice(0, groupsShown)) lines.push(`  ${String(g.share).padStart(5)}%  ${String(g.selfMs).padStart(9)} ms  ${g.group}`);
  lines.push('', 'self time by owner (Node internals, wasm and native code charged to their nearest package or src/ caller):');
  for (const g of summary.owners.slice(0, groupsShown)) lines.push(`  ${String(g.share).padStart(5)}%  ${String(g.selfMs).padStart(9)} ms  ${g.group}`);
  lines.push('', 'top functions by self time:');
  for (const e of summary.top) lines.push(`  ${String(e.share).padStart(5)}%  ${String(e.selfMs).padStart(9)} ms  ${e.name}  ${e.where}`);
  return lines.join('\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' }, json: { type: 'boolean', default: false }, window: { type: 'string' } },
  });
  if (positionals.length === 0) {
    process.stderr.write('usage: npx tsx bench/cpuprofile-summary.ts [--top N] [--json] FILE_OR_DIR...\n');
    process.exit(2);
  }
  // --window START_US,END_US (monotonic microseconds, as bench/pipeline.ts reports its measured window).
  const [startUs, endUs] = (values.window ?? '').split(',').map(Number);
  const window = values.window !== undefined && startUs !== undefined && endUs !== undefined ? { startUs, endUs } : undefined;
  const summary = summarizeProfiles(positionals, Number(values.top), window);
  process.stdout.write(values.json ? `${JSON.stringify(summary, null, 2)}\n` : `${formatSummary(summary)}\n`);
}

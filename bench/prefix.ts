/** Redis key prefixes of benchmark runs: `mfbench-<what>-<pid>-<random>`, deleted when each run ends. */
export function benchPrefix(what: string): string {
  return `mfbench-${what}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

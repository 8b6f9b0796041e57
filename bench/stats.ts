/** The value at fraction `p` (0…1) of `values` sorted ascending. */
export const percentile = (values: number[], p: number): number =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!;

export const median = (values: number[]): number => percentile(values, 0.5);

/** `work`'s value and how long it took (ms). */
export async function timed<T>(work: () => Promise<T> | T): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

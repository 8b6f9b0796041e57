/** The value at fraction `p` (0…1) of `values` sorted ascending. */
export const percentile = (values: number[], p: number): number =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!;

export const median = (values: number[]): number => percentile(values, 0.5);

/** Plain-text table output for people (scripts use --json). */
export function formatTable(headers: string[], rows: unknown[][], indent = ''): string {
  const text = (v: unknown) => (v === null || v === undefined ? 'NULL' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const cells = rows.map((r) => r.map(text));
  const widths = headers.map((h, i) => Math.min(60, Math.max(h.length, ...cells.map((r) => r[i]!.length))));
  const line = (values: string[]) =>
    indent +
    values
      .map((v, i) => (v.length > widths[i]! ? `${v.slice(0, widths[i]! - 1)}…` : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), indent + widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n') + '\n';
}

export function printTable(headers: string[], rows: unknown[][], indent = ''): void {
  process.stdout.write(formatTable(headers, rows, indent));
}

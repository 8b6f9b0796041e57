/** docs/observability.md lists every metric mcapflow exports (with its labels) and every alert. */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { registry } from '../../src/observability/metrics.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const doc = readFileSync(join(ROOT, 'docs/observability.md'), 'utf8');

describe('docs/observability.md', () => {
  it('has a row for every mcapflow metric, naming its labels', async () => {
    const metrics = (await registry.getMetricsAsJSON()).filter((m) => m.name.startsWith('mcapflow_'));
    expect(metrics.length).toBeGreaterThanOrEqual(17);
    for (const metric of metrics) {
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${metric.name}\` |`));
      expect(row, metric.name).toBeDefined();
      const [, , type, labels] = row!.split('|').map((c) => c.trim());
      expect(type, metric.name).toBe(metric.type);
      const documented = labels === '—' ? [] : labels!.split(',').map((l) => l.trim().replace(/`/g, ''));
      const actual = [...((registry.getSingleMetric(metric.name) as unknown as { labelNames: string[] }).labelNames ?? [])];
      expect(actual.length, metric.name).toBe(new Set([...actual, ...metric.values.flatMap((v) => Object.keys(v.labels)).filter((l) => l !== 'le')]).size);
      expect(documented.sort(), metric.name).toEqual(actual.sort());
    }
  });

  it('describes every alert and how to import the dashboard', () => {
    const rules = (parse(readFileSync(join(ROOT, 'deploy/prometheus/alerts.yaml'), 'utf8')) as { groups: { rules: { alert: string }[] }[] }).groups.flatMap(
      (g) => g.rules,
    );
    for (const rule of rules) expect(doc).toContain(`| \`${rule.alert}\` |`);
    expect(doc).toContain('deploy/grafana/mcapflow.json');
    expect(doc).toMatch(/Dashboards.*Import/);
    expect(doc).toContain('OTEL_EXPORTER_OTLP_ENDPOINT');
  });
});

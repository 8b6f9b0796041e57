/**
 * deploy/grafana/mcapflow.json is what scripts/dashboard.ts generates (regenerate with
 * `npm run dashboard`), is importable (datasource as a variable, unique ids, a valid grid),
 * covers every area an operator watches, and only queries metrics mcapflow exports.
 * (test/integration/observability-prometheus.test.ts runs every query against Prometheus.)
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { registry } from '../../src/observability/metrics.ts';
import { DASHBOARD_PATH, dashboardJson } from '../../scripts/dashboard.ts';

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { expr: string; refId: string; datasource?: { uid: string }; legendFormat?: string }[];
  panels?: Panel[];
}

const committed = readFileSync(DASHBOARD_PATH, 'utf8');
const dashboard = JSON.parse(committed) as {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: unknown }[] };
};
const panels = dashboard.panels.filter((p) => p.type !== 'row');
const rows = dashboard.panels.filter((p) => p.type === 'row').map((p) => p.title);

/** Metric names a PromQL expression reads, histogram series mapped to their family. */
function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\b((?:mcapflow|process|nodejs)_[a-z0-9_]+)\b/g)].map((m) => m[1]!.replace(/_(bucket|count|sum)$/, ''));
}

describe('Grafana dashboard', () => {
  it('is exactly what the generator produces (run `npm run dashboard` after changing scripts/dashboard.ts)', () => {
    expect(committed).toBe(dashboardJson());
  });

  it('takes its Prometheus data source from a variable, on every panel and query', () => {
    expect(dashboard.uid).toBe('mcapflow');
    expect(dashboard.templating.list.find((v) => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const panel of panels) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      for (const target of panel.targets ?? []) expect(target.datasource?.uid, panel.title).toBe('${datasource}');
    }
  });

  it('has the rows an operator needs, with lag percentiles', () => {
    expect(rows).toEqual(['Throughput', 'Ingest lag', 'Queues', 'Failures and dead letters', 'Workers', 'Storage I/O', 'S3', 'Caches']);
    const lag = panels.find((p) => p.title.startsWith('Ingest lag'))!;
    expect(lag.targets!.map((t) => t.legendFormat)).toEqual(['p50', 'p95', 'p99']);
    expect(lag.targets!.map((t) => /histogram_quantile\((0\.\d+)/.exec(t.expr)![1])).toEqual(['0.5', '0.95', '0.99']);
    const titles = panels.map((p) => p.title);
    for (const wanted of [
      'Dead-letter entries',
      'Worker utilisation by queue',
      'Scan amplification (bytes read / bytes needed)',
      'S3 error ratio by operation',
      'Cache hit ratio',
      'Jobs by state (all queues)',
    ]) {
      expect(titles).toContain(wanted);
    }
  });

  it('lays out uniquely numbered panels on the 24-column grid without overlaps', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const panel of dashboard.panels) {
      const { x, y, w, h } = panel.gridPos;
      expect(x + w, panel.title).toBeLessThanOrEqual(24);
      for (let i = x; i < x + w; i++) {
        for (let j = y; j < y + h; j++) {
          expect(cells.has(`${i},${j}`), `${panel.title} overlaps at ${i},${j}`).toBe(false);
          cells.add(`${i},${j}`);
        }
      }
    }
  });

  it('queries only metrics that mcapflow exports, filtered by the job variable', async () => {
    const exported = new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        const names = metricsIn(target.expr);
        expect(names.length, target.expr).toBeGreaterThan(0);
        for (const name of names) expect(exported, `${panel.title}: ${name}`).toContain(name);
        // Every selector carries the job filter.
        expect(target.expr.match(/\{/g)?.length, target.expr).toBe(target.expr.match(/job=~"\$job"/g)?.length);
      }
    }
  });
});

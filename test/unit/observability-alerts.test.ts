/**
 * deploy/prometheus/alerts.yaml: the four alerts exist, query only exported metrics, pass
 * `promtool check rules`, and fire exactly in the scenarios of alerts.test.yaml
 * (`promtool test rules`). Skipped with a message only when promtool is absent.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { registry } from '../../src/observability/metrics.ts';

const DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../deploy/prometheus');
const PROMTOOL = process.env.PROMTOOL_BIN ?? '/usr/bin/promtool';
const hasPromtool = existsSync(PROMTOOL);
if (!hasPromtool) console.warn(`observability-alerts: promtool checks SKIPPED — ${PROMTOOL} not found; install it with \`apt-get install -y prometheus\``);

interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

const rules = (parse(readFileSync(join(DIR, 'alerts.yaml'), 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);

describe('Prometheus alert rules', () => {
  it('cover the DLQ, ingest lag, idle workers with waiting jobs and S3 errors, on exported metrics', async () => {
    expect(rules.map((r) => r.alert)).toEqual(['McapflowDeadLetters', 'McapflowIngestLagHigh', 'McapflowNoWorkerConsuming', 'McapflowS3ErrorRateHigh']);
    const exported = new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
    for (const rule of rules) {
      const names = [...rule.expr.matchAll(/\b(mcapflow_[a-z0-9_]+)\b/g)].map((m) => m[1]!.replace(/_(bucket|count|sum)$/, ''));
      expect(names.length, rule.alert).toBeGreaterThan(0);
      for (const name of names) expect(exported, `${rule.alert}: ${name}`).toContain(name);
      expect(rule.labels.severity, rule.alert).toMatch(/^(warning|critical)$/);
      expect(rule.annotations.summary, rule.alert).toBeTruthy();
      expect(rule.for, rule.alert).toMatch(/^\d+m$/);
    }
  });

  it.skipIf(!hasPromtool)('pass promtool check rules', () => {
    const result = spawnSync(PROMTOOL, ['check', 'rules', 'alerts.yaml'], { cwd: DIR, encoding: 'utf8' });
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('SUCCESS: 4 rules found');
  });

  it.skipIf(!hasPromtool)('fire in their scenarios and stay quiet otherwise (promtool test rules alerts.test.yaml)', () => {
    const result = spawnSync(PROMTOOL, ['test', 'rules', 'alerts.test.yaml'], { cwd: DIR, encoding: 'utf8' });
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('SUCCESS');
  });
});

/**
 * Generates the Kubernetes files that are derived from other sources of truth, so they cannot
 * drift (test/deploy/generated.test.ts fails when they do):
 *
 * - deploy/k8s/base/config.env: every option of src/config/config.ts, the source of the
 *   `mcapflow-config` ConfigMap;
 * - deploy/k8s/components/monitoring/prometheus-rule.yaml: deploy/prometheus/alerts.yaml
 *   wrapped in a PrometheusRule;
 * - deploy/k8s/components/monitoring/dashboards/mcapflow.json: a copy of
 *   deploy/grafana/mcapflow.json (kustomize reads files only inside a kustomization's own
 *   directory, so the component cannot point at the original).
 *
 *   npx tsx scripts/k8s-config.ts --write   # regenerate
 *   npx tsx scripts/k8s-config.ts           # check only; exit 1 when something is stale
 *
 * How every config option reaches the pods: each option is exactly one of
 * - set in the ConfigMap: to the cluster value below when there is one, else to the module's
 *   default;
 * - taken from a Secret (SECRET_OPTIONS): never in the ConfigMap, injected per container with
 *   secretKeyRef, and listed in config.env as a comment saying which Secret key holds it;
 * - left unset on purpose: options with no default and no cluster value (unset has a meaning of
 *   its own, and an empty string would be a different, often invalid, value), listed in
 *   config.env as a comment. Overlays may set them (the aws overlay sets MCAPFLOW_SQS_QUEUE_URL).
 */
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { OPTIONS } from '../src/config/config.ts';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Options that are secrets: they come from the Secret `mcapflow`, never from the ConfigMap. */
export const SECRET_OPTIONS: Readonly<Record<string, { secret: string; key: string }>> = {
  REDIS_URL: { secret: 'mcapflow', key: 'redis-url' },
  MCAPFLOW_ADMIN_TOKEN: { secret: 'mcapflow', key: 'admin-token' },
  MCAPFLOW_WEBHOOK_TOKEN: { secret: 'mcapflow', key: 'webhook-token' },
};

/** Values a cluster needs that differ from the embedded default's. */
export const CLUSTER_VALUES: Readonly<Record<string, string>> = {
  // The pods' writable emptyDir (the root filesystem is read-only).
  MCAPFLOW_HOME: '/var/lib/mcapflow',
  // Redis is a StatefulSet (or managed); never start one inside a pod.
  MCAPFLOW_SPAWN_REDIS: 'false',
  // Probes, Prometheus and the admin Service reach the pod from outside it.
  MCAPFLOW_HTTP_HOST: '0.0.0.0',
  MCAPFLOW_HTTP_PORT: '8080',
  // Empty: the AWS endpoint for S3_REGION. The local overlay points it at MinIO. Never unset in a
  // cluster, which would start the embedded S3 server inside a pod.
  S3_ENDPOINT: '',
};

export type OptionSource = { kind: 'configmap'; value: string } | { kind: 'secret'; secret: string; key: string } | { kind: 'unset' };

interface OptionLike {
  env: string;
  default: string | undefined;
  doc: string;
}

export function optionList(): OptionLike[] {
  return Object.values(OPTIONS);
}

/** Where each option of the config module comes from in the base. */
export function optionSources(): Map<string, OptionSource> {
  const sources = new Map<string, OptionSource>();
  for (const option of optionList()) {
    const secret = SECRET_OPTIONS[option.env];
    const value = CLUSTER_VALUES[option.env] ?? option.default;
    if (secret !== undefined) sources.set(option.env, { kind: 'secret', ...secret });
    else if (value !== undefined) sources.set(option.env, { kind: 'configmap', value });
    else sources.set(option.env, { kind: 'unset' });
  }
  return sources;
}

/** deploy/k8s/base/config.env. */
export function configEnv(): string {
  const sources = optionSources();
  const lines = [
    '# Generated from src/config/config.ts by `npx tsx scripts/k8s-config.ts --write`; do not edit.',
    '# The ConfigMap mcapflow-config. Every option of the config module is listed: set here (the',
    "# module's default, or the value a cluster needs), taken from a Secret, or unset on purpose.",
    '# Overlays change values with a configMapGenerator of the same name and behavior: merge.',
  ];
  for (const option of optionList()) {
    const source = sources.get(option.env)!;
    if (/[\r\n]/.test(option.doc) || (source.kind === 'configmap' && /[\r\n]/.test(source.value))) {
      throw new Error(`${option.env}: an env file cannot hold a line break`);
    }
    lines.push('', `# ${option.doc}`);
    if (source.kind === 'configmap') lines.push(`${option.env}=${source.value}`);
    else if (source.kind === 'secret') lines.push(`# ${option.env}: from Secret ${source.secret}, key ${source.key}`);
    else lines.push(`# ${option.env}: unset (no default)`);
  }
  return `${lines.join('\n')}\n`;
}

export const ALERTS_SOURCE = 'deploy/prometheus/alerts.yaml';
export const DASHBOARD_SOURCE = 'deploy/grafana/mcapflow.json';
export const CONFIG_ENV = 'deploy/k8s/base/config.env';
export const PROMETHEUS_RULE = 'deploy/k8s/components/monitoring/prometheus-rule.yaml';
export const DASHBOARD_COPY = 'deploy/k8s/components/monitoring/dashboards/mcapflow.json';

/**
 * The PrometheusRule made of a Prometheus rules file (`groups:`). Without the rules file (not
 * written yet) the rule has no groups; a rules file that is not valid is an error.
 */
export function prometheusRule(alertsYaml: string | undefined): string {
  let groups: unknown[] = [];
  if (alertsYaml !== undefined) {
    const rules = parse(alertsYaml) as { groups?: unknown } | null;
    if (rules === null || typeof rules !== 'object' || !Array.isArray(rules.groups) || rules.groups.length === 0) {
      throw new Error(`${ALERTS_SOURCE} must be a Prometheus rules file with a non-empty "groups:" list`);
    }
    groups = rules.groups;
  }
  const header = [
    `# Generated from ${ALERTS_SOURCE} by \`npx tsx scripts/k8s-config.ts --write\`; do not edit.`,
    ...(alertsYaml === undefined ? [`# ${ALERTS_SOURCE} does not exist yet: no rule groups.`] : []),
    '# The release label matches the rule selector of a kube-prometheus-stack installed as',
    '# "kube-prometheus-stack" (docs/deploy.md); change it to your Prometheus\' ruleSelector.',
  ];
  const rule = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'mcapflow', labels: { 'app.kubernetes.io/name': 'mcapflow', release: 'kube-prometheus-stack' } },
    spec: { groups },
  };
  return `${header.join('\n')}\n${stringify(rule, { lineWidth: 0 })}`;
}

/** The dashboard copy: the source's exact bytes, or a placeholder while it does not exist. */
export function dashboardCopy(dashboardJson: string | undefined): string {
  if (dashboardJson !== undefined) {
    const parsed = JSON.parse(dashboardJson) as unknown; // a broken dashboard is an error, not a placeholder
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`${DASHBOARD_SOURCE} must hold a JSON object`);
    return dashboardJson;
  }
  const placeholder = {
    title: 'mcapflow',
    uid: 'mcapflow',
    description: `Placeholder: ${DASHBOARD_SOURCE} does not exist yet; run npx tsx scripts/k8s-config.ts --write once it does.`,
    tags: ['mcapflow'],
    panels: [],
    schemaVersion: 39,
  };
  return `${JSON.stringify(placeholder, null, 2)}\n`;
}

function readIfPresent(root: string, path: string): string | undefined {
  const full = join(root, path);
  return existsSync(full) ? readFileSync(full, 'utf8') : undefined;
}

/** Every generated file, path relative to the repository root → content. */
export function generatedFiles(root = ROOT): Map<string, string> {
  return new Map([
    [CONFIG_ENV, configEnv()],
    [PROMETHEUS_RULE, prometheusRule(readIfPresent(root, ALERTS_SOURCE))],
    [DASHBOARD_COPY, dashboardCopy(readIfPresent(root, DASHBOARD_SOURCE))],
  ]);
}

/** Paths whose content differs from what would be generated. */
export function staleFiles(root = ROOT): string[] {
  return [...generatedFiles(root)].filter(([path, content]) => readIfPresent(root, path) !== content).map(([path]) => path);
}

function main(argv: string[]): void {
  const write = argv.includes('--write');
  if (write) {
    for (const [path, content] of generatedFiles()) {
      mkdirSync(dirname(join(ROOT, path)), { recursive: true });
      writeFileSync(join(ROOT, path), content);
      console.log(`wrote ${path}`);
    }
    return;
  }
  const stale = staleFiles();
  if (stale.length > 0) {
    console.error(`out of date (run npx tsx scripts/k8s-config.ts --write): ${stale.join(', ')}`);
    process.exit(1);
  }
  console.log('deploy/k8s generated files are up to date');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) main(process.argv.slice(2));

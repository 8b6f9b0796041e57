/**
 * Files under deploy/k8s that scripts/k8s-config.ts derives from other sources stay in sync with
 * them (regenerate with `npx tsx scripts/k8s-config.ts --write`), and the option table that
 * decides what goes where names only options the config module has.
 */
import { describe, expect, it } from 'vitest';
import { OPTIONS } from '../../src/config/config.ts';
import { CLUSTER_VALUES, configEnv, dashboardCopy, prometheusRule, SECRET_OPTIONS, staleFiles } from '../../scripts/k8s-config.ts';

const ENVS = Object.values(OPTIONS).map((o) => o.env);

describe('deploy/k8s generated files', () => {
  it('are up to date (run `npx tsx scripts/k8s-config.ts --write`)', () => {
    expect(staleFiles()).toEqual([]);
  });

  it('config.env names every option of the config module exactly once', () => {
    const text = configEnv();
    for (const env of ENVS) {
      const mentions = text.split('\n').filter((line) => line.startsWith(`${env}=`) || line.startsWith(`# ${env}:`));
      expect(mentions, env).toHaveLength(1);
    }
  });

  it('names only options the config module has', () => {
    for (const env of [...Object.keys(SECRET_OPTIONS), ...Object.keys(CLUSTER_VALUES)]) expect(ENVS, env).toContain(env);
  });

  it('refuses broken sources instead of papering over them', () => {
    expect(() => prometheusRule('groups: []\n')).toThrow(/non-empty "groups:"/);
    expect(() => prometheusRule('not: rules\n')).toThrow(/groups/);
    expect(() => dashboardCopy('{ not json')).toThrow();
    expect(prometheusRule(undefined)).toContain('groups: []');
  });
});

/**
 * The kustomize renderer used by the manifest tests, on small kustomizations: the behaviours
 * deploy/k8s relies on, and refusal of what it does not implement. (When kubectl is installed,
 * manifests.test.ts also compares it with `kubectl kustomize` on the real overlays.)
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configMapHash, kustomizeBuild, KustomizeError, splitImage, type K8sObject } from './kustomize.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'mcapflow-kz-'));
  dirs.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  replicas: 2
  selector:
    matchLabels: {app: app}
  template:
    metadata:
      labels: {app: app}
    spec:
      containers:
        - name: main
          image: example/app
          envFrom:
            - configMapRef: {name: settings}
          resources: {requests: {cpu: 100m}, limits: {cpu: "1"}}
        - name: sidecar
          image: busybox:1.36
`;

const byKind = (objects: K8sObject[], kind: string) => objects.find((o) => o.kind === kind)!;

describe('kustomizeBuild', () => {
  it('hashes generated ConfigMap names like kustomize 5 and rewrites the references', () => {
    expect(configMapHash({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'foo' }, data: { key1: 'value1', key2: 'value2' } })).toBe('ch29b7t2m8');
    const root = tree({
      'kustomization.yaml': 'resources: [app.yaml]\nconfigMapGenerator:\n  - name: settings\n    envs: [settings.env]\n    literals: ["QUOTED=\\"x y\\"", "EMPTY="]\n',
      'app.yaml': deployment,
      'settings.env': '# comment\n\n  A=1\nB=two=2\n',
    });
    const objects = kustomizeBuild(root);
    const cm = byKind(objects, 'ConfigMap');
    expect(cm.data).toEqual({ A: '1', B: 'two=2', QUOTED: 'x y', EMPTY: '' });
    expect(cm.metadata.name).toMatch(/^settings-[a-z0-9]{10}$/);
    const container = (byKind(objects, 'Deployment').spec as { template: { spec: { containers: { envFrom?: { configMapRef: { name: string } }[] }[] } } }).template.spec.containers[0]!;
    expect(container.envFrom![0]!.configMapRef.name).toBe(cm.metadata.name);
  });

  it('applies overlays: merge generators, strategic merge by name, JSON 6902, namespace, labels, images', () => {
    const root = tree({
      'base/kustomization.yaml': 'resources: [app.yaml]\nconfigMapGenerator:\n  - name: settings\n    literals: [A=1, B=2]\n',
      'base/app.yaml': deployment,
      'component/kustomization.yaml':
        'apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n  - target: {kind: Deployment, name: app}\n    patch: |-\n      - op: remove\n        path: /spec/replicas\n',
      'overlay/kustomization.yaml': [
        'namespace: prod',
        'resources: [../base]',
        'components: [../component]',
        'labels:\n  - pairs: {team: robots}',
        'configMapGenerator:\n  - name: settings\n    behavior: merge\n    literals: [B=3, C=4]',
        'patches:\n  - path: patch.yaml',
        'images:\n  - name: example/app\n    newName: registry.example.com/app\n    newTag: "1.2.3"\n  - name: busybox\n    digest: sha256:' + 'a'.repeat(64),
        '',
      ].join('\n'),
      'overlay/patch.yaml':
        'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n    spec:\n      containers:\n        - name: main\n          resources:\n            requests: {cpu: 500m}\n        - name: sidecar\n          $patch: delete\n',
    });
    const objects = kustomizeBuild(join(root, 'overlay'));
    const cm = byKind(objects, 'ConfigMap');
    expect(cm.data).toEqual({ A: '1', B: '3', C: '4' });
    expect(cm.metadata).toMatchObject({ namespace: 'prod', labels: { team: 'robots' } });
    const app = byKind(objects, 'Deployment');
    expect(app.metadata).toMatchObject({ namespace: 'prod', labels: { team: 'robots' } });
    const spec = app.spec as { replicas?: number; selector: unknown; template: { metadata: { labels: unknown }; spec: { containers: { name: string; image: string; resources?: unknown }[] } } };
    expect(spec.replicas).toBeUndefined();
    expect(spec.selector).toEqual({ matchLabels: { app: 'app' } }); // labels: never touches selectors
    expect(spec.template.metadata.labels).toEqual({ app: 'app' });
    expect(spec.template.spec.containers.map((c) => c.name)).toEqual(['main']);
    expect(spec.template.spec.containers[0]!.resources).toEqual({ requests: { cpu: '500m' }, limits: { cpu: '1' } });
    expect(spec.template.spec.containers[0]!.image).toBe('registry.example.com/app:1.2.3');
  });

  it('refuses what it does not implement, and broken references', () => {
    expect(() => kustomizeBuild(tree({ 'kustomization.yaml': 'commonLabels: {a: b}\n' }))).toThrow(KustomizeError);
    expect(() => kustomizeBuild(tree({ 'kustomization.yaml': 'resources: [missing.yaml]\n' }))).toThrow(/does not exist/);
    expect(() => kustomizeBuild(tree({ 'kustomization.yaml': 'resources: [app.yaml]\npatches:\n  - path: p.yaml\n', 'app.yaml': deployment, 'p.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: other}\n' }))).toThrow(/no resource/);
    expect(() => kustomizeBuild(tree({ 'kustomization.yaml': 'configMapGenerator:\n  - name: x\n    envs: [x.env]\n', 'x.env': 'FROM_ENVIRONMENT\n' }))).toThrow(/no "="/);
    expect(() => kustomizeBuild(tree({ 'k/kustomization.yaml': 'configMapGenerator:\n  - name: x\n    files: [../outside.json]\n', 'outside.json': '{}' }) + '/k')).toThrow(/inside the kustomization/);
  });

  it('splits image references', () => {
    expect(splitImage('redis:7.4.7-alpine')).toEqual({ name: 'redis', tag: '7.4.7-alpine' });
    expect(splitImage('localhost:5000/mcapflow')).toEqual({ name: 'localhost:5000/mcapflow' });
    expect(splitImage('a/b:1@sha256:00')).toEqual({ name: 'a/b', tag: '1', digest: 'sha256:00' });
  });
});

/**
 * The Kubernetes manifests under deploy/k8s, rendered by `kubectl kustomize` (test/deploy/k8s.ts),
 * then validated against the Kubernetes and CRD schemas and checked for what the deployment relies
 * on: selectors that select, pinned images, probes, resources, non-root read-only pods, a grace
 * period longer than the drain deadline, the ConfigMap holding exactly the config module's
 * options, autoscaling on the right Redis lists, and NetworkPolicies that let through exactly
 * the paths mcapflow needs.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig, OPTIONS } from '../../src/config/config.ts';
import { QUEUE_NAMES } from '../../src/queue/jobs.ts';
import { CLUSTER_VALUES, SECRET_OPTIONS, optionSources } from '../../scripts/k8s-config.ts';
import {
  allContainers,
  allowed,
  configMap,
  find,
  idOf,
  kustomize,
  render,
  renderComposition,
  ROOT,
  schemaProblems,
  selects,
  splitImage,
  workloads,
  type Container,
  type Endpoint,
  type K8sObject,
  type LabelSelector,
  type Workload,
} from './k8s.ts';

const OPTION_ENVS = new Set(Object.values(OPTIONS).map((o) => o.env));
// The SQS source's option was being added to the config module together with these manifests;
// until it is there, the aws overlay's MCAPFLOW_SQS_QUEUE_URL is the one key allowed without it.
const PENDING_OPTIONS = OPTION_ENVS.has('MCAPFLOW_SQS_QUEUE_URL') ? new Set<string>() : new Set(['MCAPFLOW_SQS_QUEUE_URL']);

/** Environment variables mcapflow containers may get that are not config options: the AWS SDK's credential chain. */
const NON_OPTION_ENV = new Set(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_REGION', 'AWS_ROLE_ARN', 'AWS_WEB_IDENTITY_TOKEN_FILE']);

const ROLES = ['dispatcher', 'worker', 'admin'] as const;
const WORKER_QUEUES = QUEUE_NAMES.filter((q) => q !== 'ingest' && q !== 'scan');

interface Variant {
  name: string;
  objects: K8sObject[];
}

// Rendered while the tests are collected: without kubectl the file fails with kustomize()'s message.
function variants(): Variant[] {
  return [
    { name: 'base', objects: render('deploy/k8s/base') },
    { name: 'overlays/local', objects: render('deploy/k8s/overlays/local') },
    { name: 'overlays/aws', objects: render('deploy/k8s/overlays/aws') },
    {
      name: 'base + components/hpa + components/monitoring',
      objects: renderComposition(['deploy/k8s/base'], ['deploy/k8s/components/hpa', 'deploy/k8s/components/monitoring']),
    },
  ];
}

const VARIANTS = variants();
const roleWorkload = (objects: K8sObject[], role: string): Workload => {
  const w = workloads(objects).find((x) => x.obj.kind === 'Deployment' && x.obj.metadata.name === `mcapflow-${role}`);
  if (w === undefined) throw new Error(`no Deployment mcapflow-${role}`);
  return w;
};
const podEndpoint = (w: Workload): Endpoint => ({ namespace: w.obj.metadata.namespace!, labels: w.labels });
const isRole = (w: Workload) => w.obj.kind === 'Deployment' && w.labels['app.kubernetes.io/name'] === 'mcapflow';
const longRunning = (w: Workload) => w.obj.kind === 'Deployment' || w.obj.kind === 'StatefulSet';

describe.each(VARIANTS)('deploy/k8s $name', (variant) => {
  const { objects } = variant;

  it('every object is valid for its schema and has no unknown fields', () => {
    const problems = objects.flatMap((o) => schemaProblems(o).map((p) => `${idOf(o)}: ${p}`));
    expect(problems).toEqual([]);
  });

  it('puts every namespaced object in the mcapflow namespace, with unique names', () => {
    for (const o of objects) if (o.kind !== 'Namespace') expect(o.metadata.namespace, idOf(o)).toBe('mcapflow');
    expect(new Set(objects.map(idOf)).size).toBe(objects.length);
  });

  it('workload selectors select their own pod templates, and only those', () => {
    const all = workloads(objects);
    for (const w of all) {
      const selector = (w.obj.spec as { selector?: LabelSelector }).selector;
      if (w.obj.kind === 'Job') continue; // Jobs generate their selector
      expect(selects(selector, w.labels), `${idOf(w.obj)} selects its template`).toBe(true);
      for (const other of all) if (other !== w) expect(selects(selector, other.labels), `${idOf(w.obj)} must not select ${idOf(other.obj)}`).toBe(false);
    }
  });

  it('Services, PodDisruptionBudgets, PodMonitors and NetworkPolicies select existing pods and ports', () => {
    const pods = workloads(objects);
    for (const svc of objects.filter((o) => o.kind === 'Service')) {
      const spec = svc.spec as { selector: Record<string, string>; ports: { port: number; targetPort?: string | number }[] };
      const targets = pods.filter((p) => selects({ matchLabels: spec.selector }, p.labels));
      expect(targets.length, `${idOf(svc)} selects pods`).toBeGreaterThan(0);
      for (const port of spec.ports) {
        for (const t of targets) {
          const ports = allContainers(t.spec).flatMap((c) => c.ports ?? []);
          const target = port.targetPort ?? port.port;
          expect(ports.some((p) => p.name === target || p.containerPort === target), `${idOf(svc)} port ${String(target)} exists on ${idOf(t.obj)}`).toBe(true);
        }
      }
    }
    for (const pdb of objects.filter((o) => o.kind === 'PodDisruptionBudget')) {
      const selector = (pdb.spec as { selector: LabelSelector }).selector;
      expect(pods.filter((p) => selects(selector, p.labels)).map((p) => p.obj.kind), idOf(pdb)).toEqual(['Deployment']);
    }
    for (const np of objects.filter((o) => o.kind === 'NetworkPolicy')) {
      const selector = (np.spec as { podSelector: LabelSelector }).podSelector;
      expect(pods.some((p) => selects(selector, p.labels)), `${idOf(np)} selects pods`).toBe(true);
    }
    for (const pm of objects.filter((o) => o.kind === 'PodMonitor')) {
      const spec = pm.spec as { selector: LabelSelector; podMetricsEndpoints: { port: string; path: string }[] };
      const scraped = pods.filter((p) => selects(spec.selector, p.labels));
      expect(scraped.map((p) => p.obj.metadata.name).sort()).toEqual(ROLES.map((r) => `mcapflow-${r}`).sort());
      for (const endpoint of spec.podMetricsEndpoints) {
        expect(endpoint.path).toBe('/metrics');
        for (const p of scraped) expect(p.spec.containers.some((c) => (c.ports ?? []).some((x) => x.name === endpoint.port)), idOf(p.obj)).toBe(true);
      }
    }
  });

  it('every container has CPU and memory requests and limits; long-running ones have liveness and readiness probes', () => {
    for (const w of workloads(objects)) {
      for (const c of allContainers(w.spec)) {
        const where = `${idOf(w.obj)} container ${c.name}`;
        for (const kind of ['requests', 'limits'] as const) {
          expect(c.resources?.[kind]?.cpu, `${where} ${kind}.cpu`).toBeDefined();
          expect(c.resources?.[kind]?.memory, `${where} ${kind}.memory`).toBeDefined();
        }
        if (!longRunning(w)) continue;
        if ((w.spec.initContainers ?? []).includes(c)) continue;
        expect(c.livenessProbe, `${where} livenessProbe`).toBeDefined();
        expect(c.readinessProbe, `${where} readinessProbe`).toBeDefined();
        for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
          const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port;
          if (typeof port === 'string') expect((c.ports ?? []).some((p) => p.name === port), `${where} probe port ${port}`).toBe(true);
        }
      }
    }
  });

  it('mcapflow roles probe /healthz for liveness and /readyz for readiness, and run their own role', () => {
    for (const role of ROLES) {
      const w = roleWorkload(objects, role);
      expect(w.spec.containers).toHaveLength(1);
      const c = w.spec.containers[0]!;
      expect(c.livenessProbe?.httpGet?.path).toBe('/healthz');
      expect(c.readinessProbe?.httpGet?.path).toBe('/readyz');
      expect(c.args).toEqual(['serve', '--role', role]);
      expect(w.spec.serviceAccountName).toBe('mcapflow');
    }
  });

  it('pins every image to a version tag or a digest', () => {
    for (const w of workloads(objects)) {
      for (const c of allContainers(w.spec)) {
        const image = splitImage(c.image);
        const where = `${idOf(w.obj)} ${c.name}: ${c.image}`;
        expect(image.tag !== undefined || image.digest !== undefined, where).toBe(true);
        if (image.tag !== undefined) {
          expect(image.tag, where).not.toBe('latest');
          expect(image.tag, where).toMatch(/\d/);
        }
        if (image.digest !== undefined) expect(image.digest, where).toMatch(/^sha256:[0-9a-f]{64}$/);
      }
    }
  });

  it('runs every pod non-root with a read-only root filesystem, no privilege escalation, no capabilities (Pod Security "restricted")', () => {
    const ns = objects.find((o) => o.kind === 'Namespace');
    if (ns !== undefined) expect(ns.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    for (const w of workloads(objects)) {
      const pod = w.spec.securityContext ?? {};
      expect(pod.seccompProfile?.type ?? 'unset', idOf(w.obj)).toBe('RuntimeDefault');
      for (const c of allContainers(w.spec)) {
        const where = `${idOf(w.obj)} ${c.name}`;
        const sc = c.securityContext ?? {};
        expect(sc.runAsNonRoot ?? pod.runAsNonRoot, `${where} runAsNonRoot`).toBe(true);
        expect(sc.runAsUser ?? pod.runAsUser ?? 1, `${where} runAsUser`).not.toBe(0);
        expect(sc.readOnlyRootFilesystem, `${where} readOnlyRootFilesystem`).toBe(true);
        expect(sc.allowPrivilegeEscalation, `${where} allowPrivilegeEscalation`).toBe(false);
        expect(sc.capabilities?.drop, `${where} capabilities.drop`).toEqual(['ALL']);
        expect(sc.capabilities?.add ?? [], `${where} capabilities.add`).toEqual([]);
      }
      expect(w.spec.volumes?.every((v) => v.emptyDir ?? v.persistentVolumeClaim ?? v.configMap ?? v.secret) ?? true, `${idOf(w.obj)} volume types`).toBe(true);
    }
  });

  it('the mcapflow image runs as the Dockerfile user, with writable MCAPFLOW_HOME and /tmp on emptyDirs', () => {
    const dockerUser = /^USER\s+(\d+)(?::(\d+))?\s*$/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
    expect(dockerUser).not.toBeNull();
    const home = configMap(objects).MCAPFLOW_HOME;
    expect(home).toBe(CLUSTER_VALUES.MCAPFLOW_HOME);
    for (const role of ROLES) {
      const w = roleWorkload(objects, role);
      expect(w.spec.securityContext?.runAsUser).toBe(Number(dockerUser![1]));
      const mounts = w.spec.containers[0]!.volumeMounts ?? [];
      for (const path of [home, '/tmp']) {
        const mount = mounts.find((m) => m.mountPath === path);
        expect(mount, `${role} mounts ${path}`).toBeDefined();
        const volume = w.spec.volumes?.find((v) => v.name === mount!.name);
        expect(volume?.emptyDir?.sizeLimit, `${role} ${path} is a bounded emptyDir`).toBeDefined();
      }
    }
  });

  it('gives every role a termination grace period longer than the drain deadline', () => {
    const drainMs = Number(configMap(objects).MCAPFLOW_DRAIN_TIMEOUT_MS ?? OPTIONS.drainTimeoutMs.default);
    expect(drainMs).toBeGreaterThan(0);
    for (const role of ROLES) {
      const grace = roleWorkload(objects, role).spec.terminationGracePeriodSeconds ?? 30;
      expect(grace, role).toBeGreaterThan(drainMs / 1000);
    }
  });

  it('the ConfigMap holds exactly the config options not taken from a Secret, with values the config module accepts', () => {
    const data = configMap(objects);
    const keys = new Set(Object.keys(data));
    const sources = optionSources();
    for (const key of keys) expect(OPTION_ENVS.has(key) || PENDING_OPTIONS.has(key), `${key} is an option of src/config/config.ts`).toBe(true);
    for (const [env, source] of sources) {
      if (source.kind === 'configmap') expect(keys.has(env), `${env} is in the ConfigMap`).toBe(true);
      if (source.kind === 'secret') expect(keys.has(env), `${env} is a secret and stays out of the ConfigMap`).toBe(false);
    }
    expect(data.MCAPFLOW_SPAWN_REDIS).toBe('false');
    expect(data.MCAPFLOW_HTTP_HOST).toBe('0.0.0.0');
    // Unset would start the embedded S3 server inside a pod.
    expect(data.S3_ENDPOINT).toBeDefined();
    const fakeSecrets = { REDIS_URL: 'redis://:password@mcapflow-redis:6379', MCAPFLOW_ADMIN_TOKEN: 'a'.repeat(32), MCAPFLOW_WEBHOOK_TOKEN: 'b'.repeat(32) };
    const validated = Object.fromEntries(Object.entries(data).filter(([k]) => OPTION_ENVS.has(k)));
    expect(() => loadConfig({ ...validated, ...fakeSecrets })).not.toThrow();
    for (const role of ROLES) {
      const port = roleWorkload(objects, role).spec.containers[0]!.ports?.find((p) => p.name === 'http')?.containerPort;
      expect(port, role).toBe(Number(data.MCAPFLOW_HTTP_PORT));
    }
  });

  it('secret options come from the Secret by secretKeyRef; containers get no variables the config module or the AWS SDK does not read', () => {
    for (const role of ROLES) {
      const c = roleWorkload(objects, role).spec.containers[0]!;
      const env = new Map((c.env ?? []).map((e) => [e.name, e]));
      const needed = role === 'admin' ? Object.keys(SECRET_OPTIONS) : ['REDIS_URL'];
      for (const name of needed) {
        expect(env.get(name)?.valueFrom?.secretKeyRef, `${role} ${name}`).toEqual({ name: SECRET_OPTIONS[name]!.secret, key: SECRET_OPTIONS[name]!.key });
      }
      for (const e of c.env ?? []) {
        expect(OPTION_ENVS.has(e.name) || NON_OPTION_ENV.has(e.name), `${role}: ${e.name} is read by mcapflow`).toBe(true);
        if (e.name in SECRET_OPTIONS) expect(e.value, `${role}: ${e.name} must not be a literal`).toBeUndefined();
      }
      if (role !== 'admin') for (const name of ['MCAPFLOW_ADMIN_TOKEN', 'MCAPFLOW_WEBHOOK_TOKEN']) expect(env.has(name), `${role} does not need ${name}`).toBe(false);
      const configRefs = (c.envFrom ?? []).filter((e) => e.configMapRef !== undefined);
      expect(configRefs).toHaveLength(1);
      expect(objects.some((o) => o.kind === 'ConfigMap' && o.metadata.name === configRefs[0]!.configMapRef!.name)).toBe(true);
      const secretRefs = (c.envFrom ?? []).filter((e) => e.secretRef !== undefined);
      expect(secretRefs).toEqual([{ secretRef: { name: 'mcapflow-s3', optional: true } }]);
    }
  });

  it('Redis keeps an append-only file on a volume and never evicts', () => {
    const redis = workloads(objects).find((w) => w.obj.kind === 'StatefulSet' && w.obj.metadata.name === 'mcapflow-redis');
    expect(redis).toBeDefined();
    const c = redis!.spec.containers[0]!;
    const args = [...(c.command ?? []), ...(c.args ?? [])];
    const flag = (name: string) => args[args.indexOf(name) + 1];
    expect(flag('--appendonly')).toBe('yes');
    expect(flag('--maxmemory-policy')).toBe('noeviction');
    expect(flag('--requirepass')).toBe('$(REDIS_PASSWORD)');
    const dir = flag('--dir')!;
    const mount = c.volumeMounts?.find((m) => m.mountPath === dir);
    const claims = (redis!.obj.spec as { volumeClaimTemplates: { metadata: { name: string } }[] }).volumeClaimTemplates;
    expect(claims.map((t) => t.metadata.name)).toContain(mount?.name);
    const service = find(objects, 'Service', (redis!.obj.spec as { serviceName: string }).serviceName);
    expect(selects({ matchLabels: (service.spec as { selector: Record<string, string> }).selector }, redis!.labels)).toBe(true);
  });

  it('autoscales workers at most one way, on the waiting lists of the worker queues', () => {
    const scaled = objects.filter((o) => o.kind === 'ScaledObject');
    const hpas = objects.filter((o) => o.kind === 'HorizontalPodAutoscaler');
    expect(scaled.length + hpas.length).toBeLessThanOrEqual(1);
    const worker = roleWorkload(objects, 'worker');
    if (scaled.length + hpas.length === 1) expect((worker.obj.spec as { replicas?: number }).replicas, 'the autoscaler owns the replica count').toBeUndefined();
    const prefix = configMap(objects).MCAPFLOW_PREFIX ?? OPTIONS.prefix.default;
    for (const so of scaled) {
      const spec = so.spec as {
        scaleTargetRef: { name: string; kind?: string };
        minReplicaCount: number;
        triggers: { type: string; metadata: Record<string, string>; authenticationRef?: { name: string } }[];
      };
      expect(spec.scaleTargetRef).toEqual({ name: 'mcapflow-worker' });
      expect(spec.minReplicaCount).toBeGreaterThanOrEqual(1);
      expect(spec.triggers.map((t) => t.metadata.listName).sort()).toEqual(WORKER_QUEUES.map((q) => `${prefix}:${q}:wait`).sort());
      for (const t of spec.triggers) {
        expect(t.type).toBe('redis');
        const [host, port] = t.metadata.address!.split(':');
        const [service, namespace, svc] = host!.split('.');
        expect(svc).toBe('svc');
        expect(namespace).toBe(so.metadata.namespace);
        expect((find(objects, 'Service', service!).spec as { ports: { port: number }[] }).ports.map((p) => p.port)).toContain(Number(port));
        const auth = find(objects, 'TriggerAuthentication', t.authenticationRef!.name).spec as { secretTargetRef: { parameter: string; name: string; key: string }[] };
        expect(auth.secretTargetRef).toContainEqual({ parameter: 'password', name: 'mcapflow', key: 'redis-password' });
      }
    }
    for (const hpa of hpas) {
      const spec = hpa.spec as { scaleTargetRef: { kind: string; name: string }; metrics: { type: string; external: { metric: { name: string } } }[] };
      expect(spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'mcapflow-worker' });
      const values = parse(readFileSync(join(ROOT, 'deploy/k8s/components/hpa/prometheus-adapter-values.yaml'), 'utf8')) as {
        rules: { external: { seriesQuery: string; name: { as: string }; metricsQuery: string }[] };
      };
      for (const metric of spec.metrics) {
        const rule = values.rules.external.find((r) => r.name.as === metric.external.metric.name);
        expect(rule, `prometheus-adapter serves ${metric.external.metric.name}`).toBeDefined();
        expect(rule!.seriesQuery).toMatch(/^mcapflow_queue_jobs\{/);
        expect(rule!.metricsQuery).toContain('state="waiting"');
        expect(rule!.metricsQuery).toContain(`queue=~"${WORKER_QUEUES.join('|')}"`);
      }
    }
  });

  it('NetworkPolicies let through the paths mcapflow needs, and not others', () => {
    const role = (r: string) => podEndpoint(roleWorkload(objects, r));
    const redis = podEndpoint(workloads(objects).find((w) => w.obj.metadata.name === 'mcapflow-redis')!);
    const stranger: Endpoint = { namespace: 'default', labels: { app: 'something-else' } };
    const neighbour: Endpoint = { namespace: 'mcapflow', labels: { app: 'something-else' } };
    const dns: Endpoint = { namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } };
    const prometheus: Endpoint = { namespace: 'monitoring', labels: { 'app.kubernetes.io/name': 'prometheus' } };
    const kedaOperator: Endpoint = { namespace: 'keda', labels: { app: 'keda-operator' } };
    expect(objects.some((o) => o.kind === 'NetworkPolicy' && isDeepStrictEqual((o.spec as { podSelector: unknown }).podSelector, {}) && isDeepStrictEqual((o.spec as { policyTypes: unknown }).policyTypes, ['Ingress', 'Egress']) && (o.spec as { ingress?: unknown }).ingress === undefined && (o.spec as { egress?: unknown }).egress === undefined)).toBe(true);
    for (const r of ROLES) {
      expect(allowed(objects, role(r), redis, 6379), `${r} → redis`).toBe(true);
      expect(allowed(objects, role(r), dns, 53), `${r} → DNS`).toBe(true);
      expect(allowed(objects, stranger, role(r), 8080), `another namespace → ${r}`).toBe(false);
      expect(allowed(objects, role(r), { namespace: 'default', labels: { app: 'x' } }, 8080), `${r} → arbitrary pod`).toBe(false);
      if (objects.some((o) => o.kind === 'PodMonitor')) expect(allowed(objects, prometheus, role(r), 8080), `prometheus → ${r}`).toBe(true);
    }
    expect(allowed(objects, stranger, redis, 6379), 'another namespace → redis').toBe(false);
    expect(allowed(objects, neighbour, redis, 6379), 'an unrelated pod in the namespace → redis').toBe(false);
    expect(allowed(objects, redis, { namespace: 'x', ip: '52.216.0.1' }, 443), 'redis → internet').toBe(false);
    expect(allowed(objects, { namespace: 'x', labels: { 'mcapflow.io/admin-client': 'true' } }, role('admin'), 8080), 'labelled client → admin').toBe(true);
    expect(allowed(objects, neighbour, role('admin'), 8080), 'unlabelled pod → admin').toBe(false);
    if (objects.some((o) => o.kind === 'ScaledObject')) expect(allowed(objects, kedaOperator, redis, 6379), 'KEDA → redis').toBe(true);
    else expect(allowed(objects, kedaOperator, redis, 6379), 'KEDA → redis only with KEDA').toBe(false);
  });
});

describe('deploy/k8s overlays', () => {
  const local = VARIANTS.find((v) => v.name === 'overlays/local')!.objects;
  const aws = VARIANTS.find((v) => v.name === 'overlays/aws')!.objects;

  it('local: mcapflow uses the in-cluster MinIO, whose bucket notifications reach the admin webhook', () => {
    const config = configMap(local);
    const endpoint = new URL(config.S3_ENDPOINT!);
    const minioService = find(local, 'Service', endpoint.hostname);
    expect((minioService.spec as { ports: { port: number }[] }).ports.map((p) => p.port)).toContain(Number(endpoint.port));
    expect(config.S3_FORCE_PATH_STYLE).toBe('true');
    const minio = workloads(local).find((w) => w.obj.metadata.name === 'minio')!;
    expect(selects({ matchLabels: (minioService.spec as { selector: Record<string, string> }).selector }, minio.labels)).toBe(true);
    const env = new Map((minio.spec.containers[0]!.env ?? []).map((e) => [e.name, e]));
    const webhook = new URL(env.get('MINIO_NOTIFY_WEBHOOK_ENDPOINT_MCAPFLOW')!.value!);
    expect(env.get('MINIO_NOTIFY_WEBHOOK_ENABLE_MCAPFLOW')?.value).toBe('on');
    expect(webhook.pathname).toBe('/v1/events/s3');
    const adminService = find(local, 'Service', webhook.hostname);
    expect((adminService.spec as { ports: { port: number }[] }).ports.map((p) => p.port)).toContain(Number(webhook.port));
    expect(selects({ matchLabels: (adminService.spec as { selector: Record<string, string> }).selector }, roleWorkload(local, 'admin').labels)).toBe(true);
    expect(env.get('MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_MCAPFLOW')?.value).toBe('Bearer $(MCAPFLOW_WEBHOOK_TOKEN)');
    expect(env.get('MCAPFLOW_WEBHOOK_TOKEN')?.valueFrom?.secretKeyRef).toEqual({ name: SECRET_OPTIONS.MCAPFLOW_WEBHOOK_TOKEN!.secret, key: SECRET_OPTIONS.MCAPFLOW_WEBHOOK_TOKEN!.key });
    // MinIO's root credentials are the keys mcapflow reads from mcapflow-s3.
    expect(env.get('MINIO_ROOT_USER')?.valueFrom?.secretKeyRef).toEqual({ name: 'mcapflow-s3', key: 'AWS_ACCESS_KEY_ID' });
    expect(env.get('MINIO_ROOT_PASSWORD')?.valueFrom?.secretKeyRef).toEqual({ name: 'mcapflow-s3', key: 'AWS_SECRET_ACCESS_KEY' });
    const queueDir = env.get('MINIO_NOTIFY_WEBHOOK_QUEUE_DIR_MCAPFLOW')!.value!;
    expect(minio.spec.containers[0]!.volumeMounts?.some((m) => queueDir.startsWith(`${m.mountPath}/`) && minio.spec.volumes?.find((v) => v.name === m.name)?.persistentVolumeClaim)).toBe(true);
    const minioPod = podEndpoint(minio);
    expect(allowed(local, minioPod, podEndpoint(roleWorkload(local, 'admin')), 8080), 'minio → admin webhook').toBe(true);
    expect(allowed(local, minioPod, podEndpoint(workloads(local).find((w) => w.obj.metadata.name === 'mcapflow-redis')!), 6379), 'minio → redis').toBe(false);
    for (const r of ROLES) expect(allowed(local, podEndpoint(roleWorkload(local, r)), minioPod, 9000), `${r} → minio`).toBe(true);
  });

  it('local: the setup job creates the configured buckets and wires the raw bucket to the webhook target', () => {
    const config = configMap(local);
    const job = workloads(local).find((w) => w.obj.kind === 'Job' && w.obj.metadata.name === 'minio-setup')!;
    const commands = allContainers(job.spec).map((c: Container) => c.command!);
    expect(commands).toContainEqual(['mc', 'mb', '--ignore-existing', `local/${config.MCAPFLOW_RAW_BUCKET}`]);
    expect(commands).toContainEqual(['mc', 'mb', '--ignore-existing', `local/${config.MCAPFLOW_DERIVED_BUCKET}`]);
    expect(commands).toContainEqual(['mc', 'event', 'add', '--ignore-existing', `local/${config.MCAPFLOW_RAW_BUCKET}`, 'arn:minio:sqs::MCAPFLOW:webhook', '--event', 'put']);
    for (const c of allContainers(job.spec)) expect(c.env?.find((e) => e.name === 'MC_HOST_local')?.value).toBe(`http://$(MINIO_USER):$(MINIO_PASSWORD)@${new URL(config.S3_ENDPOINT!).host}`);
    expect(allowed(local, podEndpoint(job), podEndpoint(workloads(local).find((w) => w.obj.metadata.name === 'minio')!), 9000)).toBe(true);
  });

  it('aws: AWS endpoints, an IAM role on the service account, SQS events, HTTPS egress only', () => {
    const config = configMap(aws);
    expect(config.S3_ENDPOINT).toBe('');
    expect(config.S3_FORCE_PATH_STYLE).toBe('false');
    expect(new URL(config.MCAPFLOW_SQS_QUEUE_URL!).hostname).toMatch(new RegExp(`^sqs\\.${config.S3_REGION}\\.amazonaws\\.com$`));
    const sa = find(aws, 'ServiceAccount', 'mcapflow');
    expect(sa.metadata.annotations?.['eks.amazonaws.com/role-arn']).toMatch(/^arn:aws:iam::\d{12}:role\/.+/);
    expect((sa as { automountServiceAccountToken?: boolean }).automountServiceAccountToken).toBe(false);
    const s3 = { namespace: 'x', ip: '52.216.0.1' };
    for (const r of ROLES) {
      const pod = podEndpoint(roleWorkload(aws, r));
      expect(allowed(aws, pod, s3, 443), `${r} → S3 over HTTPS`).toBe(true);
      expect(allowed(aws, pod, s3, 80), `${r} → plain HTTP`).toBe(false);
      expect(allowed(aws, pod, { namespace: 'x', ip: '169.254.169.254' }, 80), `${r} → instance metadata`).toBe(false);
    }
    for (const w of workloads(aws).filter(isRole)) expect(splitImage(w.spec.containers[0]!.image).name).toMatch(/\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com\/mcapflow$/);
  });

  it('the monitoring component ships the dashboard and the alert rules of deploy/grafana and deploy/prometheus', () => {
    for (const objects of [local, aws]) {
      const dashboards = objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard === '1');
      expect(dashboards).toHaveLength(1);
      const data = dashboards[0]!.data as Record<string, string>;
      const json = JSON.parse(data['mcapflow.json']!) as { title?: string };
      expect(json.title).toBeTruthy();
      if (existsSync(join(ROOT, 'deploy/grafana/mcapflow.json'))) expect(data['mcapflow.json']).toBe(readFileSync(join(ROOT, 'deploy/grafana/mcapflow.json'), 'utf8'));
      for (const o of objects.filter((x) => x.kind === 'ConfigMap')) expect(Buffer.byteLength(JSON.stringify(o.data ?? {})), `${idOf(o)} fits a ConfigMap`).toBeLessThan(1024 * 1024);
      const rules = objects.filter((o) => o.kind === 'PrometheusRule');
      expect(rules).toHaveLength(1);
      if (existsSync(join(ROOT, 'deploy/prometheus/alerts.yaml'))) {
        const source = parse(readFileSync(join(ROOT, 'deploy/prometheus/alerts.yaml'), 'utf8')) as { groups: unknown[] };
        expect((rules[0]!.spec as { groups: unknown[] }).groups).toEqual(source.groups);
        expect(source.groups.length).toBeGreaterThan(0);
      }
    }
  });

  it('docs/deploy.md creates every Secret and key the overlays reference', () => {
    const docs = readFileSync(join(ROOT, 'docs/deploy.md'), 'utf8');
    for (const [name, objects] of [['local', local], ['aws', aws]] as const) {
      const needed = new Map<string, Set<string>>();
      const need = (secret: string, key: string) => needed.set(secret, (needed.get(secret) ?? new Set()).add(key));
      for (const w of workloads(objects)) {
        for (const c of allContainers(w.spec)) {
          for (const e of c.env ?? []) {
            const ref = e.valueFrom?.secretKeyRef;
            if (ref !== undefined && ref.optional !== true) need(ref.name, ref.key);
          }
        }
      }
      for (const ta of objects.filter((o) => o.kind === 'TriggerAuthentication')) {
        for (const ref of (ta.spec as { secretTargetRef: { name: string; key: string }[] }).secretTargetRef) need(ref.name, ref.key);
      }
      expect(needed.size, name).toBeGreaterThan(0);
      const section = docs.slice(docs.indexOf(`<!-- secrets:${name} -->`), docs.indexOf(`<!-- /secrets:${name} -->`));
      expect(section.length, `docs/deploy.md has a <!-- secrets:${name} --> block`).toBeGreaterThan(30);
      for (const [secret, keys] of needed) {
        const start = section.indexOf(`create secret generic ${secret} `);
        expect(start, `${name}: docs create Secret ${secret}`).toBeGreaterThanOrEqual(0);
        const command = section.slice(start).split(/\n\s*\n|```/)[0]!;
        for (const key of keys) expect(command, `${name}: Secret ${secret} gets ${key}`).toMatch(new RegExp(`--from-(literal|file)=${key}=`));
      }
    }
  });
});

describe('the manifest checks themselves', () => {
  const local = VARIANTS.find((v) => v.name === 'overlays/local')!.objects;

  it('report schema errors and unknown fields', () => {
    const worker = structuredClone(find(local, 'Deployment', 'mcapflow-worker'));
    const container = (worker.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec.containers[0]!;
    container.readinessProbes = container.readinessProbe;
    (container.resources as { limits: Record<string, unknown> }).limits.cpu = 'two';
    const problems = schemaProblems(worker);
    expect(problems.join('\n')).toMatch(/limits\/cpu/);
    const typo = structuredClone(find(local, 'Deployment', 'mcapflow-worker'));
    (typo.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec.containers[0]!.readinessProbes = {};
    expect(schemaProblems(typo)).toEqual(['unknown field /spec/template/spec/containers/0/readinessProbes']);
    const scaled = structuredClone(objectsOf(local, 'ScaledObject')[0]!);
    (scaled.spec as Record<string, unknown>).maxReplicas = 3;
    expect(schemaProblems(scaled)).toEqual(['unknown field /spec/maxReplicas']);
    expect(schemaProblems({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } })[0]).toMatch(/no schema/);
  });

  it('evaluate NetworkPolicies: default deny blocks, a matching rule opens one port only', () => {
    const a: Endpoint = { namespace: 'n', labels: { app: 'a' } };
    const b: Endpoint = { namespace: 'n', labels: { app: 'b' } };
    const policy = (name: string, spec: unknown): K8sObject => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: 'n' }, spec });
    expect(allowed([], a, b, 80)).toBe(true);
    const deny = policy('deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    expect(allowed([deny], a, b, 80)).toBe(false);
    const open = [
      deny,
      policy('out', { podSelector: { matchLabels: { app: 'a' } }, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: { matchLabels: { app: 'b' } } }], ports: [{ port: 80 }] }] }),
      policy('in', { podSelector: { matchLabels: { app: 'b' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { app: 'a' } } }], ports: [{ port: 80 }] }] }),
    ];
    expect(allowed(open, a, b, 80)).toBe(true);
    expect(allowed(open, a, b, 81)).toBe(false);
    expect(allowed(open, b, a, 80)).toBe(false);
    expect(allowed(open, { namespace: 'other', labels: { app: 'a' } }, b, 80)).toBe(false);
  });
});

function objectsOf(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

describe('rendering with kubectl kustomize', () => {
  it('fails with a clear message when kubectl is missing, instead of skipping', () => {
    expect(() => kustomize(join(ROOT, 'deploy/k8s/base'), '/nonexistent/kubectl')).toThrow(
      '/nonexistent/kubectl not found: test/deploy renders deploy/k8s with `kubectl kustomize`, so kubectl must be on PATH',
    );
  });

  it("names the directory and gives kubectl's reason when a kustomization does not render", () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcapflow-kustomize-'));
    try {
      expect(() => kustomize(dir)).toThrow(/^kubectl kustomize .*mcapflow-kustomize-.* failed: .*kustomization/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('splits image references', () => {
    expect(splitImage('redis:7.4.7-alpine')).toEqual({ name: 'redis', tag: '7.4.7-alpine' });
    expect(splitImage('localhost:5000/mcapflow')).toEqual({ name: 'localhost:5000/mcapflow' });
    expect(splitImage('a/b:1@sha256:00')).toEqual({ name: 'a/b', tag: '1', digest: 'sha256:00' });
  });
});

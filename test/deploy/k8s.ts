/**
 * Rendering deploy/k8s with `kubectl kustomize` (kubectl is on the machine image and in CI; the
 * tests fail, never skip, without it) and checks on the rendered Kubernetes objects: schema
 * validation with the kubernetes-models packages (plus unknown-field detection, which their
 * validators do not do), label selectors, pod specs, and a small NetworkPolicy evaluator.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { execFileSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import * as core from 'kubernetes-models/v1';
import * as apps from 'kubernetes-models/apps/v1';
import * as batch from 'kubernetes-models/batch/v1';
import * as policy from 'kubernetes-models/policy/v1';
import * as networking from 'kubernetes-models/networking.k8s.io/v1';
import * as autoscaling from 'kubernetes-models/autoscaling/v2';
import * as keda from '@kubernetes-models/keda/keda.sh/v1alpha1';
import * as monitoring from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';

export const ROOT = join(import.meta.dirname, '..', '..');

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
};

export function idOf(obj: K8sObject): string {
  return `${obj.kind}/${obj.metadata.namespace ?? '~'}/${obj.metadata.name}`;
}

/** `repo/name:tag@digest` into its parts (a registry port is not a tag). */
export function splitImage(image: string): { name: string; tag?: string; digest?: string } {
  const at = image.indexOf('@');
  const digest = at >= 0 ? image.slice(at + 1) : undefined;
  const rest = at >= 0 ? image.slice(0, at) : image;
  const colon = rest.lastIndexOf(':');
  const hasTag = colon > rest.lastIndexOf('/');
  return { name: hasTag ? rest.slice(0, colon) : rest, ...(hasTag ? { tag: rest.slice(colon + 1) } : {}), ...(digest !== undefined ? { digest } : {}) };
}

function parseObjects(text: string, source: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue;
    const obj = value as K8sObject;
    if (typeof obj.kind !== 'string' || typeof obj.metadata?.name !== 'string') throw new Error(`${source}: a document without kind or metadata.name`);
    objects.push(obj);
  }
  return objects;
}

/**
 * `kubectl kustomize DIR`, parsed: exactly the objects `kubectl apply -k DIR` would send.
 * `kubectl` names the binary (a test points it at one that does not exist).
 */
export function kustomize(dir: string, kubectl = 'kubectl'): K8sObject[] {
  let text: string;
  try {
    text = execFileSync(kubectl, ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string };
    if (failure.code === 'ENOENT') {
      throw new Error(
        `${kubectl} not found: test/deploy renders deploy/k8s with \`kubectl kustomize\`, so kubectl must be on PATH (it is on the machine image and in CI)`,
        { cause: error },
      );
    }
    throw new Error(`kubectl kustomize ${relative(ROOT, dir) || dir} failed: ${failure.stderr?.trim() || failure.message}`, { cause: error });
  }
  return parseObjects(text, `kubectl kustomize ${relative(ROOT, dir)}`);
}

type Validating = { prototype: { validate(this: unknown): void } };

/** Model class of every kind deploy/k8s may contain; a kind missing here fails the tests. */
const MODELS: Record<string, Validating> = {
  'v1/Namespace': core.Namespace,
  'v1/ServiceAccount': core.ServiceAccount,
  'v1/ConfigMap': core.ConfigMap,
  'v1/Secret': core.Secret,
  'v1/Service': core.Service,
  'v1/PersistentVolumeClaim': core.PersistentVolumeClaim,
  'apps/v1/Deployment': apps.Deployment,
  'apps/v1/StatefulSet': apps.StatefulSet,
  'batch/v1/Job': batch.Job,
  'policy/v1/PodDisruptionBudget': policy.PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': networking.NetworkPolicy,
  'autoscaling/v2/HorizontalPodAutoscaler': autoscaling.HorizontalPodAutoscaler,
  'keda.sh/v1alpha1/ScaledObject': keda.ScaledObject,
  'keda.sh/v1alpha1/TriggerAuthentication': keda.TriggerAuthentication,
  'monitoring.coreos.com/v1/PodMonitor': monitoring.PodMonitor,
  'monitoring.coreos.com/v1/ServiceMonitor': monitoring.ServiceMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': monitoring.PrometheusRule,
};

interface Visit {
  path: string;
  keys: string[];
  read: Set<string>;
  enumerated: boolean;
}

/** Wraps a value so that every property the validator reads is recorded. */
function track(value: unknown, path: string, visits: Visit[]): unknown {
  if (Array.isArray(value)) return value.map((v, i) => track(v, `${path}/${i}`, visits));
  if (value === null || typeof value !== 'object') return value;
  const visit: Visit = { path, keys: Object.keys(value), read: new Set(), enumerated: false };
  visits.push(visit);
  const inner = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, track(v, `${path}/${k}`, visits)]));
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (typeof property === 'string') visit.read.add(property);
      return Reflect.get(target, property, receiver) as unknown;
    },
    has(target, property) {
      if (typeof property === 'string') visit.read.add(property);
      return Reflect.has(target, property);
    },
    ownKeys(target) {
      visit.enumerated = true;
      return Reflect.ownKeys(target);
    },
  });
}

/**
 * Validates an object against its Kubernetes (or CRD) schema and returns the problems: schema
 * errors, and fields the schema does not know. The generated validators ignore unknown fields,
 * so the object is wrapped in a proxy: a key of an object whose known properties the validator
 * looked up, but which it never read itself, is not in the schema (a typo such as
 * `readinessProbes`). Maps (labels, ConfigMap data) are enumerated by the validator, so all their
 * keys count as read; free-form objects the validator does not look into are not judged.
 */
export function schemaProblems(obj: K8sObject): string[] {
  const model = MODELS[`${obj.apiVersion}/${obj.kind}`];
  if (model === undefined) return [`no schema for ${obj.apiVersion} ${obj.kind} (add its model to test/deploy/k8s.ts)`];
  const visits: Visit[] = [];
  try {
    model.prototype.validate.call(track(obj, '', visits));
  } catch (error) {
    return [(error as Error).message];
  }
  return visits
    .filter((v) => !v.enumerated && v.read.size > 0)
    .flatMap((v) => v.keys.filter((k) => !v.read.has(k)).map((k) => `unknown field ${v.path}/${k}`));
}

/** Renders a kustomization under the repository root, e.g. `deploy/k8s/overlays/aws`. */
export function render(dir: string): K8sObject[] {
  return kustomize(join(ROOT, dir));
}

/** Renders a kustomization given as text, placed in a temporary directory (for component combinations). */
export function renderComposition(resources: string[], components: string[]): K8sObject[] {
  const dir = mkdtempSync(join(tmpdir(), 'mcapflow-kustomize-'));
  const rel = (p: string) => relative(dir, join(ROOT, p));
  writeFileSync(
    join(dir, 'kustomization.yaml'),
    [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      'namespace: mcapflow',
      'resources:',
      ...resources.map((r) => `  - ${rel(r)}`),
      'components:',
      ...components.map((c) => `  - ${rel(c)}`),
      '',
    ].join('\n'),
  );
  try {
    return kustomize(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- selectors and pods ------------------------------------------------------------------------

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

export function selects(selector: LabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
  if (selector === undefined) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = e.key in l;
    if (e.operator === 'In' && !(has && (e.values ?? []).includes(l[e.key]!))) return false;
    if (e.operator === 'NotIn' && has && (e.values ?? []).includes(l[e.key]!)) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

export interface Container {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; configMapKeyRef?: { name: string; key: string } } }[];
  envFrom?: { configMapRef?: { name: string; optional?: boolean }; secretRef?: { name: string; optional?: boolean } }[];
  ports?: { name?: string; containerPort: number }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  securityContext?: SecurityContext;
  volumeMounts?: { name: string; mountPath: string }[];
}

export interface Probe {
  httpGet?: { path: string; port: number | string };
  tcpSocket?: { port: number | string };
  exec?: { command: string[] };
}

export interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type: string };
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: SecurityContext & { fsGroup?: number };
  terminationGracePeriodSeconds?: number;
  serviceAccountName?: string;
  volumes?: { name: string; emptyDir?: { sizeLimit?: string }; persistentVolumeClaim?: { claimName: string }; configMap?: { name: string }; secret?: { secretName: string } }[];
}

export interface Workload {
  obj: K8sObject;
  labels: Record<string, string>;
  spec: PodSpec;
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'Job', 'DaemonSet']);

/** Every pod template of the rendered objects. */
export function workloads(objects: K8sObject[]): Workload[] {
  return objects
    .filter((o) => WORKLOAD_KINDS.has(o.kind))
    .map((obj) => {
      const template = (obj.spec as { template: { metadata?: { labels?: Record<string, string> }; spec: PodSpec } }).template;
      return { obj, labels: template.metadata?.labels ?? {}, spec: template.spec };
    });
}

export function allContainers(spec: PodSpec): Container[] {
  return [...(spec.initContainers ?? []), ...spec.containers];
}

export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (found === undefined) throw new Error(`no ${kind} ${name}`);
  return found;
}

/** The ConfigMap mcapflow-config (its name carries a content hash). */
export function configMap(objects: K8sObject[]): Record<string, string> {
  const found = objects.filter((o) => o.kind === 'ConfigMap' && /^mcapflow-config(-[a-z0-9]{10})?$/.test(o.metadata.name));
  if (found.length !== 1) throw new Error(`expected one mcapflow-config ConfigMap, found ${found.length}`);
  return (found[0]!.data as Record<string, string> | undefined) ?? {};
}

// ---- NetworkPolicy -----------------------------------------------------------------------------

export interface Endpoint {
  namespace: string;
  /** Labels of the namespace; kubernetes.io/metadata.name is added automatically. */
  namespaceLabels?: Record<string, string>;
  /** Pod labels; undefined for an address outside the cluster. */
  labels?: Record<string, string>;
  /** For an address outside the cluster. */
  ip?: string;
}

interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

interface PolicyRule {
  from?: PolicyPeer[];
  to?: PolicyPeer[];
  ports?: { protocol?: string; port?: number | string; endPort?: number }[];
}

interface PolicySpec {
  podSelector: LabelSelector;
  policyTypes?: string[];
  ingress?: PolicyRule[];
  egress?: PolicyRule[];
}

function ipInCidr(ip: string, cidr: string): boolean {
  const toInt = (a: string) => a.split('.').reduce((acc, part) => (acc << 8) + Number(part), 0) >>> 0;
  const [base, bits] = cidr.split('/');
  const mask = Number(bits) === 0 ? 0 : (~0 << (32 - Number(bits))) >>> 0;
  return ((toInt(ip) & mask) >>> 0) === ((toInt(base!) & mask) >>> 0);
}

function peerMatches(peer: PolicyPeer, policyNamespace: string, other: Endpoint): boolean {
  if (peer.ipBlock !== undefined) {
    // ipBlock is meant for addresses outside the cluster (pod IPs are not predictable).
    if (other.ip === undefined) return false;
    return ipInCidr(other.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((c) => ipInCidr(other.ip!, c));
  }
  if (other.labels === undefined) return false;
  const nsLabels = { ...other.namespaceLabels, 'kubernetes.io/metadata.name': other.namespace };
  const nsOk = peer.namespaceSelector !== undefined ? selects(peer.namespaceSelector, nsLabels) : other.namespace === policyNamespace;
  const podOk = peer.podSelector !== undefined ? selects(peer.podSelector, other.labels) : true;
  return nsOk && podOk;
}

function ruleAllows(rule: PolicyRule, peers: PolicyPeer[] | undefined, policyNamespace: string, other: Endpoint, port: number, portName: string | undefined): boolean {
  const peerOk = peers === undefined || peers.length === 0 || peers.some((p) => peerMatches(p, policyNamespace, other));
  const portOk =
    rule.ports === undefined ||
    rule.ports.length === 0 ||
    rule.ports.some((p) => (p.protocol ?? 'TCP') === 'TCP' && (p.port === undefined || p.port === port || (portName !== undefined && p.port === portName) || (p.endPort !== undefined && typeof p.port === 'number' && port >= p.port && port <= p.endPort)));
  return peerOk && portOk;
}

/**
 * Whether a TCP connection from `from` to `to`:`port` is allowed by the NetworkPolicies among
 * `objects`: the source's egress and the destination's ingress must both allow it (a side no
 * policy selects for that direction allows everything).
 */
export function allowed(objects: K8sObject[], from: Endpoint, to: Endpoint, port: number, portName?: string): boolean {
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy').map((o) => ({ ns: o.metadata.namespace ?? 'default', spec: o.spec as PolicySpec }));
  const types = (spec: PolicySpec) => spec.policyTypes ?? (spec.egress !== undefined ? ['Ingress', 'Egress'] : ['Ingress']);
  const side = (subject: Endpoint, other: Endpoint, direction: 'Ingress' | 'Egress'): boolean => {
    if (subject.labels === undefined) return true; // outside the cluster: not governed
    const governing = policies.filter((p) => p.ns === subject.namespace && selects(p.spec.podSelector, subject.labels) && types(p.spec).includes(direction));
    if (governing.length === 0) return true;
    return governing.some((p) =>
      (direction === 'Ingress' ? (p.spec.ingress ?? []) : (p.spec.egress ?? [])).some((rule) =>
        ruleAllows(rule, direction === 'Ingress' ? rule.from : rule.to, p.ns, other, port, direction === 'Ingress' ? portName : undefined),
      ),
    );
  };
  return side(from, to, 'Egress') && side(to, from, 'Ingress');
}

/**
 * `kustomize build` for the subset of kustomize that deploy/k8s uses, so the manifest tests run
 * without a kustomize binary. When kubectl is installed, test/deploy compares this renderer's
 * output with `kubectl kustomize` object by object.
 *
 * Supported, with kustomize's semantics and order (kusttarget.go): `resources` (files and
 * directories), `components`, `configMapGenerator` (envs, files, literals; behavior create,
 * merge, replace; options and generatorOptions), then the transformers `patches` (strategic
 * merge for built-in kinds, JSON merge for custom resources, JSON 6902), `namespace`, `labels`
 * (metadata only) and `images`; at the end, content-hash suffixes on generated ConfigMaps and
 * the references to them in pod specs. Anything else in a kustomization is an error, never
 * silently ignored.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
};

interface Resource {
  obj: K8sObject;
  /** Set on ConfigMaps made by a generator. */
  generated?: { hash: boolean };
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface GeneratorOptions {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  disableNameSuffixHash?: boolean;
}

interface ConfigMapGeneratorArgs {
  name: string;
  namespace?: string;
  behavior?: 'create' | 'merge' | 'replace';
  envs?: string[];
  files?: string[];
  literals?: string[];
  options?: GeneratorOptions;
}

interface PatchTarget {
  group?: string;
  version?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  labelSelector?: string;
}

interface Kustomization {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  resources?: string[];
  components?: string[];
  labels?: { pairs: Record<string, string>; includeSelectors?: boolean; includeTemplates?: boolean; fields?: unknown }[];
  images?: { name: string; newName?: string; newTag?: string; digest?: string }[];
  configMapGenerator?: ConfigMapGeneratorArgs[];
  generatorOptions?: GeneratorOptions;
  patches?: { path?: string; patch?: string; target?: PatchTarget; options?: unknown }[];
}

const SUPPORTED_FIELDS = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'components', 'labels', 'images', 'configMapGenerator', 'generatorOptions', 'patches']);

const CLUSTER_SCOPED = new Set([
  'Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PersistentVolume', 'StorageClass',
  'PriorityClass', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'APIService', 'IngressClass',
  'RuntimeClass', 'ClusterTriggerAuthentication', 'CSIDriver', 'VolumeSnapshotClass',
]);

/** API groups whose kinds kustomize patches with strategic merge (merge keys); others get JSON merge patch. */
const BUILTIN_GROUPS = new Set(['', 'apps', 'batch', 'policy', 'networking.k8s.io', 'autoscaling', 'rbac.authorization.k8s.io', 'storage.k8s.io']);

/** Strategic-merge keys of the list fields that mcapflow's patches can touch. */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  env: 'name',
  volumeMounts: 'mountPath',
  imagePullSecrets: 'name',
  topologySpreadConstraints: 'topologyKey',
};

export class KustomizeError extends Error {}

function fail(message: string): never {
  throw new KustomizeError(message);
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

/** Every document of a YAML file, aliases resolved; empty documents dropped. */
export function parseYamlDocuments(text: string, source: string): unknown[] {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) fail(`${source}: not a YAML stream`);
  const out: unknown[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) fail(`${source}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS({ maxAliasCount: 1000 }) as unknown;
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    fail(`cannot read ${path}: ${(error as Error).message}`);
  }
}

function loadKustomization(dir: string): Kustomization {
  const docs = parseYamlDocuments(readText(join(dir, 'kustomization.yaml')), join(dir, 'kustomization.yaml'));
  if (docs.length !== 1 || !isObject(docs[0])) fail(`${dir}/kustomization.yaml must hold one mapping`);
  const k = docs[0] as Kustomization;
  for (const field of Object.keys(k)) if (!SUPPORTED_FIELDS.has(field)) fail(`${dir}/kustomization.yaml: field "${field}" is not supported by this renderer`);
  return k;
}

function asObject(value: unknown, source: string): K8sObject {
  if (!isObject(value)) fail(`${source}: a resource must be a mapping`);
  const obj = value as unknown as K8sObject;
  if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string' || !isObject(obj.metadata) || typeof obj.metadata.name !== 'string') {
    fail(`${source}: every resource needs apiVersion, kind and metadata.name`);
  }
  return obj;
}

export function groupOf(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
}

function versionOf(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.slice(apiVersion.indexOf('/') + 1) : apiVersion;
}

export function idOf(obj: K8sObject): string {
  return `${obj.kind}/${obj.metadata.namespace ?? '~'}/${obj.metadata.name}`;
}

// ---- generators --------------------------------------------------------------------------------

function stripQuotes(value: string): string {
  if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0]) return value.slice(1, -1);
  return value;
}

function envFilePairs(text: string, source: string): [string, string][] {
  const pairs: [string, string][] = [];
  for (const raw of text.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    const line = raw.trimStart();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    // kustomize would read a bare KEY from the renderer's own environment: never wanted here.
    if (eq < 0) fail(`${source}: "${line}" has no "=" (kustomize would take the value from the environment)`);
    const key = line.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key)) fail(`${source}: "${key}" is not a valid environment variable name`);
    pairs.push([key, line.slice(eq + 1)]);
  }
  return pairs;
}

function generateConfigMap(args: ConfigMapGeneratorArgs, dir: string, generatorOptions: GeneratorOptions | undefined): Resource {
  const data: Record<string, string> = {};
  const put = (key: string, value: string, source: string) => {
    if (key in data) fail(`${source}: key ${key} appears twice in configMapGenerator ${args.name}`);
    data[key] = value;
  };
  for (const env of args.envs ?? []) {
    const path = join(dir, env);
    for (const [key, value] of envFilePairs(readText(path), path)) put(key, value, path);
  }
  for (const file of args.files ?? []) {
    const eq = file.indexOf('=');
    const key = eq < 0 ? basename(file) : file.slice(0, eq);
    const path = join(dir, eq < 0 ? file : file.slice(eq + 1));
    if (!resolve(path).startsWith(resolve(dir))) fail(`${path}: kustomize only loads files inside the kustomization's directory`);
    put(key, readText(path), path);
  }
  for (const literal of args.literals ?? []) {
    const eq = literal.indexOf('=');
    if (eq < 0) fail(`configMapGenerator ${args.name}: literal "${literal}" has no "="`);
    put(literal.slice(0, eq), stripQuotes(literal.slice(eq + 1)), `configMapGenerator ${args.name}`);
  }
  const options = { ...generatorOptions, ...args.options };
  const metadata: K8sObject['metadata'] = { name: args.name };
  if (args.namespace !== undefined) metadata.namespace = args.namespace;
  const labels = { ...generatorOptions?.labels, ...args.options?.labels };
  const annotations = { ...generatorOptions?.annotations, ...args.options?.annotations };
  if (Object.keys(labels).length > 0) metadata.labels = labels;
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  const obj: K8sObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata };
  if (Object.keys(data).length > 0) obj.data = data;
  return { obj, generated: { hash: options.disableNameSuffixHash !== true } };
}

function runGenerators(k: Kustomization, dir: string, resources: Resource[]): Resource[] {
  const out = [...resources];
  for (const args of k.configMapGenerator ?? []) {
    const made = generateConfigMap(args, dir, k.generatorOptions);
    const behavior = args.behavior ?? 'create';
    const index = out.findIndex(
      (r) => r.obj.kind === 'ConfigMap' && r.obj.metadata.name === args.name && (args.namespace === undefined || r.obj.metadata.namespace === undefined || r.obj.metadata.namespace === args.namespace),
    );
    if (behavior === 'create') {
      if (index >= 0) fail(`configMapGenerator ${args.name}: a ConfigMap of that name exists already (use behavior: merge or replace)`);
      out.push(made);
      continue;
    }
    if (index < 0) fail(`configMapGenerator ${args.name}: behavior ${behavior} needs an existing ConfigMap of that name`);
    const existing = out[index]!;
    if (existing.generated === undefined) fail(`configMapGenerator ${args.name}: behavior ${behavior} applies to generated ConfigMaps only`);
    const obj = clone(existing.obj);
    const mergedData = behavior === 'merge' ? { ...(obj.data as Record<string, string> | undefined), ...(made.obj.data as Record<string, string> | undefined) } : { ...(made.obj.data as Record<string, string> | undefined) };
    if (Object.keys(mergedData).length > 0) obj.data = mergedData;
    else delete obj.data;
    if (made.obj.metadata.labels) obj.metadata.labels = { ...obj.metadata.labels, ...made.obj.metadata.labels };
    if (made.obj.metadata.annotations) obj.metadata.annotations = { ...obj.metadata.annotations, ...made.obj.metadata.annotations };
    const hash = args.options?.disableNameSuffixHash !== undefined ? !args.options.disableNameSuffixHash : existing.generated.hash;
    out[index] = { obj, generated: { hash } };
  }
  return out;
}

// ---- patches -----------------------------------------------------------------------------------

function strategicMerge(target: Json, patch: Json, strategic: boolean, field = ''): Json {
  if (!isObject(patch)) return clone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _ignored, ...rest } = patch;
    return clone(rest);
  }
  if (patch.$patch !== undefined) fail(`unsupported patch directive $patch: ${String(patch.$patch)} in ${field || 'patch'}`);
  const out: JsonObject = isObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$')) fail(`unsupported patch directive ${key}`);
    if (value === null) {
      delete out[key];
      continue;
    }
    const current = out[key];
    if (Array.isArray(value)) {
      out[key] = strategic && Array.isArray(current) ? mergeList(current, value, key) : value.filter((v) => !(isObject(v) && v.$patch === 'delete')).map((v) => clone(v));
    } else if (isObject(value)) {
      out[key] = strategicMerge(current ?? null, value, strategic, key);
    } else {
      out[key] = value;
    }
  }
  return out;
}

function mergeList(current: Json[], patch: Json[], field: string): Json[] {
  let key = MERGE_KEYS[field];
  if (field === 'ports') key = patch.some((p) => isObject(p) && 'containerPort' in p) ? 'containerPort' : 'port';
  if (key === undefined || !patch.every((p) => isObject(p) && p[key] !== undefined)) return patch.map((v) => clone(v));
  const out = current.map((v) => clone(v));
  for (const item of patch as JsonObject[]) {
    const index = out.findIndex((c) => isObject(c) && c[key] === item[key]);
    if (item.$patch === 'delete') {
      if (index >= 0) out.splice(index, 1);
    } else if (index >= 0) {
      out[index] = strategicMerge(out[index]!, item, true, field);
    } else {
      out.push(strategicMerge(null, item, true, field));
    }
  }
  return out;
}

function decodePointer(path: string): string[] {
  if (!path.startsWith('/')) fail(`JSON pointer "${path}" must start with /`);
  return path.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function jsonPatch(doc: Json, ops: JsonObject[]): Json {
  let root = clone(doc);
  const locate = (path: string): { parent: Json; key: string } => {
    const parts = decodePointer(path);
    let parent: Json = root;
    for (const part of parts.slice(0, -1)) {
      const next: Json | undefined = Array.isArray(parent) ? parent[Number(part)] : isObject(parent) ? parent[part] : undefined;
      if (next === undefined) fail(`JSON patch path ${path}: ${part} does not exist`);
      parent = next;
    }
    return { parent, key: parts.at(-1)! };
  };
  const get = (path: string): Json => {
    const { parent, key } = locate(path);
    const value = Array.isArray(parent) ? parent[Number(key)] : isObject(parent) ? parent[key] : undefined;
    if (value === undefined) fail(`JSON patch path ${path} does not exist`);
    return value;
  };
  const remove = (path: string): void => {
    get(path);
    const { parent, key } = locate(path);
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete (parent as JsonObject)[key];
  };
  const add = (path: string, value: Json): void => {
    if (path === '') {
      root = clone(value);
      return;
    }
    const { parent, key } = locate(path);
    if (Array.isArray(parent)) {
      const index = key === '-' ? parent.length : Number(key);
      if (!(index >= 0 && index <= parent.length)) fail(`JSON patch add ${path}: index out of range`);
      parent.splice(index, 0, clone(value));
    } else if (isObject(parent)) parent[key] = clone(value);
    else fail(`JSON patch add ${path}: parent is not a container`);
  };
  for (const op of ops) {
    const path = String(op.path);
    switch (op.op) {
      case 'add':
        add(path, op.value as Json);
        break;
      case 'remove':
        remove(path);
        break;
      case 'replace':
        get(path);
        remove(path);
        add(path, op.value as Json);
        break;
      case 'test':
        if (JSON.stringify(get(path)) !== JSON.stringify(op.value)) fail(`JSON patch test ${path} failed`);
        break;
      case 'move':
      case 'copy': {
        const value = get(String(op.from));
        if (op.op === 'move') remove(String(op.from));
        add(path, value);
        break;
      }
      default:
        fail(`unknown JSON patch op ${String(op.op)}`);
    }
  }
  return root;
}

function labelSelectorMatches(selector: string, labels: Record<string, string> | undefined): boolean {
  return selector.split(',').every((term) => {
    const [key, value] = term.split('=').map((s) => s.trim());
    return key !== undefined && value !== undefined && labels?.[key] === value;
  });
}

function targetMatches(target: PatchTarget, obj: K8sObject): boolean {
  const anchored = (pattern: string, value: string) => new RegExp(`^(?:${pattern})$`).test(value);
  if (target.group !== undefined && groupOf(obj.apiVersion) !== target.group) return false;
  if (target.version !== undefined && versionOf(obj.apiVersion) !== target.version) return false;
  if (target.kind !== undefined && !anchored(target.kind, obj.kind)) return false;
  if (target.name !== undefined && !anchored(target.name, obj.metadata.name)) return false;
  if (target.namespace !== undefined && !anchored(target.namespace, obj.metadata.namespace ?? '')) return false;
  if (target.labelSelector !== undefined && !labelSelectorMatches(target.labelSelector, obj.metadata.labels)) return false;
  return true;
}

function applyPatches(k: Kustomization, dir: string, resources: Resource[]): Resource[] {
  let out = resources;
  for (const entry of k.patches ?? []) {
    if (entry.options !== undefined) fail('patch options are not supported by this renderer');
    if ((entry.path === undefined) === (entry.patch === undefined)) fail('a patch needs exactly one of path and patch');
    const source = entry.path !== undefined ? join(dir, entry.path) : 'inline patch';
    const docs = parseYamlDocuments(entry.path !== undefined ? readText(join(dir, entry.path)) : entry.patch!, source);
    const isJson6902 = docs.length === 1 && Array.isArray(docs[0]);
    if (isJson6902) {
      if (entry.target === undefined) fail(`${source}: a JSON 6902 patch needs a target`);
      let matched = 0;
      out = out.map((r) => {
        if (!targetMatches(entry.target!, r.obj)) return r;
        matched += 1;
        return { ...r, obj: jsonPatch(r.obj as unknown as Json, docs[0] as JsonObject[]) as unknown as K8sObject };
      });
      if (matched === 0) fail(`${source}: the patch target matches no resource`);
      continue;
    }
    for (const doc of docs) {
      const patch = asObject(doc, source);
      let matched = 0;
      out = out.map((r) => {
        const selected = entry.target !== undefined ? targetMatches(entry.target, r.obj) : r.obj.kind === patch.kind && r.obj.metadata.name === patch.metadata.name && groupOf(r.obj.apiVersion) === groupOf(patch.apiVersion);
        if (!selected) return r;
        matched += 1;
        const strategic = BUILTIN_GROUPS.has(groupOf(r.obj.apiVersion));
        const body = clone(patch) as unknown as JsonObject;
        if (entry.target !== undefined) {
          // With a target the patch's own name does not rename what it patches.
          delete (body.metadata as JsonObject).name;
        }
        return { ...r, obj: strategicMerge(r.obj as unknown as Json, body, strategic) as unknown as K8sObject };
      });
      if (matched === 0) fail(`${source}: no resource ${patch.kind}/${patch.metadata.name} to patch`);
    }
  }
  return out;
}

// ---- namespace, labels, images -----------------------------------------------------------------

function applyNamespace(k: Kustomization, resources: Resource[]): Resource[] {
  if (k.namespace === undefined) return resources;
  return resources.map((r) => {
    if (CLUSTER_SCOPED.has(r.obj.kind)) return r;
    const obj = clone(r.obj);
    obj.metadata.namespace = k.namespace;
    return { ...r, obj };
  });
}

function applyLabels(k: Kustomization, resources: Resource[]): Resource[] {
  let out = resources;
  for (const entry of k.labels ?? []) {
    if (entry.includeSelectors || entry.includeTemplates || entry.fields !== undefined) fail('labels: only metadata labels (no includeSelectors, includeTemplates, fields) are supported by this renderer');
    out = out.map((r) => {
      const obj = clone(r.obj);
      obj.metadata.labels = { ...obj.metadata.labels, ...entry.pairs };
      return { ...r, obj };
    });
  }
  return out;
}

export function splitImage(image: string): { name: string; tag?: string; digest?: string } {
  const at = image.indexOf('@');
  const digest = at >= 0 ? image.slice(at + 1) : undefined;
  const rest = at >= 0 ? image.slice(0, at) : image;
  const colon = rest.lastIndexOf(':');
  const hasTag = colon > rest.lastIndexOf('/');
  return { name: hasTag ? rest.slice(0, colon) : rest, ...(hasTag ? { tag: rest.slice(colon + 1) } : {}), ...(digest !== undefined ? { digest } : {}) };
}

function rewriteImages(value: Json, images: NonNullable<Kustomization['images']>): void {
  if (Array.isArray(value)) {
    for (const item of value) rewriteImages(item, images);
    return;
  }
  if (!isObject(value)) return;
  for (const [key, child] of Object.entries(value)) {
    if ((key === 'containers' || key === 'initContainers') && Array.isArray(child)) {
      for (const container of child) {
        if (!isObject(container) || typeof container.image !== 'string') continue;
        const current = splitImage(container.image);
        const rule = images.find((i) => i.name === current.name);
        if (rule === undefined) continue;
        const suffix = rule.digest !== undefined ? `@${rule.digest}` : rule.newTag !== undefined ? `:${rule.newTag}` : `${current.tag !== undefined ? `:${current.tag}` : ''}${current.digest !== undefined ? `@${current.digest}` : ''}`;
        container.image = `${rule.newName ?? current.name}${suffix}`;
      }
    }
    rewriteImages(child, images);
  }
}

function applyImages(k: Kustomization, resources: Resource[]): Resource[] {
  if (k.images === undefined) return resources;
  return resources.map((r) => {
    const obj = clone(r.obj);
    rewriteImages(obj as unknown as Json, k.images!);
    return { ...r, obj };
  });
}

// ---- the build ---------------------------------------------------------------------------------

function loadResources(dir: string, entry: string): Resource[] {
  const path = join(dir, entry);
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch {
    fail(`${path} does not exist`);
  }
  if (isDirectory) return accumulate(path, 'Kustomization', []);
  return parseYamlDocuments(readText(path), path).map((doc) => ({ obj: asObject(doc, path) }));
}

function accumulate(dir: string, kind: 'Kustomization' | 'Component', start: Resource[]): Resource[] {
  const k = loadKustomization(dir);
  if ((k.kind ?? 'Kustomization') !== kind) fail(`${dir}: expected a ${kind}, found ${k.kind ?? 'Kustomization'}`);
  let resources = [...start];
  for (const entry of k.resources ?? []) {
    for (const r of loadResources(dir, entry)) {
      if (resources.some((x) => idOf(x.obj) === idOf(r.obj))) fail(`${dir}: ${idOf(r.obj)} is defined twice`);
      resources.push(r);
    }
  }
  for (const component of k.components ?? []) resources = accumulate(join(dir, component), 'Component', resources);
  resources = runGenerators(k, dir, resources);
  resources = applyPatches(k, dir, resources);
  resources = applyNamespace(k, resources);
  resources = applyLabels(k, resources);
  resources = applyImages(k, resources);
  return resources;
}

/** Go's encoding/json of a value with sorted keys (how kustomize hashes a ConfigMap). */
function goJson(value: Json): string {
  const sorted = (v: Json): Json => (Array.isArray(v) ? v.map(sorted) : isObject(v) ? Object.fromEntries(Object.keys(v).sort().map((key) => [key, sorted(v[key]!)])) : v);
  return JSON.stringify(sorted(value)).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * kustomize's ConfigMap name suffix: sha256 of the JSON of {data, kind, name}, its first 10 hex
 * digits with look-alikes swapped. kustomize 5 looks the name up with a path that never matches
 * (`metadata/name` as one field), so "name" is always "" in what it hashes; this does the same.
 */
export function configMapHash(obj: K8sObject): string {
  const encoded: JsonObject = { kind: 'ConfigMap', name: '', data: (obj.data as JsonObject | undefined) ?? {} };
  if (obj.immutable === true) encoded.immutable = true;
  if (obj.binaryData !== undefined) encoded.binaryData = obj.binaryData as JsonObject;
  const hex = createHash('sha256').update(goJson(encoded)).digest('hex');
  const swap: Record<string, string> = { '0': 'g', '1': 'h', '3': 'k', a: 'm', e: 't' };
  return [...hex.slice(0, 10)].map((c) => swap[c] ?? c).join('');
}

function podSpecs(obj: K8sObject): JsonObject[] {
  const spec = obj.spec as JsonObject | undefined;
  if (!isObject(spec)) return [];
  if (obj.kind === 'Pod') return [spec];
  if (obj.kind === 'CronJob') {
    const inner = ((spec.jobTemplate as JsonObject | undefined)?.spec as JsonObject | undefined)?.template as JsonObject | undefined;
    return isObject(inner?.spec) ? [inner.spec] : [];
  }
  const template = spec.template as JsonObject | undefined;
  return isObject(template) && isObject(template.spec) ? [template.spec] : [];
}

function renameConfigMapRefs(obj: K8sObject, from: string, to: string): void {
  for (const spec of podSpecs(obj)) {
    const containers = [...((spec.containers as JsonObject[] | undefined) ?? []), ...((spec.initContainers as JsonObject[] | undefined) ?? [])];
    for (const c of containers) {
      for (const e of (c.envFrom as JsonObject[] | undefined) ?? []) {
        const ref = e.configMapRef as JsonObject | undefined;
        if (ref?.name === from) ref.name = to;
      }
      for (const e of (c.env as JsonObject[] | undefined) ?? []) {
        const ref = (e.valueFrom as JsonObject | undefined)?.configMapKeyRef as JsonObject | undefined;
        if (ref?.name === from) ref.name = to;
      }
    }
    for (const v of (spec.volumes as JsonObject[] | undefined) ?? []) {
      const cm = v.configMap as JsonObject | undefined;
      if (cm?.name === from) cm.name = to;
      for (const s of ((v.projected as JsonObject | undefined)?.sources as JsonObject[] | undefined) ?? []) {
        const ref = s.configMap as JsonObject | undefined;
        if (ref?.name === from) ref.name = to;
      }
    }
  }
}

/** `kustomize build DIR`: the objects, in the order they were accumulated. */
export function kustomizeBuild(dir: string): K8sObject[] {
  const resources = accumulate(resolve(dir), 'Kustomization', []);
  for (const r of resources) {
    if (r.generated?.hash !== true) continue;
    const from = r.obj.metadata.name;
    const to = `${from}-${configMapHash(r.obj)}`;
    r.obj.metadata.name = to;
    for (const other of resources) if (other.obj.metadata.namespace === r.obj.metadata.namespace) renameConfigMapRefs(other.obj, from, to);
  }
  return resources.map((r) => r.obj);
}

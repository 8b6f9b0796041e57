/**
 * Static checks of the Dockerfile and .dockerignore (no Docker engine runs here, so the image
 * is never built in the tests): pinned base images on a Node the project supports, every COPY
 * source present in the build context, the entrypoint, a numeric non-root user, production-only
 * dependencies that still cover every package the runtime code imports.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './k8s.ts';

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** Dockerfile instructions, line continuations joined, comments dropped. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const first = lines[i]!;
    if (/^\s*(#|$)/.test(first)) continue;
    const start = i;
    let joined = first;
    while (/\\\s*$/.test(joined) && i + 1 < lines.length) {
      i += 1;
      const next = lines[i]!;
      if (/^\s*#/.test(next)) continue; // comment lines inside a continuation are skipped
      joined = `${joined.replace(/\\\s*$/, '')}\n${next}`;
    }
    const match = /^\s*([A-Za-z]+)\s+([\s\S]*)$/.exec(joined);
    if (match === null) throw new Error(`Dockerfile line ${start + 1}: cannot parse ${JSON.stringify(first)}`);
    out.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.trim(), line: start + 1 });
  }
  return out;
}

interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

function stages(instructions: Instruction[]): Stage[] {
  const out: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const parts = ins.args.split(/\s+/).filter((p) => !p.startsWith('--'));
      out.push({ image: parts[0]!, name: parts[2], instructions: [] });
    } else if (out.length > 0) out.at(-1)!.instructions.push(ins);
  }
  return out;
}

/** COPY flags and operands (JSON form not used here). */
function copyOperands(args: string): { flags: Record<string, string>; sources: string[]; destination: string } {
  const words = args.split(/\s+/);
  const flags: Record<string, string> = {};
  while (words[0]?.startsWith('--')) {
    const [k, v] = words.shift()!.slice(2).split('=');
    flags[k!] = v ?? '';
  }
  return { flags, sources: words.slice(0, -1), destination: words.at(-1)! };
}

/** Whether .dockerignore leaves `path` in the build context (the patterns this repo uses: `*`, `!name`, `!dir/`). */
function inContext(path: string, patterns: string[]): boolean {
  let included = true;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).replace(/\/$/, '');
    const matches = pattern === '*' ? true : path === pattern || path.startsWith(`${pattern}/`);
    if (!/^[*]$|^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(pattern)) throw new Error(`.dockerignore pattern ${raw} is not understood by this test`);
    if (matches) included = negated;
  }
  return included;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const instructions = parseDockerfile(dockerfile);
const all = stages(instructions);
const runtime = all.at(-1)!;
const build = all[0]!;
const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
  dependencies: Record<string, string>;
  allowScripts?: Record<string, boolean>;
};

describe('Dockerfile', () => {
  it('builds in two stages from exact Node versions the project supports, the same Node in both', () => {
    expect(all.length).toBe(2);
    const versions = all.map((s) => {
      const match = /^node:(\d+)\.(\d+)\.(\d+)-[a-z]+(?:-slim)?(@sha256:[0-9a-f]{64})?$/.exec(s.image);
      expect(match, `${s.image} is pinned to an exact Node version`).not.toBeNull();
      return match!.slice(1, 4).map(Number) as [number, number, number];
    });
    expect(versions[0]).toEqual(versions[1]); // native addons are built for the runtime's ABI
    const [major, minor] = /^>=(\d+)\.(\d+)/.exec(pkg.engines.node)!.slice(1).map(Number) as [number, number];
    const [vMajor, vMinor] = versions[0]!;
    expect(vMajor > major || (vMajor === major && vMinor >= minor), `${versions[0]!.join('.')} satisfies engines ${pkg.engines.node}`).toBe(true);
    expect(runtime.image).toMatch(/-slim(@|$)/);
    // DuckDB's prebuilt bindings in the lockfile are for linux-x64 with glibc.
    expect(runtime.image).not.toMatch(/alpine/);
    for (const from of instructions.filter((i) => i.keyword === 'FROM')) expect(from.args).toContain('--platform=linux/amd64');
  });

  it('copies only what exists in the build context', () => {
    for (const stage of all) {
      for (const copy of stage.instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')) {
        expect(copy.keyword, `line ${copy.line}: COPY, not ADD`).toBe('COPY');
        const { flags, sources } = copyOperands(copy.args);
        if (flags.from !== undefined) continue;
        for (const source of sources) {
          expect(existsSync(join(ROOT, source)), `line ${copy.line}: ${source} exists`).toBe(true);
          expect(inContext(source.replace(/\/$/, ''), ignore), `line ${copy.line}: ${source} is not excluded by .dockerignore`).toBe(true);
        }
      }
    }
  });

  it('copies from the build stage only what the build stage has', () => {
    const workdir = build.instructions.filter((i) => i.keyword === 'WORKDIR').at(-1)!.args;
    const present = new Set([`${workdir}/node_modules`]);
    for (const copy of build.instructions.filter((i) => i.keyword === 'COPY')) {
      const { sources, destination } = copyOperands(copy.args);
      for (const s of sources) {
        const name = s.replace(/\/$/, '').split('/').at(-1)!;
        const dest = destination === './' || destination === '.' ? `${workdir}/${name}` : `${workdir}/${destination.replace(/^\.\//, '').replace(/\/$/, '')}`;
        present.add(sources.length > 1 ? `${workdir}/${name}` : dest);
      }
    }
    for (const copy of runtime.instructions.filter((i) => i.keyword === 'COPY')) {
      const { flags, sources } = copyOperands(copy.args);
      expect(flags.from, `line ${copy.line}: the runtime stage takes files from the build stage`).toBe(build.name);
      for (const s of sources) expect(present.has(s), `line ${copy.line}: ${s} exists in the build stage`).toBe(true);
    }
  });

  it('the context keeps out what the image must not contain', () => {
    for (const path of ['node_modules', '.git', '.mcapflow', 'test', 'docs', 'deploy', 'bench', 'scripts']) expect(inContext(path, ignore), path).toBe(false);
    for (const path of ['package.json', 'package-lock.json', 'tsconfig.json', 'bin/mcapflow.js', 'src/cli/main.ts']) expect(inContext(path, ignore), path).toBe(true);
  });

  it('installs production dependencies with npm ci (the lockfile is complete) and builds natives with a toolchain', () => {
    const runs = build.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(runs.some((r) => /npm ci --omit=dev\b/.test(r))).toBe(true);
    expect(dockerfile).not.toMatch(/^\s*RUN[^\n]*\bnpm install --omit/m);
    expect(runs.some((r) => /python3 --version/.test(r) && /make --version/.test(r) && /g\+\+ --version/.test(r))).toBe(true);
    expect(runs.some((r) => /npm install --global npm@11\./.test(r)), 'npm 11 honours allowScripts').toBe(true);
    // Installing packages in the runtime stage would defeat the slim image.
    expect(runtime.instructions.some((i) => i.keyword === 'RUN' && /apt-get|npm install/.test(i.args))).toBe(false);
    if ('hnswlib-node' in pkg.dependencies) expect(pkg.allowScripts?.['hnswlib-node'], 'hnswlib-node may run its node-gyp build').toBe(true);
  });

  it('every package the runtime code imports is a production dependency', () => {
    const files = [...filesUnder(join(ROOT, 'src')), join(ROOT, 'bin', 'mcapflow.js')].filter((f) => /\.(ts|js|mjs)$/.test(f));
    const imported = new Map<string, string>();
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const specifiers = [
        ...[...text.matchAll(/^\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)].map((m) => m[1]!),
        ...[...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!),
      ];
      for (const s of specifiers) {
        if (s.startsWith('.') || s.startsWith('node:')) continue;
        const name = s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!;
        imported.set(name, relative(ROOT, file));
      }
    }
    expect(imported.size).toBeGreaterThan(5);
    for (const [name, file] of imported) expect(pkg.dependencies[name], `${name} (imported by ${file}) is in "dependencies", so npm ci --omit=dev installs it`).toBeDefined();
    expect(pkg.dependencies.tsx, 'bin/mcapflow.js runs src/ through tsx').toBeDefined();
  });

  it('runs bin/mcapflow.js as a numeric non-root user', () => {
    const entrypoint = runtime.instructions.filter((i) => i.keyword === 'ENTRYPOINT').at(-1)!;
    expect(JSON.parse(entrypoint.args)).toEqual(['node', '/app/bin/mcapflow.js']);
    expect(statSync(join(ROOT, 'bin', 'mcapflow.js')).isFile()).toBe(true);
    expect(runtime.instructions.some((i) => i.keyword === 'COPY' && /\/app\/bin\s+\.\/bin$/.test(i.args))).toBe(true);
    expect(runtime.instructions.filter((i) => i.keyword === 'WORKDIR').at(-1)?.args).toBe('/app');
    const user = runtime.instructions.filter((i) => i.keyword === 'USER').at(-1)!;
    const [uid, gid] = user.args.split(':').map(Number);
    expect(uid).toBeGreaterThan(0);
    expect(gid).toBeGreaterThan(0);
    const env = runtime.instructions.filter((i) => i.keyword === 'ENV').map((i) => i.args).join(' ');
    expect(env).toMatch(/MCAPFLOW_HTTP_HOST=0\.0\.0\.0/);
    expect(env).toMatch(/MCAPFLOW_SPAWN_REDIS=false/);
    expect(env).toMatch(/TSX_TSCONFIG_PATH=\/app\/tsconfig\.json/);
  });
});

// Installs dependencies when they are missing or were installed from a different lockfile,
// so `npm run demo` and `npm test` work on a fresh clone. Pure Node: it runs before any install.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lockfile = join(root, 'package-lock.json');
const stamp = join(root, 'node_modules', '.mcapflow-lock-hash');

const hashOf = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');
const installedHash = existsSync(stamp) ? readFileSync(stamp, 'utf8').trim() : '';

if (hashOf(lockfile) !== installedHash) {
  // `npm ci` installs exactly the lockfile (every platform's optional binaries are in it).
  console.error('mcapflow: installing dependencies (npm ci from package-lock.json)…');
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error('mcapflow: dependency install failed; see the npm output above.');
    process.exit(result.status ?? 1);
  }
  writeFileSync(stamp, `${hashOf(lockfile)}\n`);
}

// What every benchmark does before it measures: find the checkout, read its `--name value` flags,
// and stop at once, saying what to do, when the build, a tool or a local service is missing.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** `--name value` flags as an object; a flag without a value is 'true'. */
export function benchArgs(argv = process.argv.slice(2)) {
  const args = {};
  argv.forEach((a, i) => {
    if (!a.startsWith('--')) return;
    const next = argv[i + 1];
    args[a.slice(2)] = next === undefined || next.startsWith('--') ? 'true' : next;
  });
  return args;
}

/** Exits unless `relative` (a path in the checkout, e.g. a dist/ file) exists. */
export function requireBuilt(bench, relative) {
  if (existsSync(path.join(ROOT, relative))) return;
  console.error(`${bench}: ${relative} is missing; run \`npm run build\` first`);
  process.exit(1);
}

/** Exits unless `command` runs (its version flag); `debianPackage` is what installs it. */
export function requireTool(bench, command, versionFlag, debianPackage) {
  if (!spawnSync(command, [versionFlag]).error) return;
  console.error(`${bench}: ${command} not found (Debian: apt-get install -y ${debianPackage})`);
  process.exit(1);
}

/** Starts (or finds running) this checkout's service through its script, e.g. scripts/kafka-local.sh. */
export function startLocalService(bench, script, what) {
  const started = spawnSync('bash', [path.join(ROOT, script), 'start'], { encoding: 'utf8' });
  if (started.status === 0) return;
  console.error(`${bench}: could not start the ${what}:\n${started.stderr}`);
  process.exit(1);
}

/**
 * The project's local service scripts (scripts/kafka-local.sh, scripts/opensearch-local.sh) as the tests
 * drive them. A test run owns its services: `status` accepts only the service this checkout started and
 * that is healthy, `start` refuses a port some other process holds. Never a skip: without Java, or with a
 * service that will not start, the tests fail with the script's reason.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ScriptRun {
  ok: boolean;
  output: string;
}

export function runServiceScript(script: string, cmd: string): ScriptRun {
  const r = spawnSync('bash', [path.join(ROOT, 'scripts', script), cmd], { encoding: 'utf8', timeout: 300_000 });
  return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

/** Runs `cmd` and throws with the script's output when it fails. */
export function serviceScript(script: string, cmd: string): string {
  const r = runServiceScript(script, cmd);
  if (!r.ok) throw new Error(`scripts/${script} ${cmd} failed:\n${r.output}`);
  return r.output;
}

/**
 * Makes sure this checkout's service runs and is healthy (`status`), starting it when needed, and
 * checks `status` again afterwards: a `start` that found a half-broken service must not pass.
 */
export function ensureService(script: string, what: string): void {
  if (runServiceScript(script, 'status').ok) return;
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (java.error || java.status !== 0) {
    throw new Error(
      `${what} tests need the real service and Java 17+ is not installed, so scripts/${script} cannot start it. ` +
        'Install it (Debian: apt-get install -y openjdk-17-jre-headless maven) and rerun.' +
        (process.env.CI ? ' (CI=true: this is a failure, not a skip.)' : ''),
    );
  }
  serviceScript(script, 'start');
  const status = runServiceScript(script, 'status');
  if (!status.ok) throw new Error(`scripts/${script} start succeeded but status says:\n${status.output}`);
}

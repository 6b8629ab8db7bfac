/**
 * examples/plugin-package as a user gets it: packed with `npm pack` (its prepack builds it with
 * tsc against the netagent API), installed with `npm install` into a fresh project next to
 * netagent, and loaded by `plugins: [{package: netagent-plugin-softnet-example}]` in `netagent once`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const PKG = join(ROOT, 'examples/plugin-package');

describe('a plugin shipped as an npm package', () => {
  let project: string;
  let config: string;

  beforeAll(() => {
    if (!existsSync(join(ROOT, 'dist/src/index.d.ts'))) throw new Error('build netagent first: npm run build');
    project = mkdtempSync(join(tmpdir(), 'plugin-package-'));
    // What `npm install` in the example folder does for its devDependency "netagent": "file:../..".
    const devLink = join(PKG, 'node_modules/netagent');
    if (!existsSync(devLink)) {
      mkdirSync(join(PKG, 'node_modules'), { recursive: true });
      symlinkSync('../../..', devLink);
    }
    // prepack → npm run build → tsc: the package compiles against the published types.
    execFileSync('npm', ['pack', '--pack-destination', project], { cwd: PKG, stdio: 'pipe' });
    const tgz = readdirSync(project).find((f) => f.endsWith('.tgz'))!;
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'fleet', private: true, dependencies: { netagent: `file:${ROOT}` } }));
    execFileSync(
      'npm',
      ['install', '--no-save', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--legacy-peer-deps', join(project, tgz)],
      { cwd: project, stdio: 'pipe' },
    );
    config = join(project, 'netagent.yaml');
    writeFileSync(
      config,
      `agent:\n  stats_interval: 0s\n  state_dir: ${project}/state\nplugins:\n  - package: netagent-plugin-softnet-example\n` +
        `collectors:\n  - type: softnet-example\n    options: {total: true}\nsinks:\n  - type: stdout\n`,
    );
  }, 120_000);

  afterAll(() => {
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it('is installed as a copy (not a link into the repo) with its built output and typings', () => {
    const installed = join(project, 'node_modules/netagent-plugin-softnet-example');
    for (const f of ['package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/collector.js', 'sample.yaml']) {
      expect(existsSync(join(installed, f)), f).toBe(true);
    }
    expect(existsSync(join(installed, 'src'))).toBe(false); // `files` ships dist only
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { peerDependencies: Record<string, string> };
    expect(manifest.peerDependencies.netagent).toBeDefined();
  });

  it('loads with plugins: [{package}] and emits its events through netagent once', () => {
    const run = spawnSync('node', [join(project, 'node_modules/.bin/netagent'), 'once', '-c', config], { cwd: project, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const events = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    const cpus = readFileSync('/proc/net/softnet_stat', 'utf8').trim().split('\n').length;
    const perCpu = events.filter((e) => e.event.dataset === 'softnet.cpu');
    expect(perCpu).toHaveLength(cpus);
    for (const e of perCpu) {
      expect(e.event.kind).toBe('metric');
      expect(e.agent.name).toBe('netagent');
      expect(typeof e.softnet.processed).toBe('number');
    }
    const total = events.find((e) => e.event.dataset === 'softnet.total')!;
    expect(total.softnet.cpus).toBe(cpus);
    expect(total.softnet.processed).toBe(perCpu.reduce((s, e) => s + (e.softnet.processed as number), 0));
  });

  it('netagent validate and describe see it', () => {
    expect(spawnSync('node', [join(ROOT, 'bin/netagent'), 'validate', '-c', config], { encoding: 'utf8' }).status).toBe(0);
    const described = spawnSync('node', [join(ROOT, 'bin/netagent'), 'describe', 'softnet-example', '-c', config], { encoding: 'utf8' });
    expect(described.stdout).toContain('per_cpu');
    expect(described.stdout).toContain('softnet.total');
    // An option the schema does not declare is a config error, as for built-ins.
    const bad = join(project, 'bad.yaml');
    writeFileSync(bad, readFileSync(config, 'utf8').replace('{total: true}', '{totl: true}'));
    const invalid = spawnSync('node', [join(ROOT, 'bin/netagent'), 'validate', '-c', bad], { encoding: 'utf8' });
    expect(invalid.status).toBe(78);
    expect(invalid.stdout + invalid.stderr).toMatch(/bad\.yaml:\d+:\d+: collectors\[0\]\.options.*totl/);
  });
});

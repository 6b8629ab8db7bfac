/** The exec collector with real commands (sh, node): lines, failures, timeouts, stderr, DI. */
import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import pino from 'pino';
import { container } from 'tsyringe';
import { afterAll, describe, expect, it } from 'vitest';
import { collectOnce } from '../../../test/helpers/collect.js';
import type { AgentSettings } from '../../../src/core/config/schema.js';
import { TOKENS } from '../../../src/core/tokens.js';
import { ExecCollector, parseLine } from './collector.js';
import { ExecOptions } from './index.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const dir = mkdtempSync(join(tmpdir(), 'exec-collector-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Logged {
  level: number;
  msg: string;
  [k: string]: unknown;
}

function make(options: Record<string, unknown>): { collector: ExecCollector; logs: Logged[] } {
  const logs: Logged[] = [];
  const logger = pino({ level: 'trace' }, { write: (s: string) => logs.push(JSON.parse(s) as Logged) });
  const opts = Value.Default(ExecOptions, structuredClone(options)) as ExecOptions;
  expect([...Value.Errors(ExecOptions, opts)]).toEqual([]);
  // Resolved the way the agent does it: a child container and the tokens alone.
  const child = container.createChildContainer();
  child.register(TOKENS.PluginOptions, { useValue: opts });
  child.register(TOKENS.Logger, { useValue: logger });
  child.register(TOKENS.PluginInstance, { useValue: { id: 'exec-test', type: 'exec' } });
  child.register(TOKENS.AgentSettings, { useValue: { proc_root: '/proc' } as AgentSettings });
  return { collector: child.resolve(ExecCollector), logs };
}

/** Kills the process whose pid a test command wrote to `file` (one the group kill cannot reach). */
function killPidIn(file: string): void {
  const pid = Number(readFileSync(file, 'utf8'));
  if (pid > 0) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

const sh = (script: string, more: Record<string, unknown> = {}) => make({ command: ['sh', '-c', script], dataset: 'custom.test', ...more });

describe('exec collector', () => {
  it('turns each NDJSON line into one event with the configured dataset and kind', async () => {
    const { collector } = sh(`printf '{"a":1}\\n\\n{"b":{"c":"x"}}\\r\\n{"d":true}'`, { kind: 'state' });
    const { events, malformed } = await collectOnce(collector);
    expect(events).toEqual([
      { dataset: 'custom.test', kind: 'state', fields: { a: 1 } },
      { dataset: 'custom.test', kind: 'state', fields: { b: { c: 'x' } } },
      { dataset: 'custom.test', kind: 'state', fields: { d: true } }, // last line without newline
    ]);
    expect(malformed).toEqual([]);
  });

  it('runs argv directly, without a shell', async () => {
    const { collector } = make({
      command: [process.execPath, '-e', 'console.log(JSON.stringify({argv: process.argv.slice(1)}))', '$HOME', '*', 'a b'],
      dataset: 'custom.argv',
    });
    const { events } = await collectOnce(collector);
    expect(events[0]!.fields).toEqual({ argv: ['$HOME', '*', 'a b'] });
  });

  it('counts non-JSON and non-object lines as malformed, once per run, and keeps the good ones', async () => {
    const { collector } = sh(`echo '{"ok":1}'; echo 'hello'; echo '[1,2]'; echo '42'; echo '{"ok":2}'`);
    const { events, malformed } = await collectOnce(collector);
    expect(events.map((e) => e.fields)).toEqual([{ ok: 1 }, { ok: 2 }]);
    expect(malformed).toHaveLength(1);
    expect(malformed[0]!.count).toBe(3);
    expect(malformed[0]!.example).toContain('hello');
  });

  it('moves envelope keys under exec. by default, or rejects the line', async () => {
    const line = `{"@timestamp":"x","host":{"name":"evil"},"event":{"dataset":"other"},"labels":{},"agent":1,"v":1,"exec":{"keep":true}}`;
    const moved = await collectOnce(sh(`echo '${line}'`).collector);
    expect(moved.events[0]!.fields).toEqual({
      v: 1,
      exec: { keep: true, '@timestamp': 'x', host: { name: 'evil' }, event: { dataset: 'other' }, labels: {}, agent: 1 },
    });
    const strict = await collectOnce(sh(`echo '${line}'; echo '{"v":2}'`, { reserved_keys: 'malformed' }).collector);
    expect(strict.events.map((e) => e.fields)).toEqual([{ v: 2 }]);
    for (const key of ['@timestamp', 'event', 'host', 'labels', 'agent']) expect(strict.malformed[0]!.example).toContain(key);
  });

  it('moves ecs, data_stream and a non-object under an ECS or netagent object name, as envelope keys', async () => {
    const line = `{"source":"probe-1","process":42,"socket":[1],"network":{"bytes":1},"ecs":{"version":"1.0"},"data_stream":{"type":"x"},"v":1}`;
    const moved = await collectOnce(sh(`echo '${line}'`).collector);
    expect(moved.events[0]!.fields).toEqual({
      network: { bytes: 1 },
      v: 1,
      exec: { source: 'probe-1', process: 42, socket: [1], ecs: { version: '1.0' }, data_stream: { type: 'x' } },
    });
    const strict = await collectOnce(sh(`echo '${line}'`, { reserved_keys: 'malformed' }).collector);
    expect(strict.events).toEqual([]);
    expect(strict.malformed[0]!.example).toMatch(/source, process, socket, ecs, data_stream/);
  });

  it('a non-zero exit fails the run (events before it are kept)', async () => {
    const { collector, logs } = sh(`echo '{"partial":1}'; echo 'disk on fire' >&2; exit 3`);
    const events: unknown[] = [];
    await expect(
      collector.collect({
        emit: (_d, _k, f) => events.push(f) > 0,
        drained: async () => {},
        malformed: () => {},
        signal: new AbortController().signal,
        startedAt: Date.now(),
      }),
    ).rejects.toThrow(/exited with code 3/);
    expect(events).toEqual([{ partial: 1 }]);
    expect(logs.some((l) => l.stderr === 'disk on fire' && l.level === 40)).toBe(true);
  });

  it('a program that does not exist fails the run clearly', async () => {
    const { collector } = make({ command: ['/nonexistent/probe'], dataset: 'custom.x' });
    await expect(collectOnce(collector)).rejects.toThrow(/cannot run.*ENOENT/);
  });

  it('a timeout kills the whole process group and fails the run', async () => {
    const pidFile = join(dir, 'grandchild.pid');
    // The shell starts a grandchild that would outlive a kill of the shell alone.
    const { collector } = sh(`sleep 30 & echo $! > ${pidFile}; echo '{"started":1}'; wait`, { timeout: '500ms', kill_grace: '200ms' });
    const t0 = Date.now();
    await expect(collectOnce(collector)).rejects.toThrow(/timed out after 500ms/);
    expect(Date.now() - t0).toBeLessThan(5000);
    const grandchild = Number(spawnSync('cat', [pidFile], { encoding: 'utf8' }).stdout);
    await new Promise((r) => setTimeout(r, 300));
    // Gone, or a zombie waiting for its reaper (which process.kill(pid, 0) would still find).
    const stat = spawnSync('cat', [`/proc/${grandchild}/stat`], { encoding: 'utf8' }).stdout;
    expect(stat === '' || / Z /.test(stat), stat).toBe(true);
  });

  it('a process in a session of its own keeping stdout open does not hold a run past its timeout', async () => {
    const pidFile = join(dir, 'setsid.pid');
    // setsid puts the sleep out of reach of the group kill; it keeps the stdout pipe open.
    const { collector } = sh(`setsid sleep 100 & echo $! > ${pidFile}; echo '{"started":1}'; sleep 100`, { timeout: '500ms', kill_grace: '200ms' });
    try {
      await expect(collectOnce(collector)).rejects.toThrow(/timed out after 500ms/);
    } finally {
      killPidIn(pidFile);
    }
  });

  it('a command that exits while a process in its own session keeps stdout open ends its run after kill_grace', async () => {
    const pidFile = join(dir, 'setsid-exit.pid');
    const { collector, logs } = sh(`setsid sleep 100 & echo $! > ${pidFile}; echo '{"done":1}'`, { timeout: '1h', kill_grace: '200ms' });
    try {
      const { events } = await collectOnce(collector);
      expect(events.map((e) => e.fields)).toEqual([{ done: 1 }]);
      expect(logs.some((l) => l.msg.includes('keeps its stdout open; stopped reading'))).toBe(true);
    } finally {
      killPidIn(pidFile);
    }
  });

  it('a command ignoring SIGTERM is killed after kill_grace', async () => {
    const { collector } = sh(`trap '' TERM; echo '{"x":1}'; while :; do sleep 0.05; done`, { timeout: '300ms', kill_grace: '300ms' });
    const t0 = Date.now();
    await expect(collectOnce(collector)).rejects.toThrow(/timed out/);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('stops the command when the run is aborted', async () => {
    const { collector } = sh('sleep 30');
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    await expect(
      collector.collect({ emit: () => true, drained: async () => {}, malformed: () => {}, signal: ac.signal, startedAt: Date.now() }),
    ).rejects.toThrow(/aborted/);
  });

  it('logs at most max_stderr_lines stderr lines, then one summary', async () => {
    const { collector, logs } = sh(`for i in 1 2 3 4 5; do echo "line $i" >&2; done`, { max_stderr_lines: 2 });
    await collectOnce(collector);
    expect(logs.filter((l) => l.stderr).map((l) => l.stderr)).toEqual(['line 1', 'line 2']);
    expect(logs.find((l) => l.dropped)?.dropped).toBe(3);
  });

  it('skips lines longer than max_line_size as malformed without holding them', async () => {
    const { collector } = make({
      command: [process.execPath, '-e', 'console.log(JSON.stringify({big: "x".repeat(300000)})); console.log(JSON.stringify({small: 1}))'],
      dataset: 'custom.big',
      max_line_size: '64KiB',
    });
    const { events, malformed } = await collectOnce(collector);
    expect(events.map((e) => e.fields)).toEqual([{ small: 1 }]);
    expect(malformed[0]).toMatchObject({ count: 1, example: expect.stringContaining('max_line_size') });
  });

  it('waits for drained() when a sink is full, with the command paused meanwhile', async () => {
    const { collector } = make({ command: [process.execPath, '-e', 'for (let i = 0; i < 20000; i++) console.log(JSON.stringify({i}))'], dataset: 'custom.many' });
    const seen: number[] = [];
    let waits = 0;
    await collector.collect({
      emit: (_d, _k, f) => seen.push((f as { i: number }).i) % 1000 !== 0,
      drained: async () => {
        waits++;
        await new Promise((r) => setTimeout(r, 1));
      },
      malformed: () => {},
      signal: new AbortController().signal,
      startedAt: Date.now(),
    });
    expect(seen).toHaveLength(20000);
    expect(seen[19999]).toBe(19999);
    expect(waits).toBe(20);
  });

  it('passes env, cwd, NETAGENT_PROC_ROOT and NETAGENT_INSTANCE', async () => {
    const { collector } = sh(`printf '{"v":"%s","cwd":"%s","root":"%s","id":"%s"}\\n' "$MYVAR" "$(pwd)" "$NETAGENT_PROC_ROOT" "$NETAGENT_INSTANCE"`, {
      env: { MYVAR: 'hello' },
      cwd: dir,
    });
    const { events } = await collectOnce(collector);
    expect(events[0]!.fields).toEqual({ v: 'hello', cwd: dir, root: '/proc', id: 'exec-test' });
  });

  it("gives the command only the configured environment and a minimal PATH, none of the agent's own", async () => {
    process.env.NETAGENT_TEST_KAFKA_PASSWORD = 'hunter2';
    try {
      const { collector } = make({
        command: [process.execPath, '-e', 'console.log(JSON.stringify({env: process.env}))'],
        dataset: 'custom.env',
        env: { GIVEN: 'yes' },
      });
      const { events } = await collectOnce(collector);
      expect(events[0]!.fields).toEqual({
        env: { GIVEN: 'yes', NETAGENT_INSTANCE: 'exec-test', NETAGENT_PROC_ROOT: '/proc', PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
      });
      const own = make({ command: ['sh', '-c', 'echo "{\\"path\\":\\"$PATH\\"}"'], dataset: 'custom.env', env: { PATH: '/bin' } });
      expect((await collectOnce(own.collector)).events[0]!.fields).toEqual({ path: '/bin' });
    } finally {
      delete process.env.NETAGENT_TEST_KAFKA_PASSWORD;
    }
  });

  it('parseLine: blank lines are no events', () => {
    expect(parseLine('', 'move')).toBeNull();
    expect(parseLine('  \r', 'move')).toBeNull();
    // A number where the exec object goes is moved under it, like the envelope's keys.
    expect(parseLine('{"host":1,"exec":3}', 'move')).toEqual({ fields: { exec: { host: 1, exec: 3 } } });
  });

  it('netagent once: exec events carry the envelope; a failing command is logged with its exit code', async () => {
    const config = join(dir, 'exec.yaml');
    writeFileSync(
      config,
      `agent:\n  stats_interval: 0s\n  state_dir: ${dir}/state\ncollectors:\n` +
        `  - type: exec\n    id: good\n    options:\n      command: [sh, -c, 'echo "{\\"q\\":{\\"depth\\":7},\\"host\\":\\"spoof\\"}"']\n      dataset: queue.depth\n` +
        `  - type: exec\n    id: bad\n    options: {command: [sh, -c, 'exit 2'], dataset: queue.bad}\n` +
        `sinks:\n  - type: stdout\n`,
    );
    const run = spawnSync('node', [join(ROOT, 'bin/netagent'), 'once', '-c', config], { encoding: 'utf8', timeout: 30_000 });
    expect(run.status, run.stderr).not.toBeNull();
    const events = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      event: { dataset: 'queue.depth', kind: 'metric' },
      agent: { name: 'netagent' },
      q: { depth: 7 },
      exec: { host: 'spoof' },
    });
    expect(typeof events[0]!.host.name).toBe('string');
    expect(events[0]!.host.name).not.toBe('spoof');
    expect(run.stderr).toMatch(/exited with code 2/);
  });
});

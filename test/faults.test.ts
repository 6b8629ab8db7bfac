/**
 * Issue 16, "no fault wedges the agent": each case reproduced with the real CLI, real processes
 * and real signals, against the rules docs/architecture.md states.
 */
import { existsSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { exited, FIXTURE_PLUGINS, netagent, startNetagent as startAgent, tempDir, waitFor, writeConfig } from './helpers/cli.js';

/** Agents a test started: one still running after it (a failed assertion) is killed. */
const started: ReturnType<typeof startAgent>[] = [];
function startNetagent(args: string[], env?: NodeJS.ProcessEnv): ReturnType<typeof startAgent> {
  const child = startAgent(args, env);
  started.push(child);
  return child;
}
afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

const plugins = `plugins:\n  - path: ${FIXTURE_PLUGINS}/burst.js\n  - path: ${FIXTURE_PLUGINS}/faulty.js\n`;

function jsonLines(text: string): Record<string, any>[] {
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
}

/**
 * `:LINE:COL:` (1-based) where a problem must point: the first occurrence of `needle` in `yaml`,
 * past its first `skip` characters (`at(yaml, 'timeout: 0s', 9)` is where `0s` starts).
 */
function at(yaml: string, needle: string, skip = 0): string {
  const found = yaml.indexOf(needle);
  const index = found + skip;
  if (found < 0) throw new Error(`${needle} not in the config`);
  const before = yaml.slice(0, index).split('\n');
  return `:${before.length}:${before[before.length - 1]!.length + 1}:`;
}

/** Fails the test, rather than hanging it, when the agent does not exit within `ms`. */
async function exitWithin(child: ReturnType<typeof startNetagent>, ms: number, what: string) {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what}: still running ${ms} ms after the signal\n${child.output.stderr.slice(-2000)}`));
    }, ms);
  });
  try {
    return await Promise.race([exited(child), late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('durations past 2^31-1 ms', () => {
  it('interval: 30d idles: one run at start and no other', async () => {
    const dir = tempDir();
    const file = writeConfig(dir, `agent: {state_dir: ${dir}/s, stats_interval: 0s}\n${plugins}collectors:\n  - {type: burst, interval: 30d, options: {count: 1}}\nsinks: [{type: stdout}]\n`);
    const agent = startNetagent(['run', '-c', file]);
    await waitFor(() => agent.output.stderr.includes('netagent running'), 10_000, 'start');
    await new Promise((r) => setTimeout(r, 1500));
    agent.kill('SIGTERM');
    expect((await exitWithin(agent, 10_000, 'SIGTERM')).code).toBe(0);
    expect(agent.output.stderr).not.toContain('TimeoutOverflowWarning');
    expect(jsonLines(agent.output.stdout).map((e) => e.burst.run)).toEqual([1]);
  });

  it('timeout: 30d does not time a run out at once', () => {
    const dir = tempDir();
    const file = writeConfig(dir, `agent: {state_dir: ${dir}/s}\n${plugins}collectors:\n  - {type: burst, interval: 1h, timeout: 30d, options: {count: 2, sleep_ms: 300}}\nsinks: [{type: stdout}]\n`);
    const r = netagent(['once', '-c', file, '--log-level', 'debug']);
    expect(r.status).toBe(0);
    expect(jsonLines(r.stdout)).toHaveLength(2);
    const done = jsonLines(r.stderr).find((l) => l.msg === 'once: done')!;
    expect(done.collectors.netagent.collectors.burst).toMatchObject({ runs: 1, timeouts: 0, failures: 0 });
  });

  it('a jitter wait does not hold up SIGTERM', async () => {
    const dir = tempDir();
    const file = writeConfig(dir, `agent: {state_dir: ${dir}/s, shutdown_timeout: 1s, stats_interval: 0s}\n${plugins}collectors:\n  - {type: burst, schedule: "* * * * * *", jitter: 30d, options: {count: 1}}\nsinks: [{type: stdout}]\n`);
    const agent = startNetagent(['run', '-c', file]);
    await waitFor(() => jsonLines(agent.output.stdout).length === 1, 10_000, 'the run at start');
    await new Promise((r) => setTimeout(r, 2500)); // a cron tick or two now wait out their jitter
    agent.kill('SIGTERM');
    expect((await exitWithin(agent, 15_000, 'SIGTERM during a jitter wait')).code).toBe(0);
  });

  it('validate refuses a jitter as long as the interval and zero periods', () => {
    const dir = tempDir();
    const yaml = `agent: {interval: 0s}\n${plugins}collectors:\n  - {type: burst, interval: 10s, jitter: 10s}\n  - {type: faulty, timeout: 0s}\nsinks:\n  - {type: stdout, retry: {initial: 0s}}\n`;
    const r = netagent(['validate', '-c', writeConfig(dir, yaml)]);
    expect(r.status).toBe(78);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines.find((l) => l.includes('agent.interval'))).toContain(`${at(yaml, 'interval: 0s', 10)} agent.interval: expected a duration above 0`);
    expect(lines.find((l) => l.includes('collectors[0].jitter'))).toContain(`${at(yaml, 'jitter: 10s', 8)} collectors[0].jitter: must be shorter than the interval (10s)`);
    expect(lines.find((l) => l.includes('collectors[1].timeout'))).toContain(`${at(yaml, 'timeout: 0s', 9)} collectors[1].timeout: expected a duration above 0`);
    expect(lines.find((l) => l.includes('sinks[0].retry.initial'))).toContain(`${at(yaml, 'initial: 0s', 9)} sinks[0].retry.initial: expected a duration above 0`);
  });
});

describe('a run that outlives its timeout', () => {
  for (const mode of ['hang', 'hang-with-handle']) {
    it(`SIGTERM with a plugin that never returns (${mode}): exit 0 after flushing the sink`, async () => {
      const dir = tempDir();
      const out = join(dir, 'events.ndjson');
      const file = writeConfig(
        dir,
        `agent: {state_dir: ${dir}/s, shutdown_timeout: 2s, stats_interval: 1h}\n${plugins}collectors:\n` +
          `  - {type: burst, interval: 1s, options: {count: 5}}\n  - {type: faulty, interval: 1h, timeout: 1h, options: {mode: ${mode}}}\n` +
          `sinks:\n  - {type: file, options: {path: ${out}}}\n`,
      );
      const agent = startNetagent(['run', '-c', file]);
      await waitFor(() => existsSync(out) && jsonLines(readFileSync(out, 'utf8')).length >= 6, 10_000, 'first events');
      agent.kill('SIGTERM');
      // shutdown_timeout 2 s and the 1 s grace, with room for a slow machine: a wedge never exits.
      expect(await exitWithin(agent, 10_000, 'SIGTERM with a hung collector')).toEqual({ code: 0, signal: null });
      const events = jsonLines(readFileSync(out, 'utf8'));
      expect(events.map((e) => e.event.sequence)).toEqual(events.map((_, i) => i + 1));
      const last = events[events.length - 1]!;
      expect(last.event.dataset).toBe('agent.stats');
      expect(last.netagent.collectors.faulty).toMatchObject({ runs: 1, failures: 1, last_error: 'agent stopping: run abandoned' });
      expect(last.netagent.collectors.burst.events).toBe(events.filter((e) => e.event.dataset === 'burst.event').length);
    });
  }

  it('SIGHUP with a plugin that never returns reloads the config', async () => {
    const dir = tempDir();
    const config = (count: number) =>
      `agent: {state_dir: ${dir}/s, shutdown_timeout: 1s, stats_interval: 0s}\n${plugins}collectors:\n` +
      `  - {type: burst, interval: 1s, options: {count: ${count}}}\n  - {type: faulty, interval: 1h, timeout: 1h, options: {mode: hang}}\nsinks: [{type: stdout}]\n`;
    const file = writeConfig(dir, config(1));
    const agent = startNetagent(['run', '-c', file]);
    await waitFor(() => jsonLines(agent.output.stdout).some((e) => e.burst?.index === 0), 10_000, 'first events');
    writeConfig(dir, config(3));
    agent.kill('SIGHUP');
    await waitFor(() => agent.output.stderr.includes('"msg":"reloaded"'), 10_000, 'the reload');
    await waitFor(() => jsonLines(agent.output.stdout).some((e) => e.burst?.index === 2), 10_000, 'events of the new config');
    expect(agent.exitCode).toBe(null);
    agent.kill('SIGTERM');
    expect(await exitWithin(agent, 10_000, 'SIGTERM after the reload')).toEqual({ code: 0, signal: null });
  });

  it('is abandoned at its timeout: counted, its late events dropped, the next ticks run', async () => {
    const dir = tempDir();
    const file = writeConfig(
      dir,
      `agent: {state_dir: ${dir}/s, stats_interval: 1s}\n${plugins}collectors:\n` +
        `  - {type: faulty, id: first-hangs, interval: 1s, timeout: 300ms, options: {mode: hang-first}}\n` +
        `  - {type: faulty, id: late, interval: 1h, timeout: 300ms, options: {mode: late-emit}}\nsinks: [{type: stdout}]\n`,
    );
    const agent = startNetagent(['run', '-c', file]);
    const stats = () => jsonLines(agent.output.stdout).filter((e) => e.event.dataset === 'agent.stats').map((e) => e.netagent.collectors);
    await waitFor(() => stats().some((s) => s['first-hangs'].runs >= 3 && s.late.late_events === 1), 15_000, 'runs after the hung one');
    agent.kill('SIGTERM');
    expect(await exitWithin(agent, 10_000, 'SIGTERM')).toEqual({ code: 0, signal: null });
    const last = stats().pop()!;
    expect(last['first-hangs']).toMatchObject({ timeouts: 1, failures: 1, hung_runs: 1, skips: 0 });
    expect(last['first-hangs'].runs).toBeGreaterThanOrEqual(3);
    expect(last.late).toMatchObject({ runs: 1, timeouts: 1, late_events: 1, events: 1 });
    const events = jsonLines(agent.output.stdout);
    expect(events.filter((e) => e.event.dataset === 'faulty.late')).toEqual([]);
    expect(agent.output.stderr).toContain('run timed out; abandoned');
  });

  it('a sink whose close() never returns is abandoned at the deadline, saying what it held', async () => {
    const dir = tempDir();
    const file = writeConfig(
      dir,
      `agent: {state_dir: ${dir}/s, shutdown_timeout: 1s, stats_interval: 0s}\n${plugins}collectors:\n  - {type: burst, interval: 1s, options: {count: 3}}\n` +
        `sinks:\n  - {type: stdout}\n  - {type: stuck}\n`,
    );
    const agent = startNetagent(['run', '-c', file]);
    await waitFor(() => jsonLines(agent.output.stdout).length >= 3, 10_000, 'first events');
    agent.kill('SIGTERM');
    expect(await exitWithin(agent, 10_000, 'SIGTERM with a hung sink close()')).toEqual({ code: 0, signal: null });
    const log = jsonLines(agent.output.stderr).find((l) => l.msg.includes('sink close() did not return by the shutdown deadline'));
    expect(log).toMatchObject({ sink: 'stuck', unflushed: { unflushed: jsonLines(agent.output.stdout).length } });
  });
});

describe('validate runs every check run would', () => {
  const dir = tempDir();
  const notADir = writeConfig(dir, 'x', 'plain-file');
  const ca = join(dir, 'no-such-ca.pem');
  let spools = 0;
  const kafka = (options: string, spool = '') => `sinks:\n  - type: kafka\n    options: {spool: {path: ${dir}/spool-${++spools}${spool}}, ${options}}\n`;
  const es = (options: string) => `sinks:\n  - type: elasticsearch\n    options: {spool: {path: ${dir}/spool-${++spools}}, ${options}}\n`;
  /** A config, where its one problem must point (a needle and how far into it), the problem's path and message. */
  const cases: { name: string; yaml: string; needle: [string, number]; path: string; message: string; env?: NodeJS.ProcessEnv }[] = [
    { name: 'a constructor that throws', yaml: `${plugins}collectors:\n  - {type: faulty, options: {mode: throw-in-constructor}}\nsinks: [{type: stdout}]\n`, needle: ['{type: faulty', 0], path: 'collectors[0]', message: 'cannot build collector "faulty": faulty constructor refuses' },
    { name: 'a load() that throws', yaml: `${plugins}collectors:\n  - {type: faulty_load}\nsinks: [{type: stdout}]\n`, needle: ['{type: faulty_load', 0], path: 'collectors[0]', message: 'cannot build collector "faulty_load": faulty load() cannot find its implementation' },
    { name: 'a list for agent.tags', yaml: 'agent:\n  tags: [a, b]\nsinks: [{type: stdout}]\n', needle: ['[a, b]', 0], path: 'agent.tags', message: 'expected object' },
    { name: 'a map for collectors', yaml: 'collectors: {tcp: {}}\nsinks: [{type: stdout}]\n', needle: ['{tcp', 0], path: 'collectors', message: 'expected array' },
    { name: 'a list for exec env', yaml: 'collectors:\n  - type: exec\n    options: {command: [/bin/true], dataset: a.b, env: [A=B]}\nsinks: [{type: stdout}]\n', needle: ['[A=B]', 0], path: 'collectors[0].options.env', message: 'expected object' },
    { name: 'an alias bomb', yaml: `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\nsinks: [{type: stdout}]\n`, needle: ['*a', 0], path: 'b[0]', message: 'YAML aliases expand too far' },
    { name: 'an unclosed ${', yaml: 'agent:\n  name: ${HOST\nsinks: [{type: stdout}]\n', needle: ['${HOST', 0], path: 'agent.name', message: 'unclosed ${' },
    { name: 'an unset variable in a default', yaml: 'agent: {name: "${A:-${B}}"}\nsinks: [{type: stdout}]\n', needle: ['${A', 0], path: 'agent.name', message: 'environment variable B is not set' },
    { name: 'a file sink path that is a directory', yaml: `sinks:\n  - {type: file, options: {path: ${dir}}}\n`, needle: [`path: ${dir}`, 6], path: 'sinks[0].options.path', message: `${dir} is a directory` },
    { name: 'two file sinks on one path', yaml: `sinks:\n  - {type: file, options: {path: ${dir}/one.ndjson}}\n  - {type: file, id: again, options: {path: ${dir}/one.ndjson}}\n`, needle: ['again, options: {path: ', 23], path: 'sinks[1].options.path', message: `${dir}/one.ndjson is also used by sinks[0].options.path (line 2); two instances cannot share it` },
    { name: 'a state_dir that is a file', yaml: `agent: {state_dir: ${notADir}}\nsinks: [{type: stdout}]\n`, needle: [notADir, 0], path: 'agent.state_dir', message: `${notADir} exists and is not a directory` },
    { name: 'kafka: idempotent with acks 1', yaml: kafka('idempotent: true, acks: 1'), needle: ['acks: 1', 6], path: 'sinks[0].options.acks', message: 'idempotent: true needs acks: all' },
    { name: 'kafka: an unclosed {{ template', yaml: kafka('topic: "netagent.{{event.dataset"'), needle: ['"netagent.{{', 0], path: 'sinks[0].options.topic', message: 'malformed placeholder' },
    { name: 'kafka: an unset sasl.password_env', yaml: kafka('sasl: {mechanism: plain, username: u, password_env: NETAGENT_TEST_UNSET_PASSWORD}'), needle: ['NETAGENT_TEST_UNSET', 0], path: 'sinks[0].options.sasl.password_env', message: 'environment variable NETAGENT_TEST_UNSET_PASSWORD is not set' },
    { name: 'kafka: two password sources', yaml: kafka('sasl: {mechanism: plain, username: u, password: p, password_file: /etc/hostname}'), needle: ['{mechanism', 0], path: 'sinks[0].options.sasl', message: 'give exactly one of password, password_env, password_file (2 given)' },
    { name: 'kafka: no password source', yaml: kafka('sasl: {mechanism: plain, username: u}'), needle: ['{mechanism', 0], path: 'sinks[0].options.sasl', message: 'give exactly one of password, password_env, password_file (none given)' },
    { name: 'kafka: a missing ssl.ca file', yaml: kafka(`ssl: {enabled: true, ca: ${ca}}`), needle: [`ca: ${ca}`, 4], path: 'sinks[0].options.ssl.ca', message: `cannot read ${ca}: ENOENT` },
    { name: 'kafka: a broker without a port', yaml: 'sinks:\n  - {type: kafka, options: {brokers: [localhost]}}\n', needle: ['localhost', 0], path: 'sinks[0].options.brokers[0]', message: 'expected host:port' },
    { name: 'kafka: spool.max_size 0', yaml: kafka('', ', max_size: 0'), needle: ['max_size: 0', 10], path: 'sinks[0].options.spool.max_size', message: 'must hold at least one batch' },
    { name: 'elasticsearch: an unset auth.api_key_env', yaml: es('auth: {api_key_env: NETAGENT_TEST_UNSET_KEY}'), needle: ['NETAGENT_TEST_UNSET_KEY', 0], path: 'sinks[0].options.auth.api_key_env', message: 'environment variable NETAGENT_TEST_UNSET_KEY is not set' },
    { name: 'elasticsearch: a user without a password', yaml: es('auth: {username: u}'), needle: ['{username', 0], path: 'sinks[0].options.auth', message: 'basic authentication needs username and one of password, password_env, password_file' },
    { name: 'elasticsearch: two auth methods', yaml: es('auth: {username: u, password: p, bearer_token: t}'), needle: ['{username', 0], path: 'sinks[0].options.auth', message: 'give one method: username and password, api_key, or bearer_token' },
    { name: 'elasticsearch: an unclosed index template', yaml: es('index: "netagent-{{event.dataset"'), needle: ['"netagent-', 0], path: 'sinks[0].options.index', message: 'malformed placeholder' },
    { name: 'elasticsearch: a missing ssl.ca for an https host', yaml: es(`hosts: ["https://127.0.0.1:1"], ssl: {ca: ${ca}}`), needle: [`ca: ${ca}`, 4], path: 'sinks[0].options.ssl.ca', message: `cannot read ${ca}: ENOENT` },
    { name: 'elasticsearch and kafka on one spool path', yaml: `sinks:\n  - {type: kafka, options: {spool: {path: ${dir}/shared}}}\n  - {type: elasticsearch, options: {spool: {path: ${dir}/shared}}}\n`, needle: ['elasticsearch, options: {spool: {path: ', 39], path: 'sinks[1].options.spool.path', message: `${dir}/shared is also used by sinks[0].options.spool.path (line 2); two instances cannot share it` },
    { name: 'kafka: a spool path under a regular file', yaml: `sinks:\n  - {type: kafka, options: {spool: {path: ${notADir}/spool}}}\n`, needle: [`${notADir}/spool`, 0], path: 'sinks[0].options.spool.path', message: `${notADir}/spool cannot be created: ${notADir} is not a directory` },
  ];
  for (const c of cases) {
    it(`${c.name}: exit 78, FILE:LINE:COL`, () => {
      const file = writeConfig(dir, c.yaml, `${c.name.replace(/\W+/g, '-')}.yaml`);
      const r = netagent(['validate', '-c', file], { env: c.env });
      expect(r.stdout).toBe('');
      const lines = r.stderr.trim().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toContain(`${file}${at(c.yaml, ...c.needle)} ${c.path}: ${c.message}`);
      expect(r.status).toBe(78);
    });
  }

  it('run refuses what validate refuses, with the same positioned problem and exit 78', () => {
    const yaml = `agent: {state_dir: ${dir}/s}\n${plugins}collectors:\n  - {type: faulty, options: {mode: throw-in-constructor}}\nsinks: [{type: stdout}]\n`;
    const file = writeConfig(dir, yaml, 'run.yaml');
    for (const command of ['run', 'once']) {
      const r = netagent([command, '-c', file]);
      expect(r.stderr.trim()).toBe(`${file}${at(yaml, '{type: faulty', 0)} collectors[0]: cannot build collector "faulty": faulty constructor refuses`);
      expect(r.status).toBe(78);
    }
  });

  it('a config over 1 MiB is refused before it is parsed', () => {
    const file = writeConfig(dir, `sinks: [{type: stdout}]\n# ${'x'.repeat(2 << 20)}\n`, 'huge.yaml');
    const r = netagent(['validate', '-c', file]);
    expect(r.stderr.trim()).toMatch(new RegExp(`^${file}:1:1: <document>: config is \\d+ bytes; the most a config may have is 1048576 \\(1 MiB\\)$`));
    expect(r.status).toBe(78);
  });

  it('never echoes a secret given in the wrong shape', () => {
    const yaml = `sinks:\n  - {type: kafka, options: {sasl: {mechanism: plain, username: u, password: [hunter2-secret]}}}\n  - {type: kafka, id: k2, options: {sasl: "u:hunter2-secret"}}\ncollectors:\n  - {type: exec, options: {command: [/bin/true], dataset: a.b, env: {TOKEN: [hunter2-secret]}}}\n`;
    const r = netagent(['validate', '-c', writeConfig(dir, yaml, 'secret.yaml')]);
    expect(r.status).toBe(78);
    const lines = r.stderr.trim().split('\n');
    expect(lines.map((l) => l.split(': ')[1])).toEqual(['sinks[0].options.sasl.password', 'sinks[1].options.sasl', 'collectors[0].options.env.TOKEN']);
    expect(r.stderr).not.toContain('hunter2');
    expect(r.stderr).toContain('the value is secret, not shown');
  });
});

describe('a plugin cannot corrupt the stream or kill the agent', () => {
  it('emits that are no valid event are refused before they take a sequence number', () => {
    const dir = tempDir();
    const file = writeConfig(dir, `agent: {state_dir: ${dir}/s}\n${plugins}collectors:\n  - {type: faulty, options: {mode: bad-events, count: 1}}\nsinks: [{type: stdout}]\n`);
    const r = netagent(['once', '-c', file, '--log-level', 'debug']);
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => l !== '');
    const events = lines.map((l) => JSON.parse(l) as Record<string, any>); // every line is JSON
    expect(events.map((e) => [e.event.sequence, e.event.dataset])).toEqual([[1, 'faulty.event'], [2, 'faulty.event']]);
    expect(events[1]!.faulty).toEqual({ after_bad: true, at: '1970-01-01T00:00:00.000Z' });
    const logs = jsonLines(r.stderr);
    expect(logs.find((l) => l.msg.startsWith('emit refused'))).toMatchObject({ level: 50, collector: 'faulty', refused: 1 });
    const done = logs.find((l) => l.msg === 'once: done')!;
    expect(done.collectors.netagent.collectors.faulty).toMatchObject({ events: 2, invalid_events: 9, failures: 0 });
  });

  it('a throw from a plugin timer is logged as JSON, the sinks flushed, exit 1', async () => {
    const dir = tempDir();
    const out = join(dir, 'events.ndjson');
    const file = writeConfig(dir, `agent: {state_dir: ${dir}/s, stats_interval: 0s}\n${plugins}collectors:\n  - {type: faulty, interval: 1h, options: {mode: throw-in-timer, count: 50}}\nsinks:\n  - {type: file, batch: {max_wait: 1h, max_events: 100000}, options: {path: ${out}}}\n`);
    const agent = startNetagent(['run', '-c', file]);
    const { code } = await exitWithin(agent, 15_000, 'the crash');
    expect(code).toBe(1);
    const logs = jsonLines(agent.output.stderr); // every log line is JSON, the stack within it
    expect(logs.find((l) => l.level === 60)).toMatchObject({ err: { message: 'faulty timer threw' } });
    // Lingering for an hour, the batch was still queued at the crash: the stop flushed it.
    expect(jsonLines(readFileSync(out, 'utf8')).map((e) => e.faulty.index)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('an unhandled rejection is logged as JSON and the agent carries on', async () => {
    const dir = tempDir();
    const file = writeConfig(dir, `agent: {state_dir: ${dir}/s, stats_interval: 0s}\n${plugins}collectors:\n  - {type: faulty, interval: 1s, options: {mode: reject}}\nsinks: [{type: stdout}]\n`);
    const agent = startNetagent(['run', '-c', file]);
    await waitFor(() => jsonLines(agent.output.stdout).some((e) => e.faulty.run === 2), 10_000, 'a run after the rejection');
    agent.kill('SIGTERM');
    expect(await exitWithin(agent, 10_000, 'SIGTERM')).toEqual({ code: 0, signal: null });
    expect(jsonLines(agent.output.stderr).find((l) => l.msg.startsWith('unhandled promise rejection'))).toMatchObject({ level: 50, err: { message: 'faulty promise rejected' } });
  });
});

describe('smaller faults', () => {
  for (const type of ['kafka', 'elasticsearch']) {
    it(`a ${type} sink whose destination is down closes within the shutdown deadline: spool closed, what it left said`, async () => {
      const dir = tempDir();
      const target = type === 'kafka' ? 'brokers: ["127.0.0.1:1"]' : 'hosts: ["http://127.0.0.1:1"]';
      const file = writeConfig(
        dir,
        `agent: {state_dir: ${dir}/s, shutdown_timeout: 2s}\n${plugins}collectors:\n  - {type: faulty, options: {count: 50}}\n` +
          `sinks:\n  - {type: ${type}, options: {${target}, spool: {path: ${dir}/spool}, close_timeout: 30s}}\n`,
      );
      const agent = startNetagent(['run', '-c', file]);
      await waitFor(() => agent.output.stderr.includes('no host answered') || agent.output.stderr.includes('cannot connect'), 20_000, 'a connection error');
      agent.kill('SIGTERM');
      // close_timeout 30s, but the agent's deadline rules: 2s, plus the fixed grace.
      expect(await exitWithin(agent, 2_000 + 1_000 + 2_000, 'SIGTERM')).toEqual({ code: 0, signal: null });
      const left = jsonLines(agent.output.stderr).find((l) => String(l.msg).includes('undelivered events left in the spool'));
      expect(left?.spooled).toBeGreaterThanOrEqual(50); // the collector's events, and agent.stats
      expect(existsSync(join(dir, 'spool', 'lock'))).toBe(false);
    });
  }

  it('a full queue logs its drops, once for a burst of them', () => {
    const dir = tempDir();
    const file = writeConfig(dir, `agent: {state_dir: ${dir}/s}\n${plugins}collectors:\n  - {type: faulty, options: {count: 500}}\nsinks:\n  - {type: stdout, queue: {max_events: 10, when_full: drop_newest}}\n`);
    const r = netagent(['once', '-c', file]);
    expect(r.status).toBe(0);
    const written = jsonLines(r.stdout).length;
    const logs = jsonLines(r.stderr).filter((l) => l.msg.startsWith('sink queue full'));
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ level: 40, sink: 'stdout', when_full: 'drop_newest', max_events: 10, dropped: 1 });
    expect(written).toBeLessThan(500);
  });

  it('agent.stats counters go on across a reload', async () => {
    const dir = tempDir();
    const config = (count: number) => `agent: {state_dir: ${dir}/s, stats_interval: 1s}\n${plugins}collectors:\n  - {type: burst, interval: 1s, options: {count: ${count}}}\nsinks: [{type: stdout}]\n`;
    const file = writeConfig(dir, config(2));
    const agent = startNetagent(['run', '-c', file]);
    const stats = () => jsonLines(agent.output.stdout).filter((e) => e.event.dataset === 'agent.stats').map((e) => e.netagent);
    await waitFor(() => stats().some((s) => s.collectors.burst.runs >= 2), 10_000, 'two runs');
    writeConfig(dir, config(3));
    agent.kill('SIGHUP');
    await waitFor(() => agent.output.stderr.includes('"msg":"reloaded"'), 10_000, 'the reload');
    const before = stats().length;
    await waitFor(() => stats().length > before + 1, 10_000, 'stats after the reload');
    agent.kill('SIGTERM');
    expect((await exitWithin(agent, 10_000, 'SIGTERM')).code).toBe(0);
    const all = stats();
    // Never a step back: each count at least the one before, across the reload.
    for (let i = 1; i < all.length; i++) {
      expect(all[i]!.collectors.burst.runs).toBeGreaterThanOrEqual(all[i - 1]!.collectors.burst.runs);
      expect(all[i]!.sinks.stdout.written).toBeGreaterThanOrEqual(all[i - 1]!.sinks.stdout.written);
      expect(all[i]!.uptime_s).toBeGreaterThanOrEqual(all[i - 1]!.uptime_s);
    }
    const last = all[all.length - 1]!;
    const bursts = jsonLines(agent.output.stdout).filter((e) => e.event.dataset === 'burst.event').length;
    expect(last.collectors.burst.events).toBe(bursts);
  });

  it('once with a collector that hangs: its run is abandoned at the timeout and named; the others delivered, exit 0', () => {
    const dir = tempDir();
    const file = writeConfig(dir, `agent: {state_dir: ${dir}/s}\n${plugins}collectors:\n  - {type: faulty, id: stuck, timeout: 500ms, options: {mode: hang, count: 1}}\n  - {type: burst, options: {count: 3}}\nsinks: [{type: stdout}]\n`);
    const r = netagent(['once', '-c', file], { timeout: 15_000 });
    expect(r.status).toBe(0);
    expect(jsonLines(r.stdout).map((e) => e.event.dataset).sort()).toEqual(['burst.event', 'burst.event', 'burst.event', 'faulty.event']);
    const logs = jsonLines(r.stderr);
    expect(logs.find((l) => l.msg.startsWith('run timed out; abandoned'))).toMatchObject({ level: 50, collector: 'stuck', timeout_ms: 500 });
    expect(logs[logs.length - 1]).toMatchObject({ level: 50, failed: [], timed_out: ['stuck'], msg: 'some collectors failed or timed out; their events may be missing' });
  });

  it("a sink's own dropped and last_error do not overwrite the pipeline's", async () => {
    const dir = tempDir();
    const file = writeConfig(dir, `agent: {state_dir: ${dir}/s, stats_interval: 1s, shutdown_timeout: 1s}\n${plugins}collectors:\n  - {type: burst, interval: 1s, options: {count: 2}}\nsinks:\n  - {type: stdout}\n  - {type: stuck, options: {hang_close: false}}\n`);
    const agent = startNetagent(['run', '-c', file]);
    const stats = () => jsonLines(agent.output.stdout).filter((e) => e.event.dataset === 'agent.stats').map((e) => e.netagent.sinks.stuck);
    await waitFor(() => stats().length > 0, 10_000, 'agent.stats');
    agent.kill('SIGTERM');
    expect((await exitWithin(agent, 10_000, 'SIGTERM')).code).toBe(0);
    const stuck = stats()[0]!;
    expect(stuck).toMatchObject({ dropped: 0, failed: 0, sink: { dropped: 12345, last_error: "the sink's own error" } });
    expect(stuck).not.toHaveProperty('last_error');
    expect(stuck.unflushed).toBe(stuck.sink.unflushed);
  });
});

describe('security', () => {
  it('the state directory and agent.id it creates are private to the agent user', () => {
    const dir = tempDir();
    const file = writeConfig(dir, `agent: {state_dir: ${dir}/state/deeper}\n${plugins}collectors: [{type: burst, options: {count: 1}}]\nsinks: [{type: stdout}]\n`);
    expect(netagent(['once', '-c', file]).status).toBe(0);
    expect(statSync(join(dir, 'state')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'state', 'deeper')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'state', 'deeper', 'agent-id')).mode & 0o777).toBe(0o600);
  });

  it("an exec command sees none of the agent's environment: no secret reaches an event", () => {
    const dir = tempDir();
    const file = writeConfig(
      dir,
      `agent: {state_dir: ${dir}/s}\ncollectors:\n  - type: exec\n    options: {command: [${process.execPath}, -e, "console.log(JSON.stringify({env: process.env}))"], dataset: probe.env}\nsinks: [{type: stdout}]\n`,
    );
    const r = netagent(['once', '-c', file], { env: { KAFKA_PASSWORD: 'hunter2-in-the-agent-env' } });
    expect(r.status).toBe(0);
    const [event] = jsonLines(r.stdout);
    expect(Object.keys(event!.env).sort()).toEqual(['NETAGENT_INSTANCE', 'NETAGENT_PROC_ROOT', 'PATH']);
    expect(r.stdout + r.stderr).not.toContain('hunter2');
  });

  it('validate refuses a file sink path that is a symbolic link to a file', () => {
    const dir = tempDir();
    writeConfig(dir, 'precious\n', 'victim.conf');
    symlinkSync(join(dir, 'victim.conf'), join(dir, 'events.ndjson'));
    const yaml = `sinks:\n  - {type: file, options: {path: ${dir}/events.ndjson}}\n`;
    const file = writeConfig(dir, yaml);
    const r = netagent(['validate', '-c', file]);
    expect(r.stderr.trim()).toBe(`${file}${at(yaml, `${dir}/events`)} sinks[0].options.path: ${dir}/events.ndjson is a symbolic link to a regular file; the file sink follows no link to a file (give the real path)`);
    expect(r.status).toBe(78);
  });
});

/** The CLI end to end, as users run it: bin/netagent in a child process. */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, exited, FIXTURE_PLUGINS, netagent, ROOT, startNetagent, tempDir, waitFor, writeConfig } from './helpers/cli.js';

const burstPlugin = `plugins:\n  - path: ${FIXTURE_PLUGINS}/burst.js\n`;

function jsonLines(text: string): Record<string, any>[] {
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
}

describe('netagent CLI', () => {
  it('prints its version, help, plugin list and a plugin description', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(netagent(['--version']).stdout.trim()).toBe(pkg.version);
    const help = netagent(['--help']);
    expect(help.status).toBe(0);
    for (const cmd of ['run', 'once', 'validate', 'plugins', 'describe']) expect(help.stdout).toContain(`netagent ${cmd}`);
    const list = netagent(['plugins']);
    expect(list.stdout).toMatch(/^stdout\s+sink\s+/m);
    expect(list.stdout).toMatch(/^file\s+sink\s+/m);
    const described = netagent(['describe', 'file']);
    expect(described.status).toBe(0);
    expect(described.stdout).toContain('max_size  (size, default "100MB")');
    expect(described.stdout).toContain('path  (string, required)');
    expect(described.stdout).toContain('Sample:');
    expect(netagent(['describe', 'nope']).status).toBe(2);
  });

  it("starts from the build's V8 code cache, and without it when V8 rejects it", () => {
    // `npm run build` made dist/bundle/main.cjs.cache under this very Node.
    const cached = netagent(['--version'], { env: { NETAGENT_DEBUG: '1' } });
    expect(cached.stderr).toContain('netagent: code cache accepted');
    expect(cached.status).toBe(0);
    // A V8 flag the cache was not made with: V8 rejects it, and the CLI compiles from source.
    const r = spawnSync(process.execPath, ['--no-lazy-feedback-allocation', BIN, '--version'], {
      encoding: 'utf8',
      env: { ...process.env, NETAGENT_DEBUG: '1' },
    });
    expect(r.stderr).toContain('netagent: code cache rejected');
    expect(r.stdout.trim()).toBe(cached.stdout.trim());
    expect(r.status).toBe(0);
  });

  it('validate: exit 78, one FILE:LINE:COL line per problem, no stack trace', () => {
    const dir = tempDir();
    const file = writeConfig(dir, `agent:\n  lables: {a: b}\ncollectors:\n  - type: tcpp\n    schedule: "61 * * * * *"\nsinks:\n  - type: file\n    options: {max_files: lots}\n`);
    const r = netagent(['validate', '-c', file]);
    expect(r.status).toBe(78);
    const lines = r.stderr.trim().split('\n');
    for (const line of lines) expect(line).toMatch(new RegExp(`^${file}:\\d+:\\d+: \\S+: .+`));
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(lines.find((l) => l.includes('agent.lables'))).toMatch(/:2:3: .*unknown key "lables"/);
    expect(lines.find((l) => l.includes('collectors[0].type'))).toMatch(/:4:11: .*unknown collector type "tcpp"/);
    expect(lines.find((l) => l.includes('collectors[0].schedule'))).toMatch(/:5:15: .*bad cron expression "61 \* \* \* \* \*"/);
    expect(lines.find((l) => l.includes('sinks[0].options.max_files'))).toContain('got "lots"');
    expect(lines.find((l) => l.includes('sinks[0].options.path'))).toContain('missing required option "path"');
  });

  it('validate: a good config passes', () => {
    const dir = tempDir();
    const file = writeConfig(dir, `${burstPlugin}collectors: [{type: burst}]\nsinks: [{type: stdout}]\n`);
    const r = netagent(['validate', '-c', file]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('once: stdout carries only events, logs go to stderr, agent.id persists across runs', () => {
    const dir = tempDir();
    const file = writeConfig(dir, `agent: {state_dir: ${dir}/state, name: edge-1, tags: {env: ci}}\n${burstPlugin}collectors:\n  - {type: burst, options: {count: 3}}\nsinks: [{type: stdout}]\n`);
    const first = netagent(['once', '-c', file, '--log-level', 'debug']);
    expect(first.status).toBe(0);
    const events = jsonLines(first.stdout);
    expect(events.map((e) => [e.event.dataset, e.event.sequence, e.burst.index])).toEqual([
      ['burst.event', 1, 0], ['burst.event', 2, 1], ['burst.event', 3, 2],
    ]);
    expect(events[0]!.host.name).toBe('edge-1');
    expect(events[0]!.labels).toEqual({ env: 'ci' });
    expect(events[0]!.agent.name).toBe('netagent');
    expect(first.stderr).not.toBe('');
    for (const line of first.stderr.trim().split('\n')) expect(JSON.parse(line)).toHaveProperty('level');
    const second = jsonLines(netagent(['once', '-c', file]).stdout);
    expect(second[0]!.agent.id).toBe(events[0]!.agent.id);
    expect(second[0]!.agent.ephemeral_id).not.toBe(events[0]!.agent.ephemeral_id);
    expect(readFileSync(join(dir, 'state', 'agent-id'), 'utf8').trim()).toBe(events[0]!.agent.id);
  });

  it('once: loads the example plugin in examples/ through a config file', () => {
    const dir = tempDir();
    const file = writeConfig(dir, `agent: {state_dir: ${dir}/s}\nplugins:\n  - path: ${ROOT}/examples/uptime-collector\ncollectors:\n  - {type: uptime, options: {idle: true}}\nsinks: [{type: stdout}]\n`);
    const before = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    const r = netagent(['once', '-c', file]);
    const after = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    expect(r.status).toBe(0);
    const [event, ...rest] = jsonLines(r.stdout);
    expect(rest).toEqual([]);
    expect(event!.event).toMatchObject({ dataset: 'uptime.seconds', kind: 'metric' });
    expect(event!.system.uptime_s).toBeGreaterThanOrEqual(before);
    expect(event!.system.uptime_s).toBeLessThanOrEqual(after);
    expect(event!.system.idle_s).toBeGreaterThan(0);
  });

  it('run: SIGTERM flushes a rotating file sink; sequence contiguous from 1, whole lines, sizes within limits', async () => {
    const dir = tempDir();
    const out = join(dir, 'out', 'events.ndjson');
    const maxSize = 20_000;
    const file = writeConfig(
      dir,
      `agent: {state_dir: ${dir}/state, stats_interval: 1s}\n${burstPlugin}collectors:\n` +
        `  - {type: burst, id: a, interval: 1s, options: {count: 150, pad: 40}}\n` +
        `  - {type: burst, id: b, schedule: "* * * * * *", options: {count: 50}}\n` +
        `sinks:\n  - type: file\n    options: {path: ${out}, max_size: ${maxSize}, max_files: 100}\n`,
    );
    const agent = startNetagent(['run', '-c', file]);
    await new Promise((r) => setTimeout(r, 3500));
    const stoppedAt = Date.now();
    agent.kill('SIGTERM');
    const { code } = await exited(agent);
    expect(Date.now() - stoppedAt).toBeLessThan(5000);
    expect(code).toBe(0);
    const files = readdirSync(join(dir, 'out')).sort((x, y) => rotation(y) - rotation(x));
    expect(files.length).toBeGreaterThan(3);
    expect(files.length).toBeLessThanOrEqual(101);
    const sequences: number[] = [];
    for (const name of files) {
      const path = join(dir, 'out', name);
      expect(statSync(path).size).toBeLessThanOrEqual(maxSize);
      const text = readFileSync(path, 'utf8');
      expect(text.endsWith('\n')).toBe(true);
      for (const event of jsonLines(text)) sequences.push(event.event.sequence);
    }
    expect(sequences).toEqual(Array.from({ length: sequences.length }, (_, i) => i + 1));
    const all = files.flatMap((n) => jsonLines(readFileSync(join(dir, 'out', n), 'utf8')));
    const stats = all.filter((e) => e.event.dataset === 'agent.stats');
    expect(stats.length).toBeGreaterThanOrEqual(2);
    const last = stats[stats.length - 1]!.netagent;
    expect(last.collectors.a.runs).toBeGreaterThanOrEqual(3);
    expect(last.collectors.a.events).toBe(150 * last.collectors.a.runs);
    expect(last.sinks.file).toMatchObject({ dropped: 0, failed: 0 });
  });

  it('run: keeps max_files rotated files', async () => {
    const dir = tempDir();
    const out = join(dir, 'events.ndjson');
    const file = writeConfig(dir, `agent: {state_dir: ${dir}/s}\n${burstPlugin}collectors:\n  - {type: burst, interval: 1s, options: {count: 400, pad: 50}}\nsinks:\n  - type: file\n    options: {path: ${out}, max_size: 10KB, max_files: 2}\n`);
    const agent = startNetagent(['run', '-c', file]);
    await waitFor(() => existsSync(`${out}.2`), 20_000, 'two rotations');
    await new Promise((r) => setTimeout(r, 1200));
    agent.kill('SIGTERM');
    expect((await exited(agent)).code).toBe(0);
    expect(readdirSync(dir).filter((n) => n.startsWith('events.ndjson')).sort()).toEqual(['events.ndjson', 'events.ndjson.1', 'events.ndjson.2']);
    const sequences = ['events.ndjson.2', 'events.ndjson.1', 'events.ndjson'].flatMap((n) => jsonLines(readFileSync(join(dir, n), 'utf8')).map((e) => e.event.sequence));
    expect(sequences).toEqual(Array.from({ length: sequences.length }, (_, i) => sequences[0] + i));
  });

  it('run: SIGHUP reloads a valid config, keeps the old one on an invalid config, and the sequence goes on', async () => {
    const dir = tempDir();
    const config = (count: number) => `agent: {state_dir: ${dir}/s, stats_interval: 0s}\n${burstPlugin}collectors:\n  - {type: burst, interval: 1s, options: {count: ${count}}}\nsinks: [{type: stdout}]\n`;
    const file = writeConfig(dir, config(1));
    const agent = startNetagent(['run', '-c', file]);
    await waitFor(() => jsonLines(agent.output.stdout).length >= 2, 10_000, 'first events');
    writeConfig(dir, 'collectors: [{type: burst, interval: 1s}]\nsinks: [{type: nowhere}]\n');
    agent.kill('SIGHUP');
    await waitFor(() => agent.output.stderr.includes('reload failed'), 10_000, 'reload failure');
    expect(agent.output.stderr).toContain('unknown sink type \\"nowhere\\"');
    const before = jsonLines(agent.output.stdout).length;
    await waitFor(() => jsonLines(agent.output.stdout).length > before, 5000, 'old config still running');
    writeConfig(dir, config(3));
    agent.kill('SIGHUP');
    await waitFor(() => jsonLines(agent.output.stdout).some((e) => e.burst.index === 2), 10_000, 'new config events');
    agent.kill('SIGTERM');
    expect((await exited(agent)).code).toBe(0);
    const sequences = jsonLines(agent.output.stdout).map((e) => e.event.sequence);
    expect(sequences).toEqual(Array.from({ length: sequences.length }, (_, i) => i + 1));
  });

  it('run: an unwritable file sink is reported and the other sinks carry on', async () => {
    // No one, not even root, creates a directory in /sys (EPERM); validate cannot tell, as it can
    // a path under a regular file.
    const dir = tempDir();
    const blocker = `/sys/netagent-test-${process.pid}`;
    const file = writeConfig(dir, `agent: {state_dir: ${dir}/s, stats_interval: 1s}\n${burstPlugin}collectors:\n  - {type: burst, interval: 1s, options: {count: 2}}\nsinks:\n  - {type: stdout}\n  - type: file\n    options: {path: ${blocker}/events.ndjson}\n`);
    const agent = startNetagent(['run', '-c', file]);
    await waitFor(() => jsonLines(agent.output.stdout).some((e) => e.event.dataset === 'agent.stats'), 10_000, 'stats event');
    agent.kill('SIGTERM');
    expect((await exited(agent)).code).toBe(0);
    expect(agent.output.stderr).toContain(`${blocker}/events.ndjson: cannot open for appending`);
    const stats = jsonLines(agent.output.stdout).filter((e) => e.event.dataset === 'agent.stats')[0]!;
    expect(stats.netagent.sinks.file.open).toBe(false);
    expect(stats.netagent.sinks.file.last_error).toContain('cannot open for appending');
    expect(stats.netagent.sinks.stdout.written).toBeGreaterThan(0);
  });

  it("run: a collector's own stats() join its agent.stats entry (tcp: tables_skipped)", async () => {
    const dir = tempDir();
    const file = writeConfig(dir, `agent: {state_dir: ${dir}/s, stats_interval: 1s}\ncollectors:\n  - {type: tcp, interval: 1s, options: {mode: summary}}\nsinks: [{type: stdout, datasets: [agent.stats]}]\n`);
    const agent = startNetagent(['run', '-c', file]);
    await waitFor(() => jsonLines(agent.output.stdout).some((e) => e.netagent?.collectors.tcp.runs > 0), 10_000, 'stats after a tcp run');
    agent.kill('SIGTERM');
    expect((await exited(agent)).code).toBe(0);
    const tcp = jsonLines(agent.output.stdout).filter((e) => e.netagent.collectors.tcp.runs > 0)[0]!.netagent.collectors.tcp;
    expect(tcp).toMatchObject({ type: 'tcp', failures: 0 });
    expect(Number.isInteger(tcp.tables_skipped)).toBe(true);
  });
});

function rotation(name: string): number {
  const m = /\.(\d+)$/.exec(name);
  return m ? Number(m[1]) : 0;
}


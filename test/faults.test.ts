/**
 * Issue 16, "no fault wedges the agent": each case reproduced with the real CLI, real processes
 * and real signals, against the rules docs/architecture.md states.
 */
import { describe, expect, it } from 'vitest';
import { exited, FIXTURE_PLUGINS, netagent, startNetagent, tempDir, waitFor, writeConfig } from './helpers/cli.js';

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

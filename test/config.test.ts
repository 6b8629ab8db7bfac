import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createRootContainer } from '../src/composition-root.js';
import { planFromText } from '../src/core/config/load.js';
import { ConfigError, type ConfigProblem } from '../src/core/errors.js';
import { FIXTURE_PLUGINS } from './helpers/cli.js';

const root = createRootContainer({ logger: pino({ level: 'silent' }) });

async function problemsOf(yaml: string, env: NodeJS.ProcessEnv = {}): Promise<ConfigProblem[]> {
  try {
    await planFromText('test.yaml', yaml, root, env);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

/** The 1-based line of the first line of `yaml` containing `text`: where a problem must point. */
function lineOf(yaml: string, text: string): number {
  const index = yaml.split('\n').findIndex((l) => l.includes(text));
  if (index < 0) throw new Error(`${text} not in config`);
  return index + 1;
}

const burst = `plugins:\n  - path: ${FIXTURE_PLUGINS}/burst.js\n`;

describe('config validation', () => {
  it('accepts a good config and applies defaults', async () => {
    const plan = await planFromText('ok.yaml', `${burst}collectors:\n  - type: burst\nsinks:\n  - type: stdout\n`, root, {});
    expect(plan.collectors[0]!.id).toBe('burst');
    expect(plan.collectors[0]!.options).toEqual({ count: 10, pad: 0, sleep_ms: 0, fail_every: 0 });
    expect(plan.collectors[0]!.trigger).toEqual({ kind: 'interval', ms: 10_000 });
    expect(plan.sinks[0]!.options).toEqual({ format: 'ndjson' });
    expect(plan.agent.proc_root).toBe('/proc');
  });

  it('names an unknown key with its line, column and a did-you-mean', async () => {
    const yaml = `agent:\n  proc_rot: /proc\nsinks:\n  - type: stdout\n`;
    const [p, ...rest] = await problemsOf(yaml);
    expect(rest).toEqual([]);
    expect(p).toMatchObject({ file: 'test.yaml', line: lineOf(yaml, 'proc_rot'), col: 3, path: 'agent.proc_rot' });
    expect(p!.message).toContain('did you mean "proc_root"');
  });

  it('reports a bad cron expression at the schedule', async () => {
    const yaml = `${burst}collectors:\n  - type: burst\n    schedule: "*/5 * * *"\nsinks: [{type: stdout}]\n`;
    const problems = await problemsOf(yaml);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ line: lineOf(yaml, 'schedule'), path: 'collectors[0].schedule' });
    expect(problems[0]!.message).toContain('*/5 * * *');
  });

  it('reports an unknown plugin type with the known ones', async () => {
    const yaml = `collectors: []\nsinks:\n  - type: stdot\n`;
    const [p] = await problemsOf(yaml);
    expect(p).toMatchObject({ line: 3, path: 'sinks[0].type' });
    expect(p!.message).toContain('unknown sink type "stdot"; did you mean "stdout"?');
  });

  it('reports a YAML syntax error with its position', async () => {
    const yaml = `sinks:\n  - type: stdout\n   options: {format: text\n`;
    const problems = await problemsOf(yaml);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toMatch(/^YAML syntax error/);
    expect(problems[0]!.line).toBeGreaterThanOrEqual(lineOf(yaml, 'options'));
  });

  it('reports a wrong option type with the value given', async () => {
    const yaml = `${burst}collectors:\n  - type: burst\n    options:\n      count: many\nsinks: [{type: stdout}]\n`;
    const [p] = await problemsOf(yaml);
    expect(p).toMatchObject({ line: lineOf(yaml, 'count: many'), col: 14, path: 'collectors[0].options.count' });
    expect(p!.message).toBe('expected integer, got "many"');
  });

  it('reports a duplicate collector id and where it was first used', async () => {
    const yaml = `${burst}collectors:\n  - type: burst\n  - type: burst\nsinks: [{type: stdout}]\n`;
    const [p] = await problemsOf(yaml);
    expect(p).toMatchObject({ path: 'collectors[1].id' });
    expect(p!.message).toContain(`duplicate collector id "burst" (first used at line ${lineOf(yaml, '- type: burst')})`);
  });

  it('reports a missing required option', async () => {
    const yaml = `sinks:\n  - type: file\n    options: {max_files: 2}\n`;
    const [p] = await problemsOf(yaml);
    expect(p).toMatchObject({ line: 3, path: 'sinks[0].options.path', message: 'missing required option "path"' });
  });

  it('reports every problem at once, in file order', async () => {
    const yaml = `agent: {nmae: x}\n${burst}collectors:\n  - type: burst\n    interval: soon\n  - type: nope\nsinks:\n  - type: file\n`;
    const problems = await problemsOf(yaml);
    expect(problems.map((p) => p.path)).toEqual(['agent.nmae', 'collectors[0].interval', 'collectors[1].type', 'sinks[0].options.path']);
    expect(problems.map((p) => p.line)).toEqual([...problems.map((p) => p.line)].sort((a, b) => a - b));
  });

  it('substitutes ${VAR} and ${VAR:-default}, typed as if written literally', async () => {
    const yaml = `${burst}agent:\n  name: \${HOST_OVERRIDE}\n  tags: {dc: "\${DC:-eu-1}"}\ncollectors:\n  - type: burst\n    options: {count: \${COUNT}}\nsinks: [{type: stdout}]\n`;
    const plan = await planFromText('env.yaml', yaml, root, { HOST_OVERRIDE: 'edge-7', COUNT: '3' });
    expect(plan.agent.name).toBe('edge-7');
    expect(plan.agent.tags).toEqual({ dc: 'eu-1' });
    expect(plan.collectors[0]!.options.count).toBe(3);
  });

  it('reports an unset variable without default', async () => {
    const yaml = `agent:\n  name: \${NOT_SET_ANYWHERE}\nsinks: [{type: stdout}]\n`;
    const [p] = await problemsOf(yaml);
    expect(p).toMatchObject({ line: 2, col: 9, path: 'agent.name' });
    expect(p!.message).toContain('NOT_SET_ANYWHERE is not set');
  });

  it('substitutes like the shell: nested defaults, set-but-empty apart from unset, $${ literal', async () => {
    const yaml = `agent:\n  name: "\${A:-\${B:-fallback}}"\n  tags:\n    empty: "\${EMPTY}"\n    colon_dash: "\${EMPTY:-x}"\n    dash: "\${EMPTY-x}"\n    unset_dash: "\${UNSET-y}"\n    literal: "$\${NOT_A_VAR}"\n    joined: \${B}-\${C}\n# \${IN_A_COMMENT} \${UNCLOSED\nsinks: [{type: stdout}]\n`;
    const plan = await planFromText('env.yaml', yaml, root, { B: 'bee', C: 'sea', EMPTY: '' });
    expect(plan.agent.name).toBe('bee');
    expect(plan.agent.tags).toEqual({ empty: '', colon_dash: 'x', dash: '', unset_dash: 'y', literal: '\${NOT_A_VAR}', joined: 'bee-sea' });
    expect((await planFromText('env.yaml', yaml, root, { A: 'ay', B: 'bee', C: 'sea', EMPTY: '' })).agent.name).toBe('ay');
  });

  it('a variable cannot inject YAML: its value stays one scalar, typed only when unquoted', async () => {
    const yaml = `\${burst}agent:\n  name: \${EVIL}\n  tags: {quoted: "\${N}", dc: \${DC}}\ncollectors:\n  - {type: burst, options: {count: \${N}}}\nsinks: [{type: stdout}]\n`.replace('${burst}', burst);
    const plan = await planFromText('env.yaml', yaml, root, { EVIL: 'x\nsinks: []\ncollectors: []', N: '3', DC: 'fra1 # not a comment' });
    expect(plan.agent.name).toBe('x\nsinks: []\ncollectors: []');
    expect(plan.agent.tags).toEqual({ quoted: '3', dc: 'fra1 # not a comment' });
    expect(plan.collectors[0]!.options.count).toBe(3);
    expect(plan.sinks).toHaveLength(1);
    // A list in a variable is text, so a wrong type is reported rather than let through.
    const [p] = await problemsOf(yaml, { EVIL: '[a, b]', N: '[1, 2]', DC: 'x' });
    expect(p).toMatchObject({ path: 'collectors[0].options.count', message: 'expected integer, got "[1, 2]"' });
  });

  it('keeps the columns of a line after a substitution', async () => {
    const yaml = `agent: {name: "\${LONG_VARIABLE_NAME}", proc_rot: /proc}\nsinks: [{type: stdout}]\n`;
    const [p] = await problemsOf(yaml, { LONG_VARIABLE_NAME: 'x' });
    expect(p).toMatchObject({ line: 1, col: yaml.indexOf('proc_rot') + 1, path: 'agent.proc_rot' });
  });

  it('names a plugin entry that is not a plugin', async () => {
    const yaml = `plugins:\n  - path: ${FIXTURE_PLUGINS}/not-a-plugin.js\nsinks: [{type: stdout}]\n`;
    const [p] = await problemsOf(yaml);
    expect(p).toMatchObject({ line: 2, path: 'plugins[0]' });
    expect(p!.message).toContain('not-a-plugin.js is not a netagent plugin');
  });

  it('lets two instances of one plugin run with different options', async () => {
    const yaml = `${burst}collectors:\n  - {type: burst, id: small, options: {count: 1}}\n  - {type: burst, id: big, options: {count: 100}}\nsinks: [{type: stdout}]\n`;
    const plan = await planFromText('two.yaml', yaml, root, {});
    expect(plan.collectors.map((c) => [c.id, c.options.count])).toEqual([['small', 1], ['big', 100]]);
  });
});

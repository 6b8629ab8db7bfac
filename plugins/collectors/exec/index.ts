/**
 * The `exec` collector: custom collectors in any language. It runs a command on the schedule and
 * turns each NDJSON line of its stdout into one event.
 */
import { fileURLToPath } from 'node:url';
import { Type, type Static } from '@sinclair/typebox';
import { Duration, PositiveDuration, Size } from '../../../src/core/config/types.js';
import { defineCollector } from '../../../src/core/plugin.js';


export const ExecOptions = Type.Object(
  {
    command: Type.Array(Type.String(), {
      minItems: 1,
      description:
        'The program and its arguments, run directly (no shell): ["/usr/local/bin/probe", "--json"]. ' +
        'For pipes or globs write the shell yourself: ["sh", "-c", "…"]. A relative program is looked up in PATH.',
    }),
    dataset: Type.String({
      pattern: '^[a-z0-9_]+(\\.[a-z0-9_]+)+$',
      description: 'event.dataset of every event, e.g. "myapp.sessions" (lower-case, dotted).',
    }),
    kind: Type.Union([Type.Literal('metric'), Type.Literal('state')], { default: 'metric', description: 'event.kind of every event.' }),
    timeout: PositiveDuration({
      default: '30s',
      description: 'Kill the command (its whole process group: SIGTERM, then SIGKILL after kill_grace) when it runs longer; the run fails.',
    }),
    kill_grace: Duration({ default: '2s', description: 'How long a timed-out command may take to exit after SIGTERM before SIGKILL.' }),
    env: Type.Record(Type.String(), Type.String(), {
      default: {},
      description:
        "The command's whole environment, with NETAGENT_PROC_ROOT, NETAGENT_INSTANCE and PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin " +
        "(unless set here). Nothing of the agent's own environment is passed on.",
    }),
    cwd: Type.Optional(Type.String({ description: "Working directory of the command; default: the agent's." })),
    reserved_keys: Type.Union([Type.Literal('move'), Type.Literal('malformed')], {
      default: 'move',
      description:
        'A line with a top-level @timestamp, event, host, agent, ecs, labels or data_stream key (the envelope\'s), or with a ' +
        'number, string or list where ECS or netagent has an object (`"source": "probe-1"`, `"process": 42`): `move` puts each ' +
        'such key under `exec.` (`host` → `exec.host`), `malformed` skips the line and counts it as malformed.',
    }),
    max_line_size: Size({ default: '1MiB', description: 'Longer stdout lines are skipped and counted as malformed.' }),
    max_stderr_lines: Type.Integer({
      minimum: 0,
      default: 100,
      description: 'stderr lines logged per run (at warn level); the rest are counted in one summary line.',
    }),
  },
  { additionalProperties: false },
);
export type ExecOptions = Static<typeof ExecOptions>;

export const execCollector = defineCollector({
  type: 'exec',
  kind: 'collector',
  description: 'Runs a command on the schedule; each NDJSON line of its stdout becomes an event (custom collectors in any language).',
  options: ExecOptions,
  // Where a command's credentials go: never echoed in a config error.
  secrets: ['env'],
  datasets: ['(set by the `dataset` option)'],
  sample: fileURLToPath(new URL('./sample.yaml', import.meta.url)),
  load: () => import('./collector.js').then((m) => m.ExecCollector),
});

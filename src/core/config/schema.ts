/** The schema of a whole netagent config file; plugin `options` are checked by each plugin's own. */
import { Type, type Static } from '@sinclair/typebox';
import { Duration, PositiveDuration, StringEnum } from './types.js';

const Options = Type.Record(Type.String(), Type.Unknown(), {
  default: {},
  description: "The plugin's own options; see `netagent describe TYPE`.",
});

export const AgentSection = Type.Object(
  {
    name: Type.Optional(Type.String({ description: 'host.name of every event; default: the hostname.' })),
    tags: Type.Record(Type.String(), Type.String(), { default: {}, description: 'Copied into every event as `labels`.' }),
    proc_root: Type.String({ default: '/proc', description: 'Where /proc is; `/host/proc` in a container.' }),
    netns: StringEnum(['self', 'host', 'all'], {
      default: 'self',
      description: 'Network namespaces read by /proc/net collectors: the agent\'s own, the host\'s (pid 1 of proc_root), or every one found.',
    }),
    state_dir: Type.Optional(Type.String({ description: 'Where agent.id persists; default /var/lib/netagent as root, else ~/.local/state/netagent.' })),
    interval: PositiveDuration({ default: '10s', description: 'Schedule of collectors that set neither `schedule` nor `interval`.' }),
    stats_interval: Duration({ default: '60s', description: 'How often the agent.stats event is emitted; 0s disables it.' }),
    shutdown_timeout: Duration({ default: '5s', description: 'On SIGTERM: how long in-flight collections and sink flushes may take.' }),
    log_level: StringEnum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], { default: 'info', description: 'Log level (logs go to stderr); the -l flag overrides it.' }),
  },
  { additionalProperties: false, default: {}, description: 'Settings of the agent itself. All optional.' },
);

export const CollectorEntry = Type.Object(
  {
    type: Type.String({ description: 'Built-in or plugin collector type.' }),
    id: Type.Optional(Type.String({ minLength: 1, description: 'Unique instance id; default: the type.' })),
    schedule: Type.Optional(Type.String({ description: 'Cron with seconds, e.g. "*/10 * * * * *".' })),
    interval: Type.Optional(PositiveDuration({ description: 'Alternative to schedule, e.g. 10s. Any length: timers past 24.8 days are chained.' })),
    timeout: Type.Optional(PositiveDuration({
      description: 'Per-run timeout; default: the interval, at most 60s. A run still going then is abandoned (counted as a timeout, its later events dropped).',
    })),
    jitter: Duration({
      default: '0s',
      description: 'Random delay added to each run, so a fleet does not fire in lockstep. Shorter than the interval; a stop cancels a run still waiting.',
    }),
    options: Options,
  },
  { additionalProperties: false, description: 'Each entry of `collectors:` runs one collector instance on its schedule.' },
);

export const SinkEntry = Type.Object(
  {
    type: Type.String({ description: 'Built-in or plugin sink type.' }),
    id: Type.Optional(Type.String({ minLength: 1, description: 'Unique instance id; default: the type.' })),
    datasets: Type.Array(Type.String(), { default: ['*'], description: 'event.dataset globs routed to this sink.' }),
    queue: Type.Object(
      {
        max_events: Type.Integer({ minimum: 1, default: 200_000, description: 'Events held in memory for this sink.' }),
        when_full: StringEnum(['drop_oldest', 'drop_newest'], { default: 'drop_oldest', description: 'What a full queue discards (counted as dropped).' }),
      },
      { additionalProperties: false, default: {} },
    ),
    batch: Type.Object(
      {
        max_events: Type.Integer({ minimum: 1, default: 1000, description: 'Events per write() call.' }),
        max_wait: Duration({ default: '200ms', description: 'How long a partial batch waits for more events.' }),
      },
      { additionalProperties: false, default: {} },
    ),
    retry: Type.Object(
      {
        initial: PositiveDuration({ default: '200ms', description: 'First backoff after a retriable failure.' }),
        max: PositiveDuration({ default: '30s', description: 'Longest backoff.' }),
      },
      { additionalProperties: false, default: {} },
    ),
    options: Options,
  },
  {
    additionalProperties: false,
    description: 'Each entry of `sinks:` receives the events whose dataset matches `datasets`, through its own bounded queue.',
  },
);

export const PluginEntry = Type.Object(
  {
    path: Type.Optional(Type.String({ description: 'A module file or folder, relative to the config file.' })),
    package: Type.Optional(Type.String({ description: 'An installed npm package name.' })),
  },
  { additionalProperties: false, description: 'Each entry of `plugins:` loads third-party plugins (see docs/plugins.md).' },
);

export const ConfigSchema = Type.Object(
  {
    agent: AgentSection,
    collectors: Type.Array(CollectorEntry, { default: [] }),
    sinks: Type.Array(SinkEntry, { default: [] }),
    plugins: Type.Array(PluginEntry, { default: [] }),
  },
  { additionalProperties: false },
);

export type AgentSettings = Static<typeof AgentSection>;
export type CollectorEntryConfig = Static<typeof CollectorEntry>;
export type SinkEntryConfig = Static<typeof SinkEntry>;
export type PluginEntryConfig = Static<typeof PluginEntry>;
export type RawConfig = Static<typeof ConfigSchema>;

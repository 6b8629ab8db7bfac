/**
 * The command line: `run`, `once`, `validate`, `plugins`, `describe TYPE`, `setup elasticsearch`.
 * Commands only; all the work happens in the core and the plugins. Exit codes: 0 ok, 1 failure,
 * 2 usage, 78 configuration (EX_CONFIG).
 */
import 'reflect-metadata';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import type { Logger } from 'pino';
import { buildAgent, createRootContainer } from '../composition-root.js';
import type { Agent } from '../core/agent.js';
import { loadAgentPlan } from '../core/config/load.js';
import { ConfigError, errorMessage } from '../core/errors.js';
import { AGENT_VERSION, PACKAGE_ROOT } from '../core/package-root.js';
import { PluginRegistry } from '../core/registry.js';
import { after } from '../core/timers.js';
import { TOKENS } from '../core/tokens.js';
import { parseDuration } from '../core/units.js';
import { describePlugin, listPlugins } from './describe.js';
import { SETUP_TARGETS, setupCommand } from './setup.js';

const EXIT_USAGE = 2;
const EXIT_CONFIG = 78;
export const DEFAULT_CONFIG = join(PACKAGE_ROOT, 'config', 'default.yaml');

const HELP = `netagent ${AGENT_VERSION}: netstat, ss, nstat and ip as normalized events

Usage:
  netagent run      [-c FILE]                      run until SIGTERM/SIGINT; SIGHUP reloads the config
  netagent once     [-c FILE] [--collector TYPE]…  run each collector once, flush the sinks, exit
  netagent validate  -c FILE                        check a config; exit 78 listing every problem
  netagent plugins                                  list collector and sink types
  netagent describe TYPE                            a plugin's options, defaults and a sample
  netagent setup elasticsearch -c FILE              install index templates and lifecycle policies for
                                                    each elasticsearch sink of FILE (idempotent)

Options:
  -c, --config FILE     config file (default: the embedded config/default.yaml)
      --collector TYPE  with once: only this collector type or id (repeatable)
  -l, --log-level LVL   trace|debug|info|warn|error|fatal|silent (overrides agent.log_level)
  -h, --help            this help
  -V, --version         print the version

Events go to the configured sinks (stdout: NDJSON); logs go to stderr.`;

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        collector: { type: 'string', multiple: true },
        'log-level': { type: 'string', short: 'l' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.version) {
    process.stdout.write(`${AGENT_VERSION}\n`);
    return 0;
  }
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${HELP}\n`);
    return command || values.help ? 0 : EXIT_USAGE;
  }
  const logLevel = values['log-level'];
  const root = createRootContainer({ logLevel: logLevel ?? 'info' });
  const logger = root.resolve<Logger>(TOKENS.Logger);
  catchCrashes(logger);
  const configFile = values.config ?? DEFAULT_CONFIG;

  switch (command) {
    case 'run':
      return run(configFile, root, logger, logLevel);
    case 'once':
      return once(configFile, values.collector ?? [], root, logger, logLevel);
    case 'validate': {
      if (!values.config) throw new UsageError('validate needs -c FILE');
      // Every check `run` makes before starting, including building each plugin instance.
      const { plan } = await buildAgent(configFile, root);
      process.stdout.write(`${configFile}: OK (${plan.collectors.length} collectors, ${plan.sinks.length} sinks)\n`);
      return 0;
    }
    case 'plugins': {
      const registry = values.config ? (await loadAgentPlan(configFile, root)).registry : root.resolve(PluginRegistry);
      process.stdout.write(`${listPlugins(registry)}\n`);
      return 0;
    }
    case 'describe': {
      const type = rest[0];
      if (!type) throw new UsageError('describe needs a plugin TYPE (see `netagent plugins`)');
      const registry = values.config ? (await loadAgentPlan(configFile, root)).registry : root.resolve(PluginRegistry);
      const manifest = registry.get(type);
      if (!manifest) throw new UsageError(`unknown plugin type "${type}" (known: ${registry.list().map((m) => m.type).join(', ')})`);
      process.stdout.write(`${describePlugin(manifest)}\n`);
      return 0;
    }
    case 'setup': {
      const target = SETUP_TARGETS.find((t) => t === rest[0]);
      if (!target) throw new UsageError(`setup needs a target: ${SETUP_TARGETS.join(', ')}`);
      if (!values.config) throw new UsageError(`setup ${target} needs -c FILE (the config naming the ${target} sinks)`);
      return setupCommand(target, configFile, root, logger, {
        report: (text) => process.stdout.write(`${text}\n`),
        problem: (text) => process.stderr.write(`netagent: ${text}\n`),
      });
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/** The agent `run` or `once` drives: what a crash flushes before the process exits. */
let current: Agent | null = null;

/**
 * A plugin's throw outside any call the agent made (in a timer, an event handler) leaves nothing to
 * resume safely: it is logged as JSON, the sinks are flushed as a stop would (within
 * shutdown_timeout), and the process exits 1, for systemd to restart it. A promise nobody awaited
 * that rejects harms nothing else: it is logged and the agent carries on.
 */
function catchCrashes(logger: Logger): void {
  let crashed = false;
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception (a plugin threw outside a call of the agent): flushing the sinks, then exiting 1');
    if (crashed) process.exit(1);
    crashed = true;
    const agent = current;
    const flushed = agent ? agent.stop(parseDuration(agent.plan.agent.shutdown_timeout)!) : Promise.resolve();
    flushed.catch(() => undefined).finally(() => process.exit(1));
  });
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason }, 'unhandled promise rejection (a plugin left a promise unawaited); the agent carries on');
  });
}

function applyConfigLogLevel(agent: Agent, logger: Logger, cliLevel: string | undefined): void {
  if (!cliLevel) logger.level = agent.plan.agent.log_level;
}

async function once(file: string, types: string[], root: ReturnType<typeof createRootContainer>, logger: Logger, cliLevel?: string): Promise<number> {
  // One cold pass: TurboFan compiling the per-socket path with the pipeline inlined into it (and
  // again after each deoptimization) costs more CPU than the inlined code saves before exit.
  // Measured at 100k sockets: ~0.09 s less. A running agent keeps V8's default.
  setFlagsFromString('--no-turbo-inlining');
  const agent = await buildAgent(file, root, process.env, types);
  current = agent;
  applyConfigLogLevel(agent, logger, cliLevel);
  await agent.once();
  await agent.stop(parseDuration(agent.plan.agent.shutdown_timeout)!, { finalStats: false });
  logger.debug({ collectors: agent.statsFields() }, 'once: done');
  // As the contract says: exit 0 once the sinks are flushed. A failed collector was logged with its
  // id and error, one that hung was abandoned at its timeout; the events of the others were
  // delivered. The last log line names them all.
  const timedOut = agent.collectors.filter((c) => c.stats.timeouts > 0).map((c) => c.id);
  const failed = agent.collectors.filter((c) => c.stats.failures > 0 && c.stats.timeouts === 0).map((c) => c.id);
  if (failed.length + timedOut.length > 0) {
    logger.error({ collectors: [...failed, ...timedOut], failed, timed_out: timedOut }, 'some collectors failed or timed out; their events may be missing');
  }
  return 0;
}

async function run(file: string, root: ReturnType<typeof createRootContainer>, logger: Logger, cliLevel?: string): Promise<number> {
  // V8 grows the young generation, by doubling, each time the objects surviving its collections
  // add up to its size. A busy agent's queued events always get it to the maximum in the end: at
  // 100k sockets a cycle, four doublings over the first ~17 cycles, each a step of RSS that looks
  // like a leak to whoever watches the agent settle in. In one step, memory is flat from the start.
  setFlagsFromString('--semi-space-growth-factor=16');
  let agent = await buildAgent(file, root);
  current = agent;
  applyConfigLogLevel(agent, logger, cliLevel);
  await agent.start();
  logger.info({ config: file, collectors: agent.collectors.length, sinks: agent.plan.sinks.length }, 'netagent running');

  let busy: Promise<void> = Promise.resolve();
  const serially = (task: () => Promise<void>) => (busy = busy.then(task, task));

  process.on('SIGHUP', () => {
    void serially(async () => {
      logger.info({ config: file }, 'SIGHUP: reloading');
      let next: Agent;
      try {
        next = await buildAgent(file, root);
      } catch (err) {
        const problems = err instanceof ConfigError ? err.problems.length : 1;
        logger.error({ err: err instanceof ConfigError ? err.message : err, problems }, 'reload failed; the running config stays');
        return;
      }
      await agent.stop(parseDuration(agent.plan.agent.shutdown_timeout)!);
      agent = current = next;
      applyConfigLogLevel(agent, logger, cliLevel);
      await agent.start();
      logger.info('reloaded');
    });
  });

  // Until a stop: the process must not end by itself when the event loop happens to have nothing
  // left (no collector, or a run that hangs on a promise nothing will settle while a stop waits).
  const alive = after(Infinity, () => {});
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal }, 'stopping');
      void serially(async () => {
        await agent.stop(parseDuration(agent.plan.agent.shutdown_timeout)!);
        logger.info('stopped');
        alive.cancel();
        resolve(0);
      });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}

main(process.argv.slice(2)).then(
  // Sinks are flushed and closed by now (stdout and stderr writes are synchronous for files and
  // pipes on Linux); exit even if a library left a timer or socket behind.
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    if (err instanceof UsageError) {
      process.stderr.write(`netagent: ${err.message}\n(see netagent --help)\n`);
      process.exit(EXIT_USAGE);
    }
    process.stderr.write(`netagent: ${errorMessage(err)}\n`);
    if (process.env.NETAGENT_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  },
);

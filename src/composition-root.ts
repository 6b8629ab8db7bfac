/**
 * The composition root: the one place that decides which implementation stands behind each token.
 * Everything else asks the container, so a test can build a container with exactly the plugins
 * and clock it needs.
 */
import 'reflect-metadata';
import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';
import { container as globalContainer, type DependencyContainer } from 'tsyringe';
import { builtinPlugins } from '../plugins/index.js';
import { Agent } from './core/agent.js';
import { loadAgentPlan } from './core/config/load.js';
import { EventStamper } from './core/envelope.js';
import { InstanceCounters } from './core/instance-counters.js';
import { newUuid } from './core/identity.js';
import { AGENT_VERSION } from './core/package-root.js';
import type { PluginManifest } from './core/plugin.js';
import { TOKENS } from './core/tokens.js';

export interface RootOptions {
  /** Defaults to every built-in plugin. */
  readonly manifests?: readonly PluginManifest[];
  readonly logger?: Logger;
  readonly logLevel?: string;
  readonly now?: () => number;
}

/** Logs go to stderr, synchronously, so that stdout carries only events and no log line is lost at exit. */
export function createLogger(level = 'info'): Logger {
  return pino({ name: 'netagent', level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
}

export function createRootContainer(options: RootOptions = {}): DependencyContainer {
  const root = globalContainer.createChildContainer();
  const logger = options.logger ?? createLogger(options.logLevel);
  const ephemeralId = newUuid();
  root.register(TOKENS.Logger, { useValue: logger });
  root.register(TOKENS.Clock, { useValue: options.now ?? Date.now });
  root.register(EventStamper, {
    useValue: new EventStamper({ hostName: hostname(), agentVersion: AGENT_VERSION, agentId: '', ephemeralId, labels: {} }),
  });
  root.register(TOKENS.EphemeralId, { useValue: ephemeralId });
  root.register(InstanceCounters, { useValue: new InstanceCounters(options.now ?? Date.now) });
  for (const manifest of options.manifests ?? builtinPlugins) root.register(TOKENS.PluginManifest, { useValue: manifest });
  return root;
}

/**
 * Reads and checks a config file and builds its Agent (not started) against `root`; with
 * `collectors`, only the collectors of those types or ids.
 */
export async function buildAgent(
  file: string,
  root: DependencyContainer,
  env: NodeJS.ProcessEnv = process.env,
  collectors: readonly string[] = [],
): Promise<Agent> {
  let plan = await loadAgentPlan(file, root, env);
  if (collectors.length > 0) {
    const chosen = plan.collectors.filter((c) => collectors.includes(c.manifest.type) || collectors.includes(c.id));
    const unknown = collectors.filter((t) => !chosen.some((c) => c.manifest.type === t || c.id === t));
    if (unknown.length > 0) throw new Error(`no configured collector of type or id ${unknown.join(', ')} in ${file}`);
    plan = { ...plan, collectors: chosen };
  }
  return Agent.build(plan, root, {
    logger: root.resolve<Logger>(TOKENS.Logger),
    stamper: root.resolve(EventStamper),
    counters: root.resolve(InstanceCounters),
    ephemeralId: root.resolve<string>(TOKENS.EphemeralId),
    now: root.resolve<() => number>(TOKENS.Clock),
  });
}

/**
 * One running configuration: its collectors, sinks, pipeline and scheduler. A reload builds a new
 * Agent and stops the old one; the process-wide EventStamper keeps event.sequence going.
 */
import type { Logger } from 'pino';
import { instanceCachingFactory, type DependencyContainer } from 'tsyringe';
import { SocketOwners } from './socket-owners.js';
import type { AgentPlan, CollectorPlan, SinkPlan } from './config/load.js';
import type { EventStamper } from './envelope.js';
import { ConfigError, messageOf, type ConfigProblem } from './errors.js';
import { identityFor } from './identity.js';
import { procFsFor } from './netns.js';
import { InstanceCounters } from './instance-counters.js';
import { newSinkCounters, Pipeline, SinkRunner } from './pipeline.js';
import type { Collector, Constructor, PluginInstance, Sink } from './plugin.js';
import { CollectorRunner, newCollectorCounters, Scheduler } from './scheduler.js';
import { every, sleep, type Timer } from './timers.js';
import { TOKENS } from './tokens.js';
import { parseDuration } from './units.js';

/** How long a collector's close() may take at the least, even when a hung run used up its time. */
const MIN_COLLECTOR_CLOSE_MS = 100;

export interface AgentDeps {
  /** Counters per instance for the whole process: a reload goes on counting. */
  readonly counters: InstanceCounters;
  readonly logger: Logger;
  readonly stamper: EventStamper;
  readonly ephemeralId: string;
  readonly now: () => number;
}

export class Agent {
  private scheduler: Scheduler | null = null;
  private statsTimer: Timer | null = null;
  private stopped: Promise<void> | null = null;

  private constructor(
    readonly plan: AgentPlan,
    private readonly deps: AgentDeps,
    private readonly pipeline: Pipeline,
    readonly collectors: readonly CollectorRunner[],
  ) {}

  /** Instantiates every configured plugin, each in its own child container. */
  static async build(plan: AgentPlan, root: DependencyContainer, deps: AgentDeps): Promise<Agent> {
    const scope = root.createChildContainer();
    scope.register(TOKENS.AgentSettings, { useValue: plan.agent });
    scope.register(TOKENS.ProcFs, { useValue: procFsFor(plan.agent, deps.logger) });
    // Made on first use: only an agent with a socket collector has one; it scans only for
    // collectors with `processes: true`.
    scope.register(TOKENS.SocketOwners, {
      useFactory: instanceCachingFactory(() => new SocketOwners(plan.agent.proc_root, { now: deps.now })),
    });
    // A plugin whose load() or constructor throws is a config problem at its entry, like any other
    // that `validate` finds (which builds every instance the same way, without starting it).
    const problems: ConfigProblem[] = [];
    const build = async <T>(p: CollectorPlan | SinkPlan, kind: 'collector' | 'sink'): Promise<T | undefined> => {
      try {
        return await instantiate<T>(scope, p, deps.logger, kind);
      } catch (err) {
        problems.push(plan.problemAt(p.path, `cannot build ${kind} "${p.manifest.type}": ${messageOf(err)}`));
        return undefined;
      }
    };
    const sinkInstances = await Promise.all(plan.sinks.map((p) => build<Sink>(p, 'sink')));
    const collectorInstances = await Promise.all(plan.collectors.map((p) => build<Collector>(p, 'collector')));
    if (problems.length > 0) throw new ConfigError(problems);
    const { counters } = deps;
    const sinks = plan.sinks.map(
      (p, i) => new SinkRunner(p, sinkInstances[i]!, deps.logger, counters.of('sink', p.manifest.type, p.id, newSinkCounters)),
    );
    const pipeline = new Pipeline(deps.stamper, sinks, deps.now, deps.logger);
    const collectors = plan.collectors.map(
      (p, i) => new CollectorRunner(p, collectorInstances[i]!, pipeline, deps.logger, deps.now, counters.of('collector', p.manifest.type, p.id, newCollectorCounters)),
    );
    return new Agent(plan, deps, pipeline, collectors);
  }

  /** Starts sinks, runs every collector now and then on schedule, and emits agent.stats periodically. */
  async start(): Promise<void> {
    // Instances this config no longer has stop counting.
    this.deps.counters.retainOnly(new Set<object>([...this.collectors.map((c) => c.counters), ...this.pipeline.sinks.map((s) => s.counters)]));
    this.deps.stamper.setIdentity(identityFor(this.plan.agent, this.deps.ephemeralId, this.deps.logger));
    this.pipeline.start();
    this.scheduler = new Scheduler(this.collectors);
    await this.scheduler.start();
    const period = parseDuration(this.plan.agent.stats_interval)!;
    if (period > 0) {
      this.statsTimer = every(period, () => this.emitStats(), { unref: true });
    }
  }

  /** Runs every collector once, for `netagent once`. */
  async once(): Promise<void> {
    this.deps.stamper.setIdentity(identityFor(this.plan.agent, this.deps.ephemeralId, this.deps.logger));
    this.pipeline.start();
    await Promise.all(this.collectors.map((c) => c.runNow()));
  }

  /**
   * Stops scheduling, lets in-flight collections finish, flushes and closes every sink, all within
   * `timeoutMs`. A last agent.stats event records the final counters (unless `finalStats` is false).
   */
  stop(timeoutMs: number, { finalStats = true } = {}): Promise<void> {
    // A crash during a stop (SIGTERM, then a plugin's timer throws) waits for the same stop.
    this.stopped ??= this.stopOnce(timeoutMs, finalStats);
    return this.stopped;
  }

  private async stopOnce(timeoutMs: number, finalStats: boolean): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    this.scheduler?.stop();
    this.statsTimer?.cancel();
    // Collections get at most half the time, so that sinks keep the rest to flush.
    const collectDeadline = Date.now() + timeoutMs / 2;
    await Promise.all(this.collectors.map((c) => c.settle(collectDeadline)));
    // close() gets what is left of that half, and at least a moment when a hung run used it all.
    const closeBy = Math.max(collectDeadline, Date.now() + MIN_COLLECTOR_CLOSE_MS);
    await Promise.all(this.collectors.map((c) => this.closeCollector(c, closeBy)));
    if (finalStats && parseDuration(this.plan.agent.stats_interval)! > 0) this.emitStats();
    await this.pipeline.stop(deadline);
  }

  private async closeCollector(c: CollectorRunner, deadlineMs: number): Promise<void> {
    const late = new AbortController();
    try {
      const closed = await Promise.race([
        Promise.resolve().then(() => c.collector.close?.()).then(() => true),
        sleep(deadlineMs - Date.now(), late.signal).then(() => false),
      ]);
      if (!closed) this.deps.logger.error({ collector: c.id }, 'collector close() did not return by the shutdown deadline; abandoned');
    } catch (err) {
      this.deps.logger.error({ collector: c.id, err }, 'collector close failed');
    } finally {
      late.abort();
    }
  }

  statsFields(): Record<string, unknown> {
    return {
      netagent: {
        uptime_s: Math.round((this.deps.now() - this.deps.counters.startedAt) / 1000),
        collectors: Object.fromEntries(
          this.collectors.map((c) => [c.id, { type: c.plan.manifest.type, ...c.collector.stats?.(), ...c.stats }]),
        ),
        sinks: Object.fromEntries(this.pipeline.sinks.map((s) => [s.id, { type: s.plan.manifest.type, ...s.stats() }])),
      },
    };
  }

  private emitStats(): void {
    this.pipeline.emit('agent.stats', 'metric', this.statsFields());
  }
}

async function instantiate<T>(
  scope: DependencyContainer,
  plan: CollectorPlan | SinkPlan,
  logger: Logger,
  kind: 'collector' | 'sink',
): Promise<T> {
  const child = scope.createChildContainer();
  const instance: PluginInstance = { id: plan.id, type: plan.manifest.type };
  child.register(TOKENS.PluginOptions, { useValue: plan.options });
  child.register(TOKENS.PluginInstance, { useValue: instance });
  child.register(TOKENS.Logger, { useValue: logger.child({ [kind]: plan.id }) });
  const implementation = (await plan.manifest.load()) as Constructor<unknown> as Constructor<T>;
  return child.resolve<T>(implementation);
}

/**
 * Runs collectors on their schedules. A collector still running at its next tick is skipped (and the
 * skip counted): runs never overlap and never pile up. Each run has a timeout, and a failure is
 * logged with the instance id and touches no other collector.
 */
import type { Logger } from 'pino';
import type { CollectorPlan } from './config/load.js';
import { importModule } from './import-module.js';
import type { Collector, CollectContext } from './plugin.js';
import { after, every, sleep, type Timer } from './timers.js';

export interface CollectorStats {
  runs: number;
  failures: number;
  skips: number;
  timeouts: number;
  events: number;
  malformed: number;
  last_duration_ms: number;
  max_duration_ms: number;
  last_error?: string;
}

/** What the scheduler needs of the pipeline. */
export interface EventOutlet {
  emit: CollectContext['emit'];
  drained(): Promise<void>;
}

/** How often one source's malformed lines are logged; they are counted every time. */
const MALFORMED_LOG_INTERVAL_MS = 5 * 60_000;

export class CollectorRunner {
  readonly stats: CollectorStats = {
    runs: 0, failures: 0, skips: 0, timeouts: 0, events: 0, malformed: 0, last_duration_ms: 0, max_duration_ms: 0,
  };
  private running: Promise<void> | null = null;
  private current: AbortController | null = null;
  private readonly malformedLoggedAt = new Map<string, number>();
  /** Aborted when the agent stops: a run still waiting out its jitter is not started. */
  private readonly stopping = new AbortController();

  constructor(
    readonly plan: CollectorPlan,
    readonly collector: Collector,
    private readonly outlet: EventOutlet,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {}

  get id(): string {
    return this.plan.id;
  }

  /** A scheduled tick: runs unless the previous run is still going. */
  tick(delayMs = 0): void {
    if (this.running) {
      this.stats.skips++;
      this.logger.warn({ collector: this.id }, 'previous run still in progress; tick skipped');
      return;
    }
    this.running = this.runAfter(delayMs).finally(() => (this.running = null));
  }

  /** Runs now and resolves when done (for `once`), or waits for the run in progress. */
  async runNow(): Promise<void> {
    if (!this.running) this.tick();
    await this.running;
  }

  /** Resolves when no run is in progress; aborts a run still going at `deadlineMs`. */
  async settle(deadlineMs: number): Promise<void> {
    this.stopping.abort();
    if (!this.running) return;
    const timer = after(deadlineMs - Date.now(), () => this.current?.abort(new Error('agent stopping')));
    try {
      await this.running;
    } finally {
      timer.cancel();
    }
  }

  private async runAfter(delayMs: number): Promise<void> {
    if (delayMs > 0) {
      await sleep(delayMs, this.stopping.signal);
      if (this.stopping.signal.aborted) return;
    }
    const abort = new AbortController();
    this.current = abort;
    const startedAt = this.now();
    const timer = after(this.plan.timeoutMs, () => {
      this.stats.timeouts++;
      this.logger.warn({ collector: this.id, timeout_ms: this.plan.timeoutMs }, 'run timed out; aborting');
      abort.abort(new Error(`timed out after ${this.plan.timeoutMs} ms`));
    });
    const ctx: CollectContext = {
      emit: (dataset, kind, fields) => {
        this.stats.events++;
        return this.outlet.emit(dataset, kind, fields);
      },
      drained: () => this.outlet.drained(),
      malformed: (source, count, example) => this.recordMalformed(source, count, example),
      signal: abort.signal,
      startedAt,
    };
    this.stats.runs++;
    try {
      await this.collector.collect(ctx);
      if (abort.signal.aborted) throw abort.signal.reason;
    } catch (err) {
      this.stats.failures++;
      this.stats.last_error = err instanceof Error ? err.message : String(err);
      this.logger.error({ collector: this.id, err }, 'collection failed');
    } finally {
      timer.cancel();
      this.current = null;
      const duration = this.now() - startedAt;
      this.stats.last_duration_ms = duration;
      this.stats.max_duration_ms = Math.max(this.stats.max_duration_ms, duration);
    }
  }

  private recordMalformed(source: string, count: number, example: string): void {
    this.stats.malformed += count;
    const last = this.malformedLoggedAt.get(source) ?? -Infinity;
    const now = this.now();
    if (now - last >= MALFORMED_LOG_INTERVAL_MS) {
      this.malformedLoggedAt.set(source, now);
      this.logger.warn({ collector: this.id, source, count, example: example.slice(0, 200) }, 'malformed input skipped');
    }
  }
}

/** Fires the runners' ticks: cron expressions through the `cron` package, intervals on a drift-free timer. */
export class Scheduler {
  private readonly timers: Timer[] = [];

  constructor(private readonly runners: readonly CollectorRunner[]) {}

  /** Runs every collector at once (so a newcomer sees events within a second), then on schedule. */
  async start(): Promise<void> {
    const hasCron = this.runners.some((r) => r.plan.trigger.kind === 'cron');
    const cron = hasCron ? await importModule<typeof import('cron')>('cron') : undefined;
    for (const runner of this.runners) {
      runner.tick();
      const { trigger, jitterMs } = runner.plan;
      const fire = () => runner.tick(jitterMs > 0 ? Math.random() * jitterMs : 0);
      if (trigger.kind === 'cron') {
        const job = cron!.CronJob.from({ cronTime: trigger.expression, onTick: fire, start: true });
        this.timers.push({ cancel: () => void job.stop() });
      } else {
        this.timers.push(every(trigger.ms, fire));
      }
    }
  }

  stop(): void {
    for (const t of this.timers.splice(0)) t.cancel();
  }
}

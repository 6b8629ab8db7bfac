/**
 * Runs collectors on their schedules. A collector still running at its next tick is skipped (and the
 * skip counted): runs never overlap and never pile up. Each run has a timeout: a run still going
 * then is abandoned, so that a plugin that hangs can hold up neither its next runs nor a stop or a
 * reload. A failure is logged with the instance id and touches no other collector.
 */
import type { Logger } from 'pino';
import type { CollectorPlan } from './config/load.js';
import { errorMessage } from './errors.js';
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
  /** Emits refused as no valid event (fields that are no JSON object, a bad dataset or kind). */
  invalid_events: number;
  /** Events emitted by runs after they were abandoned: dropped. */
  late_events: number;
  /** Abandoned runs whose collect() has not settled yet (a gauge). */
  hung_runs: number;
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

/**
 * Abandoned runs of one collector that may be left unsettled before its ticks are skipped: a plugin
 * that hangs on every run would otherwise pile up one stuck call (and what it holds) per tick.
 */
const MAX_HUNG_RUNS = 3;

/** One call of collect(): its context stops accepting events once the run is over or abandoned. */
class Run {
  readonly abort = new AbortController();
  /** Set when the run settled or was abandoned; its context then drops what it is given. */
  closed = false;
  private release!: () => void;
  /** Resolves when the run is abandoned: a drained() wait then stops waiting. */
  readonly abandoned = new Promise<void>((resolve) => (this.release = resolve));

  abandon(reason: Error): void {
    this.closed = true;
    this.abort.abort(reason);
    this.release();
  }
}

/** A collector's counters: CollectorStats but the gauge of hung runs, which belong to one instance. */
export type CollectorCounters = Omit<CollectorStats, 'hung_runs'>;

export function newCollectorCounters(): CollectorCounters {
  return { runs: 0, failures: 0, skips: 0, timeouts: 0, events: 0, malformed: 0, invalid_events: 0, late_events: 0, last_duration_ms: 0, max_duration_ms: 0 };
}

export class CollectorRunner {
  /** Abandoned runs of this instance whose collect() has not settled yet. */
  private hungRuns = 0;
  /** The run in progress (not an abandoned one): settles when it ends or is abandoned. */
  private running: Promise<void> | null = null;
  private current: Run | null = null;
  private readonly malformedLoggedAt = new Map<string, number>();
  private invalidLoggedAt = -Infinity;
  private invalidSinceLog = 0;
  /** Aborted when the agent stops: a run still waiting out its jitter is not started. */
  private readonly stopping = new AbortController();

  constructor(
    readonly plan: CollectorPlan,
    readonly collector: Collector,
    private readonly outlet: EventOutlet,
    private readonly logger: Logger,
    private readonly now: () => number,
    /** Where this instance counts: its predecessor's counters after a reload (InstanceCounters). */
    readonly counters: CollectorCounters = newCollectorCounters(),
  ) {}

  get id(): string {
    return this.plan.id;
  }

  get stats(): CollectorStats {
    return { ...this.counters, hung_runs: this.hungRuns };
  }

  /** A scheduled tick: runs unless the previous run is still going (or too many hang). */
  tick(delayMs = 0): void {
    if (this.running) {
      this.counters.skips++;
      this.logger.warn({ collector: this.id }, 'previous run still in progress; tick skipped');
      return;
    }
    if (this.hungRuns >= MAX_HUNG_RUNS) {
      this.counters.skips++;
      this.logger.error({ collector: this.id, hung_runs: this.hungRuns }, 'abandoned runs of this collector never returned; tick skipped');
      return;
    }
    this.running = this.runAfter(delayMs).finally(() => (this.running = null));
  }

  /** Runs now and resolves when done or abandoned (for `once`), or waits for the run in progress. */
  async runNow(): Promise<void> {
    if (!this.running) this.tick();
    await this.running;
  }

  /**
   * For a stop: cancels a run still waiting out its jitter, and resolves when the run in progress
   * has ended, or at `deadlineMs`, when it is abandoned.
   */
  async settle(deadlineMs: number): Promise<void> {
    this.stopping.abort();
    if (!this.running) return;
    const timer = after(deadlineMs - Date.now(), () => this.current?.abandon(new Error('agent stopping: run abandoned')));
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
    const run = new Run();
    this.current = run;
    const startedAt = this.now();
    const timer = after(this.plan.timeoutMs, () => {
      this.counters.timeouts++;
      this.logger.error({ collector: this.id, timeout_ms: this.plan.timeoutMs }, 'run timed out; abandoned (its later events are dropped)');
      run.abandon(new Error(`timed out after ${this.plan.timeoutMs} ms`));
    });
    const ctx: CollectContext = {
      emit: (dataset, kind, fields, detail) => {
        if (run.closed) {
          this.counters.late_events++;
          return true;
        }
        try {
          const room = this.outlet.emit(dataset, kind, fields, detail);
          this.counters.events++;
          return room;
        } catch (err) {
          this.recordInvalid(err);
          return true;
        }
      },
      drained: () => (run.closed ? Promise.resolve() : Promise.race([this.outlet.drained(), run.abandoned])),
      malformed: (source, count, example) => {
        if (!run.closed) this.recordMalformed(source, count, example);
      },
      signal: run.abort.signal,
      startedAt,
    };
    this.counters.runs++;
    let collecting: Promise<void>;
    try {
      collecting = Promise.resolve(this.collector.collect(ctx));
    } catch (err) {
      collecting = Promise.reject(err); // a collect() that throws at once fails like any other
    }
    let settled = false;
    const outcome = collecting.then(
      () => (settled = true),
      (err: unknown) => {
        settled = true;
        throw err;
      },
    );
    try {
      await Promise.race([outcome, run.abandoned]);
      if (run.abort.signal.aborted) throw run.abort.signal.reason;
      delete this.counters.last_error;
    } catch (err) {
      this.counters.failures++;
      this.counters.last_error = errorMessage(err);
      if (!run.closed) this.logger.error({ collector: this.id, err }, 'collection failed');
    } finally {
      timer.cancel();
      run.closed = true;
      this.current = null;
      const duration = this.now() - startedAt;
      this.counters.last_duration_ms = duration;
      this.counters.max_duration_ms = Math.max(this.counters.max_duration_ms, duration);
    }
    if (!settled) this.watchHung(outcome);
  }

  /** Counts an abandoned run until its collect() settles at last (if ever). */
  private watchHung(outcome: Promise<unknown>): void {
    this.hungRuns++;
    const done = (err?: unknown) => {
      this.hungRuns--;
      this.logger.debug({ collector: this.id, err }, 'an abandoned run returned at last');
    };
    outcome.then(() => done(), done);
  }

  /** Counts a refused emit; logs the first, then at most one line every few minutes with the count since. */
  private recordInvalid(err: unknown): void {
    this.counters.invalid_events++;
    this.invalidSinceLog++;
    const now = this.now();
    if (now - this.invalidLoggedAt < MALFORMED_LOG_INTERVAL_MS) return;
    this.logger.error({ collector: this.id, err: errorMessage(err), refused: this.invalidSinceLog }, 'emit refused: not a valid event (counted as invalid_events)');
    this.invalidLoggedAt = now;
    this.invalidSinceLog = 0;
  }

  private recordMalformed(source: string, count: number, example: string): void {
    this.counters.malformed += count;
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

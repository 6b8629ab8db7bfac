/**
 * Fan-out from collectors to sinks. Each sink has its own bounded queue and a worker that writes
 * batches one at a time and owns retries, so a slow or failing sink never blocks another and
 * memory stays bounded: a full queue discards per its `when_full` policy, and counts it.
 */
import type { Logger } from 'pino';
import type { SinkPlan } from './config/load.js';
import { ENVELOPE_KEYS, objectMembers, type EventStamper, type StampedEvent } from './envelope.js';
import { errorMessage, messageOf, SinkError } from './errors.js';
import { globMatcher } from './glob.js';
import { EncodedFields, type EventDetail, type EventFields, type EventKind, type Sink } from './plugin.js';
import { after, sleep } from './timers.js';

/** The names of SinkStats that are the pipeline's. */
const PIPELINE_STATS: ReadonlySet<string> = new Set(['written', 'max_queued', 'failed', 'dropped', 'retries', 'last_error', 'queued', 'open', 'sink']);

/** A sink's counters kept by the pipeline; they survive a reload (InstanceCounters). */
export interface SinkCounters {
  written: number;
  /** The deepest the queue has been since start. */
  max_queued: number;
  failed: number;
  dropped: number;
  retries: number;
  /** The error of the last failed open() or write(); cleared by the next success. */
  last_error?: string;
}

export function newSinkCounters(): SinkCounters {
  return { written: 0, max_queued: 0, failed: 0, dropped: 0, retries: 0 };
}

export interface SinkStats extends SinkCounters {
  queued: number;
  open: boolean;
  /** What the sink itself reports (Sink.stats()), its names its own. */
  sink: Record<string, unknown>;
  /** The sink's own names, also at the top for dashboards made before `sink`, where they collide with none of the pipeline's. */
  [extra: string]: unknown;
}

/** event.dataset: lower-case dotted words, as ECS data_stream.dataset allows them (no `-`). */
const DATASET = /^[a-z0-9_]{1,100}(\.[a-z0-9_]{1,100}){0,9}$/;

/** An emit() the pipeline refuses, before the event takes a sequence number: counted by the collector's runner. */
export class InvalidEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidEventError';
  }
}

/**
 * Fields given as JSON text must be an object's members. Checked by parsing, which only plugins
 * choosing that form pay for; bytes (EncodedFields.fromBytes, made by a JsonBytes writer) are taken
 * as they are.
 */
function checkJsonText(fields: EncodedFields): void {
  if (fields.utf8 !== null) return;
  JSON.parse(fields.json);
}


/** How long close() may take past the shutdown deadline: the fixed grace of a stop. */
const CLOSE_GRACE_MS = 1000;

/** An error that repeats is logged at most this often. */
const REPEATED_ERROR_LOG_MS = 60_000;

export class SinkRunner {
  readonly accepts: (dataset: string) => boolean;
  private queue: StampedEvent[] = [];
  private head = 0;
  private opened = false;
  private closing = false;
  private wake: (() => void) | null = null;
  private worker: Promise<void> | null = null;
  /** Aborted at the shutdown deadline: stop retrying, stop waiting. */
  private readonly deadline = new AbortController();
  /** When a full queue last logged its drops, and the events dropped since. */
  private lastFullLog: { at: number; since: number } | null = null;
  /** The last dropped-batch error logged, and batches dropped for it since (a closed stdout fails every batch). */
  private lastDropLog: { message: string; at: number; since: number } | null = null;
  private roomWaiters: (() => void)[] = [];
  /** Events handed to write() and not yet settled. */
  private inflight = 0;
  /** Set once stop() has counted whatever was left as dropped. */
  private abandoned = false;

  constructor(
    readonly plan: SinkPlan,
    private readonly sink: Sink,
    private readonly logger: Logger,
    /** Where this instance counts: its predecessor's counters after a reload (InstanceCounters). */
    readonly counters: SinkCounters = newSinkCounters(),
  ) {
    this.accepts = globMatcher(plan.datasets);
  }

  get id(): string {
    return this.plan.id;
  }

  get depth(): number {
    return this.queue.length - this.head;
  }

  get full(): boolean {
    return this.depth >= this.plan.queue.max_events;
  }

  /** Queues one event, holding its line until this sink settles it; applies the when_full policy. */
  enqueue(event: StampedEvent): void {
    if (this.full) {
      this.counters.dropped++;
      this.logQueueFull();
      if (this.plan.queue.when_full === 'drop_newest') return;
      this.queue[this.head++]!.release();
      this.compact();
    }
    event.hold();
    this.queue.push(event);
    if (this.depth > this.counters.max_queued) this.counters.max_queued = this.depth;
    if (this.wake) this.wakeWorker();
  }

  /** Resolves when the queue has room again. */
  room(): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  start(): void {
    this.worker ??= this.run();
  }

  /**
   * Writes what is queued (no lingering) until empty or `deadlineMs` passes, then closes the
   * sink. Events still queued at the deadline are counted as dropped.
   */
  async stop(deadlineMs: number): Promise<void> {
    this.closing = true;
    this.start();
    this.wakeWorker();
    const timer = after(deadlineMs - Date.now(), () => this.deadline.abort());
    const deadlinePassed = new Promise<void>((resolve) => this.deadline.signal.addEventListener('abort', () => resolve(), { once: true }));
    try {
      // A write() that never settles must not hold the agent past its deadline.
      await Promise.race([this.worker, deadlinePassed]);
    } finally {
      timer.cancel();
    }
    const left = this.depth + this.inflight;
    this.abandoned = true;
    if (left > 0) {
      this.counters.dropped += left;
      this.logger.error({ sink: this.id, events: left }, 'shutdown deadline reached: queued events dropped');
      this.queue = [];
      this.head = 0;
    }
    const late = new AbortController();
    try {
      const closed = await Promise.race([
        Promise.resolve().then(() => this.sink.close?.(deadlineMs)).then(() => true),
        sleep(Math.max(0, deadlineMs - Date.now()) + CLOSE_GRACE_MS, late.signal).then(() => false),
      ]);
      // What the sink still holds (its spool, a buffer) is in its own stats.
      if (!closed) this.logger.error({ sink: this.id, unflushed: this.sinkStats() }, 'sink close() did not return by the shutdown deadline; abandoned');
    } catch (err) {
      this.logger.error({ sink: this.id, err }, 'sink close failed');
    } finally {
      late.abort();
    }
    this.releaseWaiters();
  }

  stats(): SinkStats {
    const own = this.sinkStats();
    // The pipeline's names are its own: a sink's own `dropped` or `last_error` is only under `sink`.
    const top = Object.fromEntries(Object.entries(own).filter(([name]) => !PIPELINE_STATS.has(name)));
    return { ...top, ...this.counters, queued: this.depth, open: this.opened, sink: own };
  }

  /** Logs a full queue's drops: the first at once, then at most once a minute with the count since. */
  private logQueueFull(): void {
    const now = Date.now();
    if (this.lastFullLog && now - this.lastFullLog.at < REPEATED_ERROR_LOG_MS) {
      this.lastFullLog.since++;
      return;
    }
    const since = this.lastFullLog ? this.lastFullLog.since + 1 : 1;
    this.logger.warn(
      { sink: this.id, when_full: this.plan.queue.when_full, max_events: this.plan.queue.max_events, dropped: since, dropped_total: this.counters.dropped },
      'sink queue full: events dropped (the sink is slower than the collectors, or failing)',
    );
    this.lastFullLog = { at: now, since: 0 };
  }

  /** The sink's own stats; a stats() that throws is no reason to lose agent.stats. */
  private sinkStats(): Record<string, unknown> {
    try {
      return this.sink.stats?.() ?? {};
    } catch (err) {
      return { stats_error: errorMessage(err) };
    }
  }

  /** Logs a dropped batch; the same error again at most once a minute, with the events dropped meanwhile. */
  private logDroppedBatch(message: string, events: number): void {
    const now = Date.now();
    const last = this.lastDropLog;
    if (last && last.message === message && now - last.at < REPEATED_ERROR_LOG_MS) {
      last.since += events;
      return;
    }
    const also = last && last.message === message && last.since > 0 ? { also_dropped_since_last_log: last.since } : {};
    this.logger.error({ sink: this.id, events, err: message, ...also }, 'write failed, batch dropped');
    this.lastDropLog = { message, at: now, since: 0 };
  }

  private wakeWorker(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private releaseWaiters(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const w of waiters) w();
  }

  private async waitForEvents(): Promise<void> {
    if (this.depth > 0 || this.closing) return;
    await new Promise<void>((resolve) => (this.wake = resolve));
  }

  /** Lets a partial batch fill up for at most max_wait, unless shutting down. */
  private async linger(): Promise<void> {
    const until = Date.now() + this.plan.batch.maxWaitMs;
    while (!this.closing && this.depth < this.plan.batch.maxEvents) {
      const left = until - Date.now();
      if (left <= 0) return;
      await new Promise<void>((resolve) => {
        const timer = after(left, () => {
          this.wake = null;
          resolve();
        });
        this.wake = () => {
          timer.cancel();
          resolve();
        };
      });
    }
  }

  private takeBatch(): StampedEvent[] {
    const end = Math.min(this.queue.length, this.head + this.plan.batch.maxEvents);
    const batch = this.queue.slice(this.head, end);
    this.head = end;
    this.compact();
    if (!this.full) this.releaseWaiters();
    return batch;
  }

  /**
   * Drops the consumed front of the queue array once it is the larger part, so that written
   * events are not kept reachable (amortized O(1): each event is copied at most once).
   */
  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private async run(): Promise<void> {
    let backoff = this.plan.retry.initialMs;
    const retryAfterFailure = async (what: string, err: unknown) => {
      this.counters.retries++;
      this.counters.last_error = errorMessage(err);
      this.logger.warn({ sink: this.id, err: this.counters.last_error, retry_in_ms: backoff }, `${what} failed; will retry`);
      await sleep(backoff * (0.5 + Math.random() / 2), this.deadline.signal);
      backoff = Math.min(backoff * 2, this.plan.retry.maxMs);
    };
    while (!this.deadline.signal.aborted) {
      if (!this.opened) {
        try {
          await this.sink.open?.();
          this.opened = true;
          delete this.counters.last_error;
          backoff = this.plan.retry.initialMs;
        } catch (err) {
          if (this.closing && this.depth === 0) return;
          await retryAfterFailure('open', err);
          continue;
        }
      }
      await this.waitForEvents();
      if (this.depth === 0) {
        if (this.closing) return;
        continue;
      }
      await this.linger();
      const batch = this.takeBatch();
      this.inflight = batch.length;
      let settled = false;
      while (!settled && !this.deadline.signal.aborted) {
        try {
          await this.sink.write(batch);
          this.counters.written += batch.length;
          delete this.counters.last_error;
          backoff = this.plan.retry.initialMs;
          settled = true;
        } catch (err) {
          if (err instanceof SinkError && !err.retriable) {
            this.counters.failed += batch.length;
            this.counters.last_error = err.message;
            this.logDroppedBatch(err.message, batch.length);
            settled = true;
          } else await retryAfterFailure('write', err);
        }
      }
      if (!settled && !this.abandoned) {
        this.counters.dropped += batch.length;
        this.logger.error({ sink: this.id, events: batch.length }, 'shutdown deadline reached during retries: batch dropped');
      }
      // No write() has the batch now. (Events stop() gave up on while a write() hung are never
      // released: their blocks are left to the garbage collector.)
      for (const event of batch) event.release();
      this.inflight = 0;
    }
  }
}

/** Stamps each emitted event once and hands it to every sink whose datasets match. */
export class Pipeline {
  private readonly routes = new Map<string, SinkRunner[]>();

  private readonly warnedReserved = new Set<string>();

  constructor(
    private readonly stamper: EventStamper,
    readonly sinks: readonly SinkRunner[],
    private readonly now: () => number,
    private readonly logger: Logger,
  ) {}

  /**
   * Returns false when some sink that takes this dataset is full (see CollectContext.emit). Throws
   * InvalidEventError, before the event takes a sequence number, for what would be no valid event.
   */
  emit(dataset: string, kind: EventKind, fields: EventFields | EncodedFields, detail?: EventDetail): boolean {
    if (kind !== 'state' && kind !== 'metric' && kind !== 'event') {
      throw new InvalidEventError(`event.kind ${JSON.stringify(String(kind)).slice(0, 60)} is none of "state", "metric", "event"`);
    }
    if (detail !== undefined) checkDetail(kind, detail);
    const targets = this.routeOf(dataset);
    if (targets.length === 0) return true;
    let event: StampedEvent;
    try {
      if (fields instanceof EncodedFields) checkJsonText(fields);
      else fields = this.withoutEnvelopeKeys(dataset, fields);
      event = this.stamper.stamp(dataset, kind, fields, this.now(), detail);
    } catch (err) {
      throw new InvalidEventError(`fields of ${dataset}: ${messageOf(err)}`);
    }
    let room = true;
    for (const sink of targets) {
      sink.enqueue(event);
      if (sink.full) room = false;
    }
    return room;
  }

  async drained(): Promise<void> {
    for (const sink of this.sinks) await sink.room();
  }

  start(): void {
    for (const sink of this.sinks) sink.start();
  }

  /** Flushes every sink in parallel until `deadlineMs`, then closes them. */
  async stop(deadlineMs: number): Promise<void> {
    await Promise.all(this.sinks.map((s) => s.stop(deadlineMs)));
  }

  /**
   * Fields may not set the envelope's keys (the line would carry them twice). They are left out,
   * with one warning per dataset, so a plugin's mistake cannot forge event.sequence or host.name.
   */
  private withoutEnvelopeKeys(dataset: string, fields: EventFields): EventFields {
    if (typeof fields !== 'object' || fields === null) throw new TypeError(`fields must be an object, not ${fields === null ? 'null' : typeof fields}`);
    // What toJSON() gives is what the line holds: field() must read that, not the object.
    if (typeof (fields as { toJSON?: unknown }).toJSON === 'function') fields = JSON.parse(`{${objectMembers(fields)}}`) as EventFields;
    if (!ENVELOPE_KEYS.some((k) => k in fields)) return fields;
    const kept = { ...fields };
    for (const k of ENVELOPE_KEYS) delete kept[k];
    if (!this.warnedReserved.has(dataset)) {
      this.warnedReserved.add(dataset);
      this.logger.warn({ dataset, keys: ENVELOPE_KEYS.filter((k) => k in fields) }, 'event fields use envelope keys; they are left out');
    }
    return kept;
  }

  private routeOf(dataset: string): SinkRunner[] {
    let targets = this.routes.get(dataset);
    if (!targets) {
      if (typeof dataset !== 'string' || !DATASET.test(dataset)) {
        throw new InvalidEventError(`event.dataset ${JSON.stringify(String(dataset)).slice(0, 120)} is not lower-case dotted words (e.g. "tcp.socket")`);
      }
      targets = this.sinks.filter((s) => s.accepts(dataset));
      this.routes.set(dataset, targets);
    }
    return targets;
  }
}

const DETAIL_TYPES: ReadonlySet<string> = new Set(['start', 'end', 'info']);

/** A detail only with kind `event`, of a known type, its duration a whole number of nanoseconds. */
function checkDetail(kind: EventKind, detail: EventDetail): void {
  if (kind !== 'event') throw new InvalidEventError(`an event.type/duration detail needs event.kind "event", not ${JSON.stringify(kind)}`);
  if (!DETAIL_TYPES.has(detail.type)) throw new InvalidEventError(`event.type ${JSON.stringify(String(detail.type)).slice(0, 60)} is none of start, end, info`);
  const d = detail.durationNs;
  if (d !== undefined && !(Number.isSafeInteger(d) && d >= 0)) throw new InvalidEventError(`event.duration ${String(d)} is no whole number of nanoseconds`);
}

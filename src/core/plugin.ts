/**
 * The plugin API: what a collector or a sink is, and how it describes itself to the registry.
 * Built-in plugins (plugins/) and third-party plugins (config `plugins:`) use exactly this API.
 */
import type { Static, TObject } from '@sinclair/typebox';
import type { AgentSettings } from './config/schema.js';

/**
 * `state`: one row of a snapshot (a socket, a route). `metric`: counters or gauges. `event`: a
 * change that happened (a connection opened or closed), with its EventDetail.
 */
export type EventKind = 'state' | 'metric' | 'event';

/** ECS `event.*` values that vary per event rather than per dataset (see CollectContext.emit). */
export interface EventDetail {
  /** Appended to the dataset's `event.type` (src/core/ecs.ts): `start`, `end`, `info`. */
  readonly type: 'start' | 'end' | 'info';
  /** `event.duration` in nanoseconds (ECS), when known. */
  readonly durationNs?: number;
}

/**
 * What a collector emits: ECS-style nested fields, without the envelope. The top-level keys
 * `@timestamp`, `event`, `host`, `agent` and `labels` belong to the envelope and must not be used.
 */
export type EventFields = Record<string, unknown>;

/**
 * Fields given as JSON text rather than as objects. A collector that emits 100k events a cycle
 * builds this text directly and skips allocating objects; the pipeline parses it only if a sink
 * asks for a field (SinkEvent.field).
 */
export class EncodedFields {
  private constructor(
    private readonly text: string | null,
    /** The members as UTF-8 when given as bytes (fromBytes). */
    readonly utf8: Uint8Array | null,
  ) {}

  /** From what `JSON.stringify(fields)` would give: an object's JSON text. */
  static fromJson(json: string): EncodedFields {
    return new EncodedFields(json.slice(1, -1), null);
  }

  /** From the members alone: `"a":1,"b":{"c":2}` (empty for no fields), without the braces. */
  static fromMembers(members: string): EncodedFields {
    return new EncodedFields(members, null);
  }

  /**
   * From the members as UTF-8 bytes (JsonBytes.fields() makes them), the cheapest form: they
   * are copied during emit(), so the collector may overwrite them once emit() returned.
   */
  static fromBytes(members: Uint8Array): EncodedFields {
    return new EncodedFields(null, members);
  }

  /** The object's members without the braces. */
  get members(): string {
    return this.text ?? Buffer.from(this.utf8!.buffer, this.utf8!.byteOffset, this.utf8!.length).toString('utf8');
  }

  get json(): string {
    return `{${this.members}}`;
  }
}

export interface CollectContext {
  /**
   * Hands one event to the pipeline, which stamps the envelope and routes it to the sinks.
   * The fields object must not be mutated afterwards. Returns false when a sink queue is full:
   * a collector that emits many events should then `await drained()` before emitting more
   * (as with a Node stream's write()), otherwise the sink's `when_full` policy applies.
   * `detail` (kind `event`): the event's own `event.type` and `event.duration`, which the
   * envelope writes (fields may not hold `event`).
   */
  emit(dataset: string, kind: EventKind, fields: EventFields | EncodedFields, detail?: EventDetail): boolean;
  /** Resolves when every sink queue has room again. */
  drained(): Promise<void>;
  /**
   * Records that `count` input lines or records from `source` were malformed and skipped.
   * Counted in agent.stats; logged as one warning per source at most every few minutes.
   */
  malformed(source: string, count: number, example: string): void;
  /**
   * Aborted when the run exceeds its timeout or the agent is stopping; the run is then abandoned
   * and its later emits are dropped. Check it between files, and return.
   */
  readonly signal: AbortSignal;
  /** When this run started (ms since the epoch, from the agent's clock): the base of per-second rates. */
  readonly startedAt: number;
}

export interface Collector {
  /**
   * Called at agent start and then on every tick of the instance's schedule. Never called again
   * while a previous call is unsettled (the scheduler skips and counts that tick instead), unless
   * that call outlived its timeout: it is then abandoned (ctx.signal aborted, its later emits
   * dropped) and the next tick calls collect() again.
   * May assume its options were validated and defaulted. Resolve once every event of this run is
   * emitted; a rejection fails only this run (logged with the instance id and counted).
   */
  collect(ctx: CollectContext): Promise<void>;
  /**
   * Called once, when the agent stops or reloads, after the last collect() has settled or was
   * abandoned, within the shutdown deadline (abandoned past it).
   * Release file descriptors, caches and child processes here.
   */
  close?(): Promise<void>;
  /**
   * Called when agent.stats is built: collector-specific counters (e.g. the tcp collector's
   * `tables_skipped`), shown beside the runner's own under `netagent.collectors.<id>`.
   */
  stats?(): Record<string, unknown>;
}

/** One event as the pipeline hands it to sinks. */
export interface SinkEvent {
  readonly dataset: string;
  /** `event.sequence`: 1, 2, 3… per agent process. */
  readonly sequence: number;
  /** The whole event as a JSON object on one line, without the trailing newline. */
  readonly line: string;
  /**
   * The same line as UTF-8 bytes, what a sink writing bytes should take (`line` decodes them). A
   * view into a block of many events' lines, which is written over once every sink has settled
   * its events: a sink that keeps lines beyond write() copies them (`Buffer.from(event.bytes)`)
   * or keeps `line`.
   */
  readonly bytes: Buffer;
  /** Any field of the whole event by dotted path (`host.name`, `event.dataset`, `source.port`). */
  field(path: string): unknown;
}

export interface Sink {
  /**
   * Called once, before the first write. May connect; a rejection is logged and retried with
   * backoff before the next write attempt, so a sink whose target is down at start is a state,
   * not a crash.
   */
  open?(): Promise<void>;
  /**
   * Called with one batch at a time, in order, never concurrently, only after open() resolved.
   * The events are valid until the returned promise settles (their lines are then written over):
   * take what you keep beyond it (`line`, a copy of `bytes`, `field()` values) before.
   * Resolve once the batch is durable at the target (written, spooled to disk or acknowledged):
   * the pipeline then forgets it. Reject with a SinkError: retriable ones are retried with
   * backoff (the same batch, so a sink sees at-least-once delivery); others drop the batch,
   * counted as failed.
   */
  write(batch: readonly SinkEvent[]): Promise<void>;
  /**
   * Called once, when the agent stops or reloads, after the last write() has settled and the
   * queue was drained as far as the shutdown deadline allowed. Flush and release resources.
   * `deadline` is that shutdown deadline (ms since the epoch): a sink that goes on delivering while
   * it closes (from a spool) stops there, and must have returned within a fixed grace after it
   * (1 s): then it is abandoned, with whatever it still holds.
   */
  close?(deadline: number): Promise<void>;
  /** Called when agent.stats is built: sink-specific gauges (connected, spool bytes, last error). */
  stats?(): Record<string, unknown>;
}

interface ManifestBase<O extends TObject> {
  /** The YAML `type`; also the plugin's folder name. Lower-case letters, digits, `-` and `_`. */
  readonly type: string;
  /** One line, shown by `netagent plugins`. */
  readonly description: string;
  /**
   * TypeBox schema of `options`. Its defaults and descriptions drive validation, `describe`
   * and the docs; unknown keys are rejected, so declare every option.
   */
  readonly options: O;
  /** Absolute path of the plugin's sample.yaml, shown by `netagent describe`. */
  readonly sample?: string;
  /**
   * Option paths whose values are secret (e.g. `sasl.password`): never echoed in a config problem
   * (nor a value that contains them, nor one inside them).
   */
  readonly secrets?: readonly string[];
  /**
   * Checks of the options beyond their schema that `run` would otherwise find only when it starts
   * the instance (a file that is a directory, an environment variable that is not set, two options
   * that exclude each other). Called by `validate` and at every start and reload, after the
   * options passed their schema; each `ctx.problem()` becomes a positioned config error (exit 78).
   * Look, never create or connect: the instance is not started.
   */
  check?(ctx: OptionsCheck<Static<O>>): void | Promise<void>;
}

/** What a manifest's check() is given. */
export interface OptionsCheck<T = Record<string, unknown>> {
  /** The instance's options, validated against the schema, with defaults applied. */
  readonly options: T;
  readonly instance: PluginInstance;
  /** The config's validated `agent:` section. */
  readonly agent: AgentSettings;
  /** The environment the config is read with (what `run` would see). */
  readonly env: NodeJS.ProcessEnv;
  /** Reports a problem at an option (a dotted path such as `sasl.password_env`; `''` for all the options). */
  problem(path: string, message: string): void;
  /**
   * Claims what only one instance may use, named by a kind and a resolved path
   * (`file:/var/log/netagent/events.ndjson`): a second claim of it, by any instance, is a problem at
   * that instance's option `path`.
   */
  claim(resource: string, path: string): void;
}

/** A class the DI container can construct (its parameters carry @inject tokens). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Constructor<T> = new (...args: any[]) => T;

export interface CollectorManifest<O extends TObject = TObject> extends ManifestBase<O> {
  readonly kind: 'collector';
  /** The datasets the collector emits, for `describe` and the docs. */
  readonly datasets: readonly string[];
  /**
   * Loads the implementation; called only when an instance is configured, so unused plugins
   * cost nothing at start-up. The class is resolved in a child container per instance, and each
   * constructor parameter names its token with `@inject(TOKENS.…)`.
   */
  load(): Promise<Constructor<Collector>>;
}

export interface SinkManifest<O extends TObject = TObject> extends ManifestBase<O> {
  readonly kind: 'sink';
  /** As CollectorManifest.load. */
  load(): Promise<Constructor<Sink>>;
}

export type PluginManifest = CollectorManifest | SinkManifest;

/** Identity functions that give a manifest literal its type checking. */
export function defineCollector<O extends TObject>(m: CollectorManifest<O>): CollectorManifest<O> {
  return m;
}
export function defineSink<O extends TObject>(m: SinkManifest<O>): SinkManifest<O> {
  return m;
}

/** `{ id, type }` of the configured instance, injectable as TOKENS.PluginInstance. */
export interface PluginInstance {
  readonly id: string;
  readonly type: string;
}

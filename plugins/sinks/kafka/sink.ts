/**
 * The kafka sink. write() puts a batch into the disk spool and resolves once it is on disk; a background
 * loop sends the spool to Kafka in order and advances the spool's commit position only after the broker
 * acknowledged. So delivery is at-least-once across broker outages, agent restarts and SIGKILL.
 *
 * kafkajs gaps covered here: it does not reconnect when brokers are down at start and it gives a batch up
 * after its own few retries; this loop owns reconnects and re-sends (exponential backoff with jitter) and
 * keeps kafkajs's own retries short. Batches are encoded by producer.ts, not by kafkajs (speed; and an
 * idempotent re-send is then byte for byte the batch sent before).
 */
import * as net from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Value } from '@sinclair/typebox/value';
import type { Admin, Kafka, SASLOptions, logCreator } from 'kafkajs';
import type { Logger } from 'pino';
import { inject, injectable } from 'tsyringe';
import { deadLetterFileFrom, type DeadLetter, type DeadLetterFile, type DeadLetterReason } from '../../../src/core/dead-letter.js';
import { SinkError } from '../../../src/core/errors.js';
import { backoff, backoffFrom, sleep, type Backoff } from '../../../src/core/retry.js';
import { readSecret } from '../../../src/core/secrets.js';
import { readTlsOptions } from '../../../src/core/tls.js';
import { importModule } from '../../../src/core/import-module.js';
import type { AgentSettings } from '../../../src/core/config/schema.js';
import type { PluginInstance, Sink, SinkEvent } from '../../../src/core/plugin.js';
import { TOKENS } from '../../../src/core/tokens.js';
import { loadCompressor, type CompressionName } from './codecs.js';
import { kafkaOptions, type KafkaSinkOptions } from './index.js';
import { BatchProducer } from './producer.js';
import { spoolDir } from '../../../src/core/spool/options.js';
import { spoolFrom, SpoolFullError, type Spool, type SpoolEntry, type SpoolRecord } from '../../../src/core/spool/spool.js';
import { compileTemplate, type Template } from '../../../src/core/template.js';
import { sanitizeTopic } from './topic.js';
import { parseDuration as coreDuration, parseSize as coreSize } from '../../../src/core/units.js';

type KafkaJs = typeof import('kafkajs');

interface Settings {
  maxEvents: number;
  maxBytes: number;
  lingerMs: number;
  connectMs: number;
  requestMs: number;
  ackMs: number;
  backoff: Backoff;
  closeMs: number;
  acks: -1 | 0 | 1;
}

/** Repeated identical errors are logged at most this often. */
const ERROR_LOG_INTERVAL_MS = 60_000;
/** How long close() waits, each, for the delivery loop and the connections to let go. */
const RELEASE_MS = 300;

@injectable()
export class KafkaSink implements Sink {
  private readonly opts: KafkaSinkOptions;
  private readonly log: Logger;
  private readonly s: Settings;
  private readonly topicT: Template;
  private readonly keyT: Template | null;
  private readonly headerTs: [string, Template][];
  private spool!: Spool;
  private kjs!: KafkaJs;
  private kafka: Kafka | null = null;
  /** One for the sink's life, so its idempotence state outlives reconnects. */
  private producer: BatchProducer | null = null;
  private admin: Admin | null = null;
  private readonly knownTopics = new Set<string>();
  /** Topics Kafka will not create, and why: their records are dead-lettered. */
  private readonly refusedTopics = new Map<string, DeadLetterReason>();
  private deadLetters!: DeadLetterFile;
  private rejected = 0;
  private loop: Promise<void> | null = null;
  private readonly stop = new AbortController();
  private connected = false;
  private delivered = 0;
  private dropped = 0;
  private duplicates = 0;
  private lastError: string | null = null;
  private lastErrorAt: string | null = null;
  private lastLogged: { msg: string; at: number } | null = null;
  private failures = 0;
  private readonly maxInFlight: number;
  /** Lowered after a "message too large" refusal. */
  private batchLimit = Number.MAX_SAFE_INTEGER;
  private closing = false;
  /** Aborts the current backoff sleep (close() wants a last attempt now). */
  private nap: AbortController | null = null;
  /** For benchmarks and tests: called after each acknowledged batch with the running delivered total. */
  onDelivered: ((delivered: number) => void) | null = null;

  constructor(
    @inject(TOKENS.PluginOptions) options: KafkaSinkOptions,
    @inject(TOKENS.Logger) logger: Logger,
    @inject(TOKENS.PluginInstance) private readonly instance: PluginInstance,
    /** For the default spool path under `agent.state_dir`; absent when constructed outside an agent. */
    @inject(TOKENS.AgentSettings) private readonly agent?: AgentSettings,
  ) {
    // Defaults again: harmless when the registry already applied them, needed when constructed directly.
    this.opts = Value.Default(kafkaOptions, structuredClone(options ?? {})) as KafkaSinkOptions;
    this.log = logger;
    const o = this.opts;
    this.s = {
      maxEvents: o.batch.max_events,
      maxBytes: parseSize(o.batch.max_bytes),
      lingerMs: parseDuration(o.batch.linger),
      connectMs: parseDuration(o.timeouts.connect),
      requestMs: parseDuration(o.timeouts.request),
      ackMs: parseDuration(o.timeouts.ack),
      backoff: backoffFrom(o.retry),
      closeMs: parseDuration(o.close_timeout),
      acks: o.acks === 'all' ? -1 : o.acks,
    };
    this.maxInFlight = o.idempotent ? 1 : o.max_in_flight;
    this.topicT = compileTemplate(o.topic);
    this.keyT = o.key === '' ? null : compileTemplate(o.key);
    this.headerTs = Object.entries(o.headers).map(([k, v]) => [k, compileTemplate(v)]);
    if (o.idempotent && this.s.acks !== -1) {
      throw new SinkError('kafka: idempotent: true needs acks: all', false);
    }
  }

  async open(): Promise<void> {
    const o = this.opts;
    // Everything that can fail for a config reason comes first, before the spool holds files: the
    // pipeline retries a failed open(), and each retry would otherwise leave a spool open behind.
    // kafkajs is CommonJS: under plain Node ESM some exports exist only on `default`.
    const mod = await importModule<KafkaJs & { default?: KafkaJs }>('kafkajs');
    this.kjs = mod.default ?? mod;
    const compressor = await loadCompressor(o.compression as CompressionName);
    const sasl = this.saslConfig(); // fails early on a missing password source
    const ssl = this.sslConfig();
    const dir = (this.dir = spoolDir(o.spool, this.instance, this.agent));
    this.deadLetters = deadLetterFileFrom(o.dead_letter, this.instance, this.agent);
    this.spool = spoolFrom(o.spool, dir);
    try {
      await this.spool.open();
    } catch (e) {
      throw new SinkError(`kafka: cannot open spool ${dir}: ${errText(e)}`, true, { cause: e });
    }
    // Sent before the last stop but not known to be acknowledged: they go again.
    this.duplicates += this.spool.uncertainCount;
    if (this.spool.depth > 0) {
      this.log.info({ spooled: this.spool.depth, bytes: this.spool.bytes, dir }, 'kafka: resuming delivery of spooled events');
    }
    if (this.spool.corrupt > 0) this.log.warn({ dir, segments: this.spool.corrupt }, 'kafka: damaged spool records skipped');
    this.kafka = new this.kjs.Kafka({
      clientId: o.client_id,
      brokers: o.brokers,
      ssl,
      sasl,
      connectionTimeout: this.s.connectMs,
      authenticationTimeout: this.s.connectMs,
      requestTimeout: this.s.requestMs,
      enforceRequestTimeout: true,
      // Short: our own loop retries forever with backoff; kafkajs would otherwise hold a batch ~30 s.
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1_000 },
      logLevel: this.kjs.logLevel.WARN,
      logCreator: this.logCreator(),
    });
    this.producer = new BatchProducer(this.kafka, { acks: this.s.acks, ackTimeoutMs: this.s.ackMs, compressor, idempotent: o.idempotent });
    this.loop = this.run();
  }

  async write(batch: readonly SinkEvent[]): Promise<void> {
    const records: SpoolRecord[] = new Array(batch.length);
    // Events of a batch mostly share their topic: sanitized once per run of equal names.
    let rawTopic: string | null = null;
    let topic = '';
    for (let i = 0; i < batch.length; i++) {
      const e = batch[i]!;
      let headers: Record<string, string> | null = null;
      if (this.headerTs.length > 0) {
        headers = {};
        for (const [k, t] of this.headerTs) headers[k] = t(e);
      }
      const raw = this.topicT(e);
      if (raw !== rawTopic) topic = sanitizeTopic((rawTopic = raw));
      records[i] = { destination: topic, key: this.keyT ? this.keyT(e) : null, headers, value: Buffer.from(e.bytes) };
    }
    try {
      const r = await this.spool.append(records);
      if (r.dropped > 0) {
        this.dropped += r.dropped;
        this.logOnce(`kafka: spool full (${this.opts.spool.when_full}): events dropped`, 'warn');
      }
    } catch (e) {
      if (e instanceof SpoolFullError) throw new SinkError(`kafka: ${e.message}`, true, { cause: e });
      throw new SinkError(`kafka: spool write failed: ${errText(e)}`, true, { cause: e });
    }
  }

  async close(deadline = Infinity): Promise<void> {
    if (!this.spool) return;
    const until = Math.min(Date.now() + this.s.closeMs, deadline);
    // Closing: retry at once and briskly (the broker may just have come back), until then.
    this.closing = true;
    this.nap?.abort();
    while (this.loop && this.spool.depth > 0 && Date.now() < until) {
      await sleep(20);
    }
    // Then let go within the pipeline's grace: a request still in flight is given back to the spool.
    this.stop.abort();
    if (this.loop) await Promise.race([this.loop, sleep(RELEASE_MS)]);
    await Promise.race([this.disconnect(), sleep(RELEASE_MS)]);
    const left = this.spool.depth;
    await this.spool.close();
    await this.deadLetters.close();
    if (left > 0) {
      this.log.warn({ spooled: left, dir: this.dir }, 'kafka: undelivered events left in the spool for the next start');
    }
  }

  stats(): Record<string, unknown> {
    return {
      connected: this.connected,
      queue_depth: this.spool?.depth ?? 0,
      spool_bytes: this.spool?.bytes ?? 0,
      delivered: this.delivered,
      dropped: this.dropped,
      duplicates: this.duplicates,
      rejected: this.rejected,
      dead_letter_file: this.deadLetters?.file ?? null,
      last_error: this.lastError,
      last_error_at: this.lastErrorAt,
    };
  }

  // --- the delivery loop ---

  private async run(): Promise<void> {
    const signal = this.stop.signal;
    /**
     * Produce requests in flight, oldest first; acknowledged in the spool strictly in this order.
     * `delivers`: how many of the batch's records count as delivered once it is acknowledged (not the
     * dead-lettered ones).
     */
    const inflight: { batch: SpoolEntry[]; delivers: number; done: Promise<void> }[] = [];
    /**
     * Records Kafka acknowledged in a batch behind one that failed: the spool takes them again (it
     * commits in order), and they are then skipped rather than sent twice.
     */
    const inKafka = new Set<string>();
    const at = (e: SpoolEntry) => `${e.seg}:${e.end}`;
    /**
     * Gives every in-flight batch back to the spool, to be taken again. An acknowledged one is
     * remembered in inKafka; each event of a failed one that may have been written (any failure but
     * "too large") will be in Kafka once more: counted.
     */
    const giveBack = async () => {
      const settled = await Promise.allSettled(inflight.map((f) => f.done));
      settled.forEach((r, i) => {
        if (r.status === 'fulfilled') for (const e of inflight[i]!.batch) inKafka.add(at(e));
        else if (!isTooLarge(r.reason)) this.duplicates += inflight[i]!.batch.length;
      });
      inflight.length = 0;
      this.spool.release(false);
    };
    while (!signal.aborted) {
      try {
        if (inflight.length === 0) {
          await this.spool.waitForData(signal);
          if (signal.aborted) break;
          if (this.s.lingerMs > 0 && this.spool.untaken < this.s.maxEvents && this.connected) await this.linger(signal);
          if (!(await this.ensureConnected())) continue;
        }
        // Keep up to max_in_flight requests going while full batches are waiting.
        while (
          inflight.length < this.maxInFlight &&
          this.spool.untaken > 0 &&
          (inflight.length === 0 || this.spool.untaken >= Math.min(this.s.maxEvents, this.batchLimit))
        ) {
          // An idempotent re-send must be the very same batch: the broker then recognizes it.
          const limit = Math.min(this.s.maxEvents, this.batchLimit, this.producer!.resendCount ?? Infinity);
          const batch = await this.spool.take(limit, this.s.maxBytes);
          if (batch.length === 0) break;
          let sendable: readonly SpoolEntry[];
          try {
            sendable = await this.settleRefusedTopics(batch);
          } catch (e) {
            this.spool.release(false); // this batch was not sent; the ones in flight go back too
            await giveBack();
            await this.failed('topic', e);
            break;
          }
          await this.spool.markSent(batch);
          const fresh = inKafka.size === 0 ? sendable : sendable.filter((e) => !inKafka.delete(at(e)));
          const done = fresh.length > 0 ? this.producer!.send(fresh) : Promise.resolve();
          done.catch(() => undefined);
          inflight.push({ batch, delivers: sendable.length, done });
        }
        const head = inflight[0];
        if (!head) continue;
        try {
          await head.done;
        } catch (e) {
          await giveBack();
          if (isTooLarge(e)) {
            await this.tooLarge(head.batch, e);
            continue;
          }
          await this.failed('send', e);
          continue;
        }
        inflight.shift();
        // Counted first: Kafka has them, and queue_depth drops inside ack().
        this.delivered += head.delivers;
        await this.spool.ack();
        if (this.failures > 0) {
          this.log.info({ delivered: this.delivered }, 'kafka: delivering again');
          this.failures = 0;
          this.lastLogged = null;
        }
        this.onDelivered?.(this.delivered);
      } catch (e) {
        // Spool I/O trouble: keep the loop alive.
        await giveBack();
        await this.failed('spool', e);
      }
    }
    await Promise.allSettled(inflight.map((f) => f.done));
  }

  /**
   * The broker refused a batch as larger than its message.max.bytes: halve the batch size from now on;
   * a single event that is too large on its own can never be delivered and is dropped (counted, logged).
   */
  private async tooLarge(batch: readonly SpoolEntry[], e: unknown): Promise<void> {
    if (batch.length > 1) {
      this.batchLimit = Math.max(1, Math.floor(batch.length / 2));
      this.log.warn({ events: batch.length, now: this.batchLimit }, 'kafka: batch larger than the broker accepts; sending smaller batches from now on (lower batch.max_bytes)');
      return;
    }
    await this.spool.take(1, Number.MAX_SAFE_INTEGER);
    await this.spool.ack();
    this.dropped += 1;
    this.lastError = `kafka: an event of ${batch[0]!.bytes} bytes is larger than the broker accepts (message.max.bytes); dropped: ${errText(e)}`;
    this.lastErrorAt = new Date().toISOString();
    this.log.error({ topic: batch[0]!.destination, bytes: batch[0]!.bytes }, this.lastError);
  }

  private async linger(signal: AbortSignal): Promise<void> {
    const until = Date.now() + this.s.lingerMs;
    while (!signal.aborted && this.spool.untaken < this.s.maxEvents && Date.now() < until) {
      await sleep(Math.min(5, until - Date.now()), signal);
    }
  }

  private async ensureConnected(): Promise<boolean> {
    if (this.connected) return true;
    await this.disconnect();
    const admin = this.kafka!.admin({ retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 1_000 } });
    try {
      await this.producer!.connect();
      await admin.connect();
    } catch (e) {
      await this.producer!.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
      await this.failed('connect', e);
      return false;
    }
    this.admin = admin;
    this.connected = true;
    this.log.info({ brokers: this.opts.brokers }, 'kafka: connected');
    return true;
  }

  private async disconnect(): Promise<void> {
    const a = this.admin;
    this.admin = null;
    this.connected = false;
    await Promise.all([this.producer?.disconnect().catch(() => {}), a?.disconnect().catch(() => {})]);
  }

  /**
   * Makes sure the batch's topics exist, and returns the records to send: those of a topic Kafka
   * refuses for good (an invalid name, one that collides with an existing topic as `a.b` and `a_b`
   * do) go to the dead-letter file instead, so one bad topic never holds up the others.
   */
  private async settleRefusedTopics(batch: readonly SpoolEntry[]): Promise<readonly SpoolEntry[]> {
    await this.ensureTopics(batch);
    if (this.refusedTopics.size === 0) return batch;
    const letters: DeadLetter[] = [];
    const sendable = batch.filter((e) => {
      const why = this.refusedTopics.get(e.destination);
      if (why) letters.push({ destination: e.destination, error: why, event: e.value });
      return !why;
    });
    if (letters.length > 0) {
      await this.deadLetters.write(letters);
      this.rejected += letters.length;
    }
    return sendable;
  }

  private async ensureTopics(batch: readonly SpoolEntry[]): Promise<void> {
    let wanted: string[] | null = null;
    for (const e of batch) {
      if (!this.knownTopics.has(e.destination) && !this.refusedTopics.has(e.destination) && !wanted?.includes(e.destination)) {
        (wanted ??= []).push(e.destination);
      }
    }
    if (!wanted) return;
    const admin = this.admin!;
    const existing = new Set(await admin.listTopics());
    const missing = wanted.filter((t) => !existing.has(t));
    if (missing.length > 0) {
      if (!this.opts.create_topics) {
        throw new Error(
          `topic ${missing.map((t) => JSON.stringify(t)).join(', ')} does not exist and create_topics is false; ` +
            'create it or enable create_topics (events stay spooled)',
        );
      }
      try {
        await admin.createTopics({ topics: missing.map((topic) => ({ topic })), waitForLeaders: true });
        this.log.info({ topics: missing }, 'kafka: created topics');
      } catch (e) {
        // kafkajs names each topic's failure and whether retrying can help.
        const failures = (e as { errors?: { topic?: string; type?: string; message?: string; retriable?: boolean }[] }).errors;
        if (!Array.isArray(failures) || failures.some((f) => f.retriable !== false || !f.topic)) throw e;
        for (const f of failures) {
          const why = { type: f.type ?? 'UNKNOWN', reason: `Kafka refused to create topic ${JSON.stringify(f.topic)}: ${f.message ?? ''}`, field: null };
          this.refusedTopics.set(f.topic!, why);
          this.log.error(
            { topic: f.topic, error_type: why.type, dead_letter_file: this.deadLetters.file },
            `kafka: ${why.reason}; its events go to the dead-letter file, the other topics flow (a name like a.b collides with a_b)`,
          );
        }
      }
    }
    for (const t of wanted) if (!this.refusedTopics.has(t)) this.knownTopics.add(t);
  }

  private async failed(stage: 'connect' | 'topic' | 'send' | 'spool', e: unknown): Promise<void> {
    this.failures++;
    const msg = this.describe(stage, e);
    this.lastError = msg;
    this.lastErrorAt = new Date().toISOString();
    const name = (e as { name?: string })?.name ?? '';
    if (/UNKNOWN_TOPIC|does not host this topic-partition/i.test(errText(e))) this.knownTopics.clear();
    if (stage !== 'topic' || name.startsWith('KafkaJS')) {
      // Connection-level trouble: start over with a fresh connection (kafkajs will not reconnect by itself).
      if (stage !== 'topic' || /connect|closed|timeout/i.test(errText(e))) await this.disconnect();
    }
    this.logOnce(msg, this.failures === 1 || /authentication|does not exist/i.test(msg) ? 'warn' : 'info');
    const delay = this.closing ? 100 : backoff(this.failures, this.s.backoff);
    await this.backoffSleep(delay, isConnectionError(e) && stage !== 'topic');
  }

  /**
   * Sleeps `ms` unless stopped or nudged. After a connection error it also probes the brokers' TCP ports
   * every 500 ms and wakes as soon as one accepts, so delivery resumes right after an outage ends
   * instead of at the end of a long backoff.
   */
  private async backoffSleep(ms: number, probe: boolean): Promise<void> {
    const nap = new AbortController();
    this.nap = nap;
    const onStop = () => nap.abort();
    this.stop.signal.addEventListener('abort', onStop, { once: true });
    try {
      const until = Date.now() + ms;
      while (!nap.signal.aborted && Date.now() < until) {
        await sleep(Math.min(probe ? 500 : ms, until - Date.now()), nap.signal);
        if (probe && !nap.signal.aborted && Date.now() < until && (await anyPortOpen(this.opts.brokers, 300))) break;
      }
    } finally {
      this.stop.signal.removeEventListener('abort', onStop);
      if (this.nap === nap) this.nap = null;
    }
  }

  private describe(stage: string, e: unknown): string {
    const text = errText(e);
    const brokers = this.opts.brokers.join(',');
    if ((e as { name?: string })?.name === 'KafkaJSSASLAuthenticationError' || /SASL|authentication/i.test(text)) {
      const s = this.opts.sasl;
      return `kafka: authentication failed at ${brokers}${s ? ` (${s.mechanism}, user ${s.username})` : ''}: ${text}`;
    }
    if (stage === 'connect') return `kafka: cannot connect to ${brokers}: ${text}; events are spooled and retried`;
    if (stage === 'topic') return `kafka: ${text}`;
    return `kafka: ${stage} failed: ${text}; will retry`;
  }

  private logOnce(msg: string, level: 'warn' | 'info'): void {
    const now = Date.now();
    if (this.lastLogged && this.lastLogged.msg === msg && now - this.lastLogged.at < ERROR_LOG_INTERVAL_MS) return;
    this.lastLogged = { msg, at: now };
    this.log[level]({ spooled: this.spool?.depth ?? 0, failures: this.failures }, msg);
  }

  private dir = '';

  private saslConfig(): SASLOptions | undefined {
    const s = this.opts.sasl;
    if (!s) return undefined;
    const password = readSecret('kafka: sasl', s, 'password');
    if (password === undefined) throw new SinkError('kafka: sasl needs one of password, password_env, password_file', false);
    return { mechanism: s.mechanism, username: s.username, password } as SASLOptions;
  }

  private sslConfig(): ConnectionOptions | undefined {
    return this.opts.ssl.enabled ? readTlsOptions('kafka: ssl', this.opts.ssl) : undefined;
  }

  /** kafkajs logs go to our pino logger, quieter (its connection errors are our loop's business). */
  private logCreator(): logCreator {
    const log = this.log.child({ component: 'kafkajs' });
    return () =>
      ({ namespace, level, log: entry }) => {
        const { message, timestamp: _t, logger: _l, ...extra } = entry as { message: string; [k: string]: unknown };
        const fields = { ns: namespace, ...extra };
        // kafkajs ERROR/WARN -> debug, INFO/DEBUG -> trace: the delivery loop reports what matters, once.
        if (level <= 2) log.debug(fields, message);
        else log.trace(fields, message);
      };
  }
}

function parseSize(v: string | number): number {
  const n = coreSize(v);
  if (n === undefined) throw new SinkError(`kafka: not a size: ${JSON.stringify(v)}`, false);
  return n;
}

function parseDuration(v: string | number): number {
  const n = coreDuration(v);
  if (n === undefined) throw new SinkError(`kafka: not a duration: ${JSON.stringify(v)}`, false);
  return n;
}

function isTooLarge(e: unknown): boolean {
  return /MESSAGE_TOO_LARGE|larger than the max message size|RECORD_LIST_TOO_LARGE/i.test(
    `${(e as { type?: string })?.type ?? ''} ${errText(e)}`,
  );
}

function isConnectionError(e: unknown): boolean {
  const name = (e as { name?: string })?.name ?? '';
  if (name === 'KafkaJSSASLAuthenticationError') return false;
  return /Connection|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|closed|timed? ?out|not available|leader/i.test(
    `${name} ${errText(e)}`,
  );
}

/** True when a TCP connection to any of the brokers succeeds within timeoutMs. */
function anyPortOpen(brokers: readonly string[], timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let pending = brokers.length;
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      if (ok || --pending === 0) {
        done = true;
        resolve(ok);
      }
    };
    for (const b of brokers) {
      const i = b.lastIndexOf(':');
      const host = b.slice(0, i).replace(/^\[|\]$/g, '');
      const sock = net.connect({ host, port: Number(b.slice(i + 1)), timeout: timeoutMs });
      sock.once('connect', () => {
        sock.destroy();
        finish(true);
      });
      sock.once('timeout', () => {
        sock.destroy();
        finish(false);
      });
      sock.once('error', () => finish(false));
    }
    if (pending === 0) resolve(false);
  });
}

function errText(e: unknown): string {
  const parts: string[] = [];
  let cur: unknown = e;
  for (let i = 0; cur && i < 4; i++) {
    const m = cur instanceof Error ? cur.message : String(cur);
    if (m && !parts.includes(m)) parts.push(m);
    cur = (cur as { cause?: unknown; originalError?: unknown }).cause ?? (cur as { originalError?: unknown }).originalError;
  }
  return parts.join(': ') || 'unknown error';
}

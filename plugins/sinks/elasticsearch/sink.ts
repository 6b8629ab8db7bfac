/**
 * The elasticsearch sink. write() puts a batch into the disk spool and resolves once it is on disk; a
 * background loop sends the spool to the node with _bulk, in order, and advances the spool's commit
 * position only once every document of a request is settled. So delivery is at-least-once across node
 * outages, agent restarts and SIGKILL, and with document ids (the default) a re-sent document is
 * stored once: the node answers 409 for it, counted as a duplicate.
 *
 * Each item of a bulk response is read: 429 and 5xx items are sent again alone, with backoff; items
 * refused for good (a mapping conflict) go to the dead-letter file, counted and logged once per
 * reason and field, while the rest keeps flowing.
 */
import type { Logger } from 'pino';
import { inject, injectable } from 'tsyringe';
import type { AgentSettings } from '../../../src/core/config/schema.js';
import { deadLetterFileFrom, type DeadLetter, type DeadLetterFile } from '../../../src/core/dead-letter.js';
import { SinkError } from '../../../src/core/errors.js';
import type { PluginInstance, Sink, SinkEvent } from '../../../src/core/plugin.js';
import { backoff, backoffFrom, sleep, type Backoff } from '../../../src/core/retry.js';
import { spoolDir } from '../../../src/core/spool/options.js';
import { spoolFrom, SpoolFullError, type Spool, type SpoolEntry, type SpoolRecord } from '../../../src/core/spool/spool.js';
import { compileTemplate, type Template } from '../../../src/core/template.js';
import { TOKENS } from '../../../src/core/tokens.js';
import { parseDuration, parseSize } from '../../../src/core/units.js';
import {
  BULK_PATH,
  bulkBody,
  bulkOutcomes,
  dataStreamDataset,
  dataStreamPrefix,
  dataStreamType,
  sanitizeIndex,
  type BulkItemError,
} from './bulk.js';
import { connectionSettings, EsClient } from './client.js';
import type { ElasticsearchSinkOptions } from './index.js';
import { setupElasticsearch } from './setup.js';

/** Repeated identical errors are logged at most this often. */
const ERROR_LOG_INTERVAL_MS = 60_000;
/** How long close() waits for the delivery loop to let go. */
const RELEASE_MS = 300;

interface Destination {
  readonly name: string;
  /** Put in place of the document's `{`: its `data_stream` object; null when writing to an index. */
  readonly prefix: Buffer | null;
}

@injectable()
export class ElasticsearchSink implements Sink {
  private readonly maxEvents: number;
  private readonly maxBytes: number;
  private readonly lingerMs: number;
  private readonly closeMs: number;
  private readonly backoff: Backoff;
  private readonly indexT: Template | null;
  private readonly idT: Template | null;
  /** Data stream per kind and dataset. */
  private readonly streams = new Map<string, Destination>();
  private client: EsClient | null = null;
  private spool!: Spool;
  private deadLetters!: DeadLetterFile;
  private loop: Promise<void> | null = null;
  private readonly stop = new AbortController();
  /** Aborts the current backoff sleep (close() wants a last attempt now). */
  private nap: AbortController | null = null;
  private closing = false;
  /** Lowered after the node refused a request as too large (HTTP 413). */
  private batchLimit = Number.MAX_SAFE_INTEGER;
  private failures = 0;
  private connected = false;
  private readonly counts = { delivered: 0, duplicates: 0, rejected: 0, retried_items: 0, dropped: 0 };
  private lastError: string | null = null;
  private lastErrorAt: string | null = null;
  private lastLogged: { msg: string; at: number } | null = null;
  /** Rejection reasons (type and field) already logged. */
  private readonly reasonsLogged = new Set<string>();
  private dir = '';
  private needsSetup: boolean;
  /** For benchmarks and tests: called after each settled request with the running delivered total. */
  onDelivered: ((delivered: number) => void) | null = null;

  constructor(
    @inject(TOKENS.PluginOptions) private readonly opts: ElasticsearchSinkOptions,
    @inject(TOKENS.Logger) private readonly log: Logger,
    @inject(TOKENS.PluginInstance) private readonly instance: PluginInstance,
    /** For the default spool and dead-letter paths under `agent.state_dir`; absent outside an agent. */
    @inject(TOKENS.AgentSettings) private readonly agent?: AgentSettings,
  ) {
    this.maxEvents = opts.batch.max_events;
    this.maxBytes = parseSize(opts.batch.max_bytes)!;
    this.lingerMs = parseDuration(opts.batch.linger)!;
    this.closeMs = parseDuration(opts.close_timeout)!;
    this.backoff = backoffFrom(opts.retry);
    this.indexT = opts.index === '' ? null : compileTemplate(opts.index);
    this.idT = opts.document_id === '' ? null : compileTemplate(opts.document_id);
    this.needsSetup = opts.setup;
  }

  async open(): Promise<void> {
    // Config mistakes first (non-retriable), before the spool holds files.
    const settings = connectionSettings(this.opts);
    this.dir = spoolDir(this.opts.spool, this.instance, this.agent);
    const spool = spoolFrom(this.opts.spool, this.dir);
    try {
      await spool.open();
    } catch (e) {
      throw new SinkError(`elasticsearch: cannot open spool ${this.dir}: ${(e as Error).message}`, true, { cause: e });
    }
    this.spool = spool;
    if (spool.depth > 0) this.log.info({ spooled: spool.depth, bytes: spool.bytes, dir: this.dir }, 'elasticsearch: resuming delivery of spooled events');
    if (spool.corrupt > 0) this.log.warn({ dir: this.dir, segments: spool.corrupt }, 'elasticsearch: damaged spool records skipped');
    this.deadLetters = deadLetterFileFrom(this.opts.dead_letter, this.instance, this.agent);
    this.client = new EsClient(settings);
    this.loop = this.run();
  }

  async write(batch: readonly SinkEvent[]): Promise<void> {
    const records: SpoolRecord[] = new Array(batch.length);
    for (let i = 0; i < batch.length; i++) {
      const e = batch[i]!;
      const d = this.destinationOf(e);
      // The spool keeps its own copy of the value: the event's bytes are reused once write() settles.
      const value = d.prefix ? Buffer.concat([d.prefix, e.bytes.subarray(1)]) : Buffer.from(e.bytes);
      records[i] = { destination: d.name, key: this.idT ? this.idT(e) : null, headers: null, value };
    }
    try {
      const r = await this.spool.append(records);
      if (r.dropped > 0) {
        this.counts.dropped += r.dropped;
        this.logOnce(`elasticsearch: spool full (${this.opts.spool.when_full}): events dropped`, 'warn');
      }
    } catch (e) {
      if (e instanceof SpoolFullError) throw new SinkError(`elasticsearch: ${e.message}`, true, { cause: e });
      throw new SinkError(`elasticsearch: spool write failed: ${(e as Error).message}`, true, { cause: e });
    }
  }

  async close(deadline = Infinity): Promise<void> {
    if (!this.client) return;
    const until = Math.min(Date.now() + this.closeMs, deadline);
    // Closing: retry at once and briskly (the node may just have come back), until then.
    this.closing = true;
    this.nap?.abort();
    while (this.loop && this.spool.depth > 0 && Date.now() < until) await sleep(20);
    // Then let go within the pipeline's grace: a request in flight is aborted, its batch stays spooled.
    this.stop.abort();
    if (this.loop) await Promise.race([this.loop, sleep(RELEASE_MS)]);
    const left = this.spool.depth;
    await this.spool.close();
    await this.deadLetters.close();
    this.client.close();
    this.client = null;
    if (left > 0) this.log.warn({ spooled: left, dir: this.dir }, 'elasticsearch: undelivered events left in the spool for the next start');
  }

  stats(): Record<string, unknown> {
    return {
      connected: this.connected,
      queue_depth: this.spool?.depth ?? 0,
      spool_bytes: this.spool?.bytes ?? 0,
      ...this.counts,
      dead_letter_file: this.deadLetters?.file ?? null,
      last_error: this.lastError,
      last_error_at: this.lastErrorAt,
    };
  }

  private destinationOf(e: SinkEvent): Destination {
    if (this.indexT) return { name: sanitizeIndex(this.indexT(e)), prefix: null };
    const kind = e.field('event.kind');
    const key = `${String(kind)}\u0000${e.dataset}`;
    let d = this.streams.get(key);
    if (!d) {
      const type = dataStreamType(kind);
      const dataset = dataStreamDataset(e.dataset);
      const namespace = this.opts.data_stream.namespace;
      d = { name: `${type}-${dataset}-${namespace}`, prefix: dataStreamPrefix(type, dataset, namespace) };
      this.streams.set(key, d);
    }
    return d;
  }

  // --- the delivery loop ---

  private async run(): Promise<void> {
    const signal = this.stop.signal;
    while (!signal.aborted) {
      try {
        await this.spool.waitForData(signal);
        if (signal.aborted) break;
        if (this.needsSetup && !(await this.setup())) continue;
        if (this.lingerMs > 0 && this.spool.untaken < this.maxEvents && !this.closing) await this.linger(signal);
        const batch = await this.spool.take(Math.min(this.maxEvents, this.batchLimit), this.maxBytes);
        if (batch.length === 0) continue;
        if (await this.deliver(batch)) {
          await this.spool.ack();
          this.onDelivered?.(this.counts.delivered);
        } else {
          this.spool.release(false);
        }
      } catch (e) {
        // Spool or dead-letter I/O trouble: the batch goes back, the loop stays alive.
        this.spool.release(false);
        await this.failed(`elasticsearch: ${(e as Error).message}; will retry`, e);
      }
    }
  }

  /** `setup: true`: installs templates and policy; false (logged, backed off) while the node cannot. */
  private async setup(): Promise<boolean> {
    try {
      const report = await setupElasticsearch(this.client!, { logger: this.log, signal: this.stop.signal });
      this.needsSetup = false;
      const changed = report.items.filter((i) => i.action === 'created' || i.action === 'updated').map((i) => `${i.action} ${i.kind} ${i.name}`);
      this.log.info({ changed, lifecycle: report.lifecycle }, 'elasticsearch: templates and lifecycle policy set up');
      return true;
    } catch (e) {
      if (this.stop.signal.aborted) return false;
      await this.failed(`elasticsearch: setup failed: ${(e as Error).message}; events stay spooled, will retry`, e);
      return false;
    }
  }

  /**
   * Sends one batch until every document is settled (stored, already there, or dead-lettered): true.
   * False when the request failed as a whole or the sink is stopping: the batch goes back to the
   * spool and is sent again (documents already stored then answer 409).
   */
  private async deliver(batch: readonly SpoolEntry[]): Promise<boolean> {
    let pending: readonly SpoolEntry[] = batch;
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (this.stop.signal.aborted) return false;
      let res;
      try {
        res = await this.client!.request('POST', BULK_PATH, bulkBody(pending), { contentType: 'application/x-ndjson', signal: this.stop.signal });
      } catch (e) {
        if (this.stop.signal.aborted) return false;
        this.connected = false;
        await this.failed(`${(e as Error).message}; events are spooled and retried`, e);
        return false;
      }
      if (res.status === 413) {
        await this.tooLarge(pending, res.text);
        return false;
      }
      const outcomes = res.status === 200 ? bulkOutcomes(res.body, pending.length) : null;
      if (!outcomes) {
        const auth = res.status === 401 || res.status === 403 ? ' (check auth)' : '';
        await this.failed(`elasticsearch: bulk request answered HTTP ${res.status}${auth}: ${res.text.slice(0, 500)}; will retry`, null);
        return false;
      }
      this.connected = true;
      const again: SpoolEntry[] = [];
      const letters: DeadLetter[] = [];
      let retryReason = '';
      outcomes.forEach((o, i) => {
        const entry = pending[i]!;
        if (o.kind === 'stored') this.counts.delivered++;
        else if (o.kind === 'duplicate') this.counts.duplicates++;
        else if (o.kind === 'retry') {
          again.push(entry);
          retryReason = `HTTP ${o.status} ${o.reason}`;
        } else letters.push({ destination: entry.destination, status: o.status, error: o.error, event: entry.value });
      });
      if (letters.length > 0) await this.deadLetter(letters);
      if (this.failures > 0 && again.length === 0) {
        this.log.info({ delivered: this.counts.delivered }, 'elasticsearch: delivering again');
        this.failures = 0;
        this.lastLogged = null;
      }
      pending = again;
      if (again.length > 0) {
        this.counts.retried_items += again.length;
        this.logOnce(`elasticsearch: the node refused ${again.length} documents for now (${retryReason}); sending them again`, 'info');
        await this.backoffSleep(this.closing ? 100 : backoff(attempt, this.backoff));
      }
    }
    return true;
  }

  private async deadLetter(letters: readonly DeadLetter[]): Promise<void> {
    await this.deadLetters.write(letters);
    this.counts.rejected += letters.length;
    for (const l of letters) {
      const key = `${l.error.type}\u0000${l.error.field ?? ''}`;
      if (this.reasonsLogged.has(key)) continue;
      this.reasonsLogged.add(key);
      this.log.warn(
        { destination: l.destination, status: l.status, error_type: l.error.type, field: l.error.field, reason: l.error.reason, dead_letter_file: this.deadLetters.file },
        'elasticsearch: documents rejected by the node, written to the dead-letter file (logged once per reason and field)',
      );
    }
    this.lastError = `elasticsearch: rejected: ${describeRejection(letters[letters.length - 1]!.error)}`;
    this.lastErrorAt = new Date().toISOString();
  }

  /** HTTP 413: halve the batch from now on; a single document too large on its own is dead-lettered. */
  private async tooLarge(pending: readonly SpoolEntry[], text: string): Promise<void> {
    if (pending.length > 1) {
      this.batchLimit = Math.max(1, Math.floor(pending.length / 2));
      this.log.warn({ events: pending.length, now: this.batchLimit }, 'elasticsearch: request larger than the node accepts (http.max_content_length); sending smaller ones from now on (lower batch.max_bytes)');
      return;
    }
    this.spool.release(false);
    const [one] = await this.spool.take(1, Number.MAX_SAFE_INTEGER);
    await this.deadLetter([{ destination: one!.destination, status: 413, error: { type: 'request_too_large', reason: text.slice(0, 300), field: null }, event: one!.value }]);
    await this.spool.ack();
  }

  private async linger(signal: AbortSignal): Promise<void> {
    const until = Date.now() + this.lingerMs;
    while (!signal.aborted && this.spool.untaken < this.maxEvents && Date.now() < until) {
      await sleep(Math.min(5, until - Date.now()), signal);
    }
  }

  private async failed(msg: string, e: unknown): Promise<void> {
    this.failures++;
    this.lastError = msg;
    this.lastErrorAt = new Date().toISOString();
    this.logOnce(msg, this.failures === 1 ? 'warn' : 'info', e);
    await this.backoffSleep(this.closing ? 100 : backoff(this.failures, this.backoff));
  }

  /** Sleeps `ms` unless stopped, or nudged by close(). */
  private async backoffSleep(ms: number): Promise<void> {
    const nap = new AbortController();
    this.nap = nap;
    const onStop = () => nap.abort();
    this.stop.signal.addEventListener('abort', onStop, { once: true });
    try {
      await sleep(ms, nap.signal);
    } finally {
      this.stop.signal.removeEventListener('abort', onStop);
      if (this.nap === nap) this.nap = null;
    }
  }

  private logOnce(msg: string, level: 'warn' | 'info', err?: unknown): void {
    const now = Date.now();
    if (this.lastLogged && this.lastLogged.msg === msg && now - this.lastLogged.at < ERROR_LOG_INTERVAL_MS) return;
    this.lastLogged = { msg, at: now };
    this.log[level]({ spooled: this.spool?.depth ?? 0, failures: this.failures, ...(err ? { err: (err as Error).message } : {}) }, msg);
  }
}

function describeRejection(e: BulkItemError): string {
  return `${e.type}${e.field ? ` on field ${e.field}` : ''}: ${e.reason}`;
}

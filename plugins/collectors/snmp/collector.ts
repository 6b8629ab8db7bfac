import type { Logger } from 'pino';
import { inject, injectable } from 'tsyringe';
import { counterToNumber, CounterTracker, type CounterValue } from '../../../src/collect/counter-delta.js';
import { parseSockstat, type SockstatTotals } from '../../../src/collect/sockstat.js';
import { netSource, viewKey, viewLogFields, withViewFields } from '../../../src/collect/view-fields.js';
import { includeExclude } from '../../../src/core/glob.js';
import type { CollectContext, Collector } from '../../../src/core/plugin.js';
import type { NetView, ProcFs } from '../../../src/core/procfs.js';
import { TOKENS } from '../../../src/core/tokens.js';
import type { SnmpOptions } from './index.js';
import {
  GAUGE_COUNTERS, NSTAT_NON_COUNTERS, parseNameValue, parseSnmpTable, type ParsedCounters,
} from './parse-snmp.js';

/** The files nstat reads, in its parse style. */
const SOURCES: readonly [file: string, parse: (text: string) => ParsedCounters][] = [
  ['snmp', parseSnmpTable],
  ['netstat', parseSnmpTable],
  ['snmp6', parseNameValue],
  ['sctp/snmp', parseNameValue],
];

@injectable()
export class SnmpCollector implements Collector {
  private readonly keep: (name: string) => boolean;
  private readonly tracker: CounterTracker;

  constructor(
    @inject(TOKENS.PluginOptions) private readonly options: SnmpOptions,
    @inject(TOKENS.ProcFs) private readonly procfs: ProcFs,
    @inject(TOKENS.Logger) private readonly logger: Logger,
  ) {
    this.keep = includeExclude(options.include ?? [], options.exclude ?? []);
    this.tracker = new CounterTracker({ bits: options.counter_bits ?? 'auto', gauges: GAUGE_COUNTERS });
  }

  async collect(ctx: CollectContext): Promise<void> {
    this.tracker.beginCycle();
    try {
      for (const view of await this.procfs.netViews()) {
        if (ctx.signal.aborted) return;
        await this.collectCounters(ctx, view);
        if (this.options.sockstat !== false) await this.collectSockstat(ctx, view);
      }
    } finally {
      if (!ctx.signal.aborted) this.tracker.endCycle();
    }
  }

  private async collectCounters(ctx: CollectContext, view: NetView): Promise<void> {
    const kept: [string, CounterValue][] = [];
    const gauges: Record<string, number> = {};
    let any = false;
    for (const [file, parse] of SOURCES) {
      const buf = await this.procfs.readNet(view, file);
      if (buf === null) {
        this.logger.debug({ ...viewLogFields(view), file }, 'counter file absent');
        continue;
      }
      any = true;
      const { counters, malformed } = parse(buf.toString('latin1'));
      malformed.report(ctx, netSource(this.procfs.root, view, file));
      for (const [name, value] of counters) {
        if (NSTAT_NON_COUNTERS.has(name)) {
          if (this.options.non_counters) gauges[name] = counterToNumber(value);
          continue;
        }
        if (this.keep(name)) kept.push([name, value]);
      }
    }
    if (!any) return;
    const changes = this.tracker.update(viewKey(view), ctx.startedAt, kept);
    const zeros = this.options.zeros !== false;
    const counters: Record<string, number> = {};
    const delta: Record<string, number> = {};
    const rate: Record<string, number> = {};
    for (const [name, value] of kept) {
      const n = counterToNumber(value);
      if (!zeros && n === 0) continue;
      counters[name] = n;
      if (changes) {
        delta[name] = changes.delta[name]!;
        if (name in changes.rate) rate[name] = changes.rate[name]!;
      }
    }
    const snmp: Record<string, unknown> = { counters };
    if (changes) {
      snmp.interval_ms = changes.intervalMs;
      snmp.delta = delta;
      if (changes.intervalMs > 0) snmp.rate = rate;
      if (changes.resets.length > 0) snmp.resets = changes.resets;
    }
    if (this.options.non_counters) snmp.gauges = gauges;
    if (!ctx.emit('snmp.counters', 'metric', withViewFields(view, { snmp }))) await ctx.drained();
  }

  private async collectSockstat(ctx: CollectContext, view: NetView): Promise<void> {
    const totals: SockstatTotals = {};
    let any = false;
    for (const file of ['sockstat', 'sockstat6']) {
      const buf = await this.procfs.readNet(view, file);
      if (buf === null) continue;
      any = true;
      parseSockstat(buf.toString('latin1'), totals).malformed.report(ctx, netSource(this.procfs.root, view, file));
    }
    if (!any) return;
    if (!ctx.emit('sockstat.totals', 'metric', withViewFields(view, { sockstat: totals }))) await ctx.drained();
  }
}

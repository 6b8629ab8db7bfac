/**
 * The softnet collector: /proc/net/softnet_stat once per cycle (its counters are per CPU, not per
 * network namespace, so one read serves every namespace), one softnet.stats event per CPU and
 * one with the sums, each with the change since the previous cycle and the per-second rate.
 */
import type { Logger } from 'pino';
import { inject, injectable } from 'tsyringe';
import { changeFields, CounterTracker, sumChanges, type CounterChanges } from '../../../src/collect/counter-delta.js';
import { procText } from '../../../src/collect/proc-text.js';
import type { CollectContext, Collector } from '../../../src/core/plugin.js';
import type { ProcFs } from '../../../src/core/procfs.js';
import { TOKENS } from '../../../src/core/tokens.js';
import type { SoftnetOptions } from './index.js';
import { parseSoftnet } from './parse-softnet.js';

const FILE = 'net/softnet_stat';

@injectable()
export class SoftnetCollector implements Collector {
  /** The kernel keeps these as u32: a decrease within half the range is a wrap. */
  private readonly tracker = new CounterTracker({ bits: 32 });
  private notedAbsent = false;
  private notedUnknown = false;

  constructor(
    @inject(TOKENS.PluginOptions) private readonly options: SoftnetOptions,
    @inject(TOKENS.ProcFs) private readonly procfs: ProcFs,
    @inject(TOKENS.Logger) private readonly logger: Logger,
  ) {}

  async collect(ctx: CollectContext): Promise<void> {
    const buf = await this.procfs.read(FILE);
    if (buf === null) {
      if (!this.notedAbsent) this.logger.info({ path: `${this.procfs.root}/${FILE}` }, 'no softnet_stat here: no softnet data');
      this.notedAbsent = true;
      return;
    }
    const parsed = parseSoftnet(procText(buf));
    parsed.malformed.report(ctx, `${this.procfs.root}/${FILE}`);
    if (parsed.unknownColumns > 0 && !this.notedUnknown) {
      this.notedUnknown = true;
      this.logger.info({ columns: parsed.width }, 'softnet_stat has more columns than this version knows: the extra ones are left out');
    }

    this.tracker.beginCycle();
    const sums: Record<string, number> = {};
    const changes: (CounterChanges | null)[] = [];
    for (const row of parsed.rows) {
      if (ctx.signal.aborted) return;
      const softnet: Record<string, unknown> = { cpu: row.cpu };
      for (const [name, value] of [...row.counters, ...row.gauges]) {
        softnet[name] = value;
        sums[name] = (sums[name] ?? 0) + value;
      }
      const change = this.tracker.update(`cpu${row.cpu}`, ctx.startedAt, row.counters);
      changes.push(change);
      if (change) Object.assign(softnet, changeFields(change));
      if (this.options.per_cpu && !ctx.emit('softnet.stats', 'metric', { softnet })) await ctx.drained();
    }
    this.tracker.endCycle();

    if (!this.options.total || parsed.rows.length === 0) return;
    const total: Record<string, unknown> = { cpus: parsed.rows.length, ...sums };
    const sum = sumChanges(changes);
    if (sum) Object.assign(total, changeFields(sum));
    ctx.emit('softnet.stats', 'metric', { softnet: total });
  }
}

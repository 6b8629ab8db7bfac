import { inject, injectable, TOKENS, type CollectContext, type Collector, type ProcFs } from 'netagent';
import type { SoftnetOptions } from './index.js';
import { parseSoftnet, type SoftnetRow } from './parse.js';

/**
 * softnet_stat is one table for the whole kernel (every namespace shows the same numbers), so it
 * is read once through `procfs.read()`, not once per network namespace view.
 */
@injectable()
export class SoftnetCollector implements Collector {
  constructor(
    @inject(TOKENS.PluginOptions) private readonly options: SoftnetOptions,
    @inject(TOKENS.ProcFs) private readonly procfs: ProcFs,
  ) {}

  async collect(ctx: CollectContext): Promise<void> {
    const data = await this.procfs.read('net/softnet_stat');
    if (data === null) return; // no such file (a kernel without it): no data, not an error
    const { rows, bad } = parseSoftnet(data.toString('utf8'));
    if (bad.length > 0) ctx.malformed('softnet_stat', bad.length, bad[0]!);
    if (this.options.per_cpu) {
      for (const row of rows) {
        if (!ctx.emit('softnet.cpu', 'metric', { softnet: row })) await ctx.drained();
      }
    }
    if (this.options.total) {
      const total: Omit<SoftnetRow, 'cpu' | 'backlog_len'> & { cpus: number } = {
        cpus: rows.length,
        processed: 0,
        dropped: 0,
        time_squeeze: 0,
        cpu_collision: 0,
        received_rps: 0,
        flow_limit_count: 0,
      };
      for (const r of rows) {
        total.processed += r.processed;
        total.dropped += r.dropped;
        total.time_squeeze += r.time_squeeze;
        total.cpu_collision += r.cpu_collision;
        total.received_rps += r.received_rps;
        total.flow_limit_count += r.flow_limit_count;
      }
      ctx.emit('softnet.total', 'metric', { softnet: total });
    }
  }
}

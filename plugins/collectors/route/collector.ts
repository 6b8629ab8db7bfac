import type { Logger } from 'pino';
import { inject, injectable } from 'tsyringe';
import { includeExclude } from '../../../src/core/glob.js';
import type { CollectContext, Collector } from '../../../src/core/plugin.js';
import type { NetView, ProcFs } from '../../../src/core/procfs.js';
import { TOKENS } from '../../../src/core/tokens.js';
import { procText } from '../../../src/collect/proc-text.js';
import { netSource, viewLogFields, withViewFields } from '../../../src/collect/view-fields.js';
import type { RouteOptions } from './index.js';
import { parseIpv4Routes, parseIpv6Routes } from './parse-route.js';

@injectable()
export class RouteCollector implements Collector {
  private readonly keep: (name: string) => boolean;

  constructor(
    @inject(TOKENS.PluginOptions) private readonly options: RouteOptions,
    @inject(TOKENS.ProcFs) private readonly procfs: ProcFs,
    @inject(TOKENS.Logger) private readonly logger: Logger,
  ) {
    this.keep = includeExclude(options.include ?? [], options.exclude ?? []);
  }

  async collect(ctx: CollectContext): Promise<void> {
    for (const view of await this.procfs.netViews()) {
      if (ctx.signal.aborted) return;
      if (this.options.ipv4 !== false) await this.collectV4(ctx, view);
      if (ctx.signal.aborted) return;
      if (this.options.ipv6 !== false) await this.collectV6(ctx, view);
    }
  }

  private async collectV4(ctx: CollectContext, view: NetView): Promise<void> {
    const buf = await this.procfs.readNet(view, 'route');
    if (buf === null) {
      this.logger.debug(viewLogFields(view), 'no net/route (IPv4 routing table absent)');
      return;
    }
    const { rows, malformed } = parseIpv4Routes(procText(buf));
    malformed.report(ctx, netSource(this.procfs.root, view, 'route'));
    for (const r of rows) {
      if (r.iface !== null && !this.keep(r.iface)) continue;
      const fields = {
        network: { type: 'ipv4' },
        route: {
          destination: r.destination,
          gateway: r.gateway,
          genmask: r.genmask,
          flags: r.flags,
          metric: r.metric,
          ref: r.refcnt,
          use: r.use,
          mss: r.mss,
          window: r.window,
          irtt: r.irtt,
        },
        ...(r.iface !== null ? { interface: { name: r.iface } } : {}),
      };
      if (!ctx.emit('route.entry', 'state', withViewFields(view, fields))) await ctx.drained();
    }
  }

  private async collectV6(ctx: CollectContext, view: NetView): Promise<void> {
    const buf = await this.procfs.readNet(view, 'ipv6_route');
    if (buf === null) {
      this.logger.debug(viewLogFields(view), 'no net/ipv6_route (IPv6 disabled)');
      return;
    }
    const { rows, malformed } = parseIpv6Routes(procText(buf));
    malformed.report(ctx, netSource(this.procfs.root, view, 'ipv6_route'));
    for (const r of rows) {
      if (!this.keep(r.iface)) continue;
      const fields = {
        network: { type: 'ipv6' },
        route: {
          destination: r.destination,
          gateway: r.gateway,
          flags: r.flags,
          metric: r.metric,
          ref: r.refcnt,
          use: r.use,
          ...(r.source.endsWith('/0') ? {} : { source: r.source }),
        },
        interface: { name: r.iface },
      };
      if (!ctx.emit('route.entry', 'state', withViewFields(view, fields))) await ctx.drained();
    }
  }
}

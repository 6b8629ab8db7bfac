import { lookupService } from 'node:dns/promises';
import type { Logger } from 'pino';
import { inject, injectable } from 'tsyringe';
import { includeExclude } from '../../../src/core/glob.js';
import type { CollectContext, Collector } from '../../../src/core/plugin.js';
import type { ProcFs } from '../../../src/core/procfs.js';
import { TOKENS } from '../../../src/core/tokens.js';
import { procText } from '../../../src/collect/proc-text.js';
import { netSource, viewLogFields, withViewFields } from '../../../src/collect/view-fields.js';
import type { IgmpOptions } from './index.js';
import { parseIgmp, parseIgmp6, type Membership } from './parse-igmp.js';

/** Resolves an address to a host name, or null. */
export type GroupResolver = (address: string) => Promise<string | null>;

/** getnameinfo(3) through libuv, as netstat -g resolves groups (NI_NAMEREQD-like: no numeric echo). */
export const systemResolver: GroupResolver = async (address) => {
  try {
    const { hostname } = await lookupService(address, 0);
    return hostname && hostname !== address ? hostname : null;
  } catch {
    return null;
  }
};

@injectable()
export class IgmpCollector implements Collector {
  private readonly keep: (name: string) => boolean;
  private readonly names = new Map<string, { name: string | null; until: number }>();
  /** The resolver used when `names: true`; replaceable in tests (no real DNS traffic). */
  resolver: GroupResolver = systemResolver;

  constructor(
    @inject(TOKENS.PluginOptions) private readonly options: IgmpOptions,
    @inject(TOKENS.ProcFs) private readonly procfs: ProcFs,
    @inject(TOKENS.Logger) private readonly logger: Logger,
  ) {
    this.keep = includeExclude(options.include ?? [], options.exclude ?? []);
  }

  async collect(ctx: CollectContext): Promise<void> {
    for (const view of await this.procfs.netViews()) {
      if (ctx.signal.aborted) return;
      const rows: Membership[] = [];
      if (this.options.ipv4 !== false) {
        const buf = await this.procfs.readNet(view, 'igmp');
        if (buf === null) this.logger.debug(viewLogFields(view), 'no net/igmp');
        else {
          const p = parseIgmp(procText(buf));
          p.malformed.report(ctx, netSource(this.procfs.root, view, 'igmp'));
          rows.push(...p.rows);
        }
      }
      if (this.options.ipv6 !== false) {
        const buf = await this.procfs.readNet(view, 'igmp6');
        if (buf === null) this.logger.debug(viewLogFields(view), 'no net/igmp6 (IPv6 disabled)');
        else {
          const p = parseIgmp6(procText(buf));
          p.malformed.report(ctx, netSource(this.procfs.root, view, 'igmp6'));
          rows.push(...p.rows);
        }
      }
      const kept = rows.filter((r) => this.keep(r.iface));
      const names = this.options.names ? await this.resolveAll(kept.map((r) => r.group), ctx.startedAt) : null;
      for (const r of kept) {
        const name = names?.get(r.group) ?? null;
        const fields = {
          network: { type: r.family },
          interface: { name: r.iface, id: String(r.ifindex) },
          igmp: {
            group: r.group,
            users: r.users,
            ...(r.querier !== undefined ? { querier: r.querier } : {}),
            ...(name !== null ? { group_name: name } : {}),
          },
        };
        if (!ctx.emit('igmp.membership', 'state', withViewFields(view, fields))) await ctx.drained();
      }
    }
  }

  private async resolveAll(groups: string[], now: number): Promise<Map<string, string | null>> {
    const out = new Map<string, string | null>();
    const ttl = (this.options.name_cache_ttl ?? 3600) * 1000;
    for (const [g, e] of this.names) if (e.until <= now) this.names.delete(g); // expired or left
    await Promise.all(
      [...new Set(groups)].map(async (g) => {
        const cached = this.names.get(g);
        if (cached && cached.until > now) {
          out.set(g, cached.name);
          return;
        }
        const name = await this.resolver(g);
        this.names.set(g, { name, until: now + ttl });
        out.set(g, name);
      }),
    );
    return out;
  }

  async close(): Promise<void> {
    this.names.clear();
  }
}

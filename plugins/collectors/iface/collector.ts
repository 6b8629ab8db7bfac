import { join } from 'node:path';
import type { Logger } from 'pino';
import { inject, injectable } from 'tsyringe';
import { counterToNumber, CounterTracker } from '../../../src/collect/counter-delta.js';
import { procText } from '../../../src/collect/proc-text.js';
import { netSource, viewKey, viewLogFields, withViewFields } from '../../../src/collect/view-fields.js';
import { includeExclude } from '../../../src/core/glob.js';
import type { CollectContext, Collector } from '../../../src/core/plugin.js';
import type { NetView, ProcFs } from '../../../src/core/procfs.js';
import { TOKENS } from '../../../src/core/tokens.js';
import type { IfaceOptions } from './index.js';
import { flagLetters, IFF, ioctlFlags, LINK_ENCAP, parseIfInet6, parseNetDev, type Inet6Address } from './parse-dev.js';
import { readSysInfo, sysfsMatches, type SysInfo } from './sysfs.js';

const ARPHRD_LOOPBACK = 772;
const BATCH = 32;

/** Nests flat `rx.ok`-style keys: { rx: { ok } }. */
function nest(flat: Record<string, number>): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [k, v] of Object.entries(flat)) {
    const dot = k.indexOf('.');
    (out[k.slice(0, dot)] ??= {})[k.slice(dot + 1)] = v;
  }
  return out;
}

@injectable()
export class IfaceCollector implements Collector {
  private readonly keep: (name: string) => boolean;
  private readonly tracker: CounterTracker;
  private readonly warnedNoSysfs = new Set<string>();

  constructor(
    @inject(TOKENS.PluginOptions) private readonly options: IfaceOptions,
    @inject(TOKENS.ProcFs) private readonly procfs: ProcFs,
    @inject(TOKENS.Logger) private readonly logger: Logger,
  ) {
    this.keep = includeExclude(options.include ?? [], options.exclude ?? []);
    this.tracker = new CounterTracker({ bits: options.counter_bits ?? 'auto' });
  }

  async collect(ctx: CollectContext): Promise<void> {
    this.tracker.beginCycle();
    try {
      for (const view of await this.procfs.netViews()) {
        if (ctx.signal.aborted) return;
        await this.collectView(ctx, view);
      }
    } finally {
      if (!ctx.signal.aborted) this.tracker.endCycle();
    }
  }

  /** The sysfs showing this view's namespace, or null (see sysfs.ts). */
  private async sysRootFor(view: NetView, names: string[], inet6: readonly Inet6Address[]): Promise<string | null> {
    const candidate = view.pid === 'self' ? (this.options.sys_root ?? '/sys') : join(this.procfs.root, view.pid, 'root', 'sys');
    const ifindexes = new Map(inet6.map((a) => [a.iface, a.ifindex]));
    if (await sysfsMatches(candidate, names, ifindexes)) {
      this.warnedNoSysfs.delete(viewKey(view));
      return candidate;
    }
    if (!this.warnedNoSysfs.has(viewKey(view))) {
      this.warnedNoSysfs.add(viewKey(view));
      this.logger.warn(
        { ...viewLogFields(view), sys: candidate },
        'no sysfs of this network namespace: interface MTU, flags and MAC are left out for it',
      );
    }
    return null;
  }

  private async collectView(ctx: CollectContext, view: NetView): Promise<void> {
    const dev = await this.procfs.readNet(view, 'dev');
    if (dev === null) {
      this.logger.debug(viewLogFields(view), 'no net/dev');
      return;
    }
    const parsed = parseNetDev(procText(dev));
    parsed.malformed.report(ctx, netSource(this.procfs.root, view, 'dev'));

    let inet6: Inet6Address[] = [];
    const if6 = await this.procfs.readNet(view, 'if_inet6');
    if (if6 !== null) {
      const p = parseIfInet6(procText(if6));
      if (this.options.addresses !== false) p.malformed.report(ctx, netSource(this.procfs.root, view, 'if_inet6'));
      inet6 = p.rows;
    }
    const sysRoot = await this.sysRootFor(view, parsed.rows.map((r) => r.name), inet6);

    const rows = parsed.rows.filter((r) => this.keep(r.name));
    const infos: SysInfo[] = [];
    for (let i = 0; i < rows.length; i += BATCH) {
      if (ctx.signal.aborted) return;
      const batch = rows.slice(i, i + BATCH);
      infos.push(...(await Promise.all(batch.map((r) => (sysRoot === null ? {} : readSysInfo(sysRoot, r.name))))));
    }

    const key = viewKey(view);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const info = infos[i]!;
      // netstat -i lists only interfaces that are up; -ia all of them
      if (!this.options.all && info.flags !== undefined && !(info.flags & IFF.UP)) continue;
      const itf: Record<string, unknown> = { name: row.name };
      if (info.ifindex !== undefined) itf.id = String(info.ifindex);
      if (info.mtu !== undefined) itf.mtu = info.mtu;
      if (info.flags !== undefined && info.operstate !== undefined) {
        itf.flags = flagLetters(ioctlFlags(info.flags, info.operstate));
      }
      if (info.operstate !== undefined) itf.operstate = info.operstate;
      if (info.address && info.type !== ARPHRD_LOOPBACK) itf.mac = info.address;
      if (info.txqueuelen !== undefined) itf.txqueuelen = info.txqueuelen;
      if (info.type !== undefined) itf.link_encap = LINK_ENCAP[info.type] ?? String(info.type);

      const counters: Record<string, number> = {};
      for (const [k, v] of row.counters) counters[k] = counterToNumber(v);
      Object.assign(itf, nest(counters));

      if (this.options.addresses !== false) {
        const addrs = inet6.filter((a) => a.iface === row.name);
        if (addrs.length > 0) {
          itf.addresses = addrs.map((a) => ({ ip: a.ip, prefix_length: a.prefix_length, scope: a.scope }));
        }
      }

      const changes = this.tracker.update(`${key}\0${row.name}`, ctx.startedAt, row.counters, info.ifindex);
      if (changes) {
        itf.interval_ms = changes.intervalMs;
        itf.delta = nest(changes.delta);
        if (changes.intervalMs > 0) itf.rate = nest(changes.rate);
        if (changes.resets.length > 0) itf.resets = changes.resets;
      }
      if (!ctx.emit('iface.stats', 'metric', withViewFields(view, { interface: itf }))) await ctx.drained();
    }
  }
}

import { readlinkSync } from 'node:fs';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
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
import { parseIpv4Routes } from '../route/parse-route.js';
import { fibPrefixCount, parseFibTrieLocals, placeIpv4Addresses } from './parse-fib.js';
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
  private readonly warnedBigFib = new Set<string>();
  /** The agent's own network namespace link (`net:[…]`), read once; null when unreadable. */
  private ownNetns: string | null | undefined;
  /** Gauges of the last cycle, for agent.stats. */
  private cycleStats = { ipv4_unplaced: 0, fib_skipped: 0 };
  private nextStats = { ipv4_unplaced: 0, fib_skipped: 0 };
  /** getifaddrs(3) of the agent's own namespace (through libuv); replaceable in tests. */
  ownInterfaces: () => NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces;

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
    this.nextStats = { ipv4_unplaced: 0, fib_skipped: 0 };
    try {
      for (const view of await this.procfs.netViews()) {
        if (ctx.signal.aborted) return;
        await this.collectView(ctx, view);
      }
    } finally {
      if (!ctx.signal.aborted) {
        this.tracker.endCycle();
        this.cycleStats = this.nextStats;
      }
    }
  }

  /**
   * For agent.stats, of the last complete cycle: IPv4 addresses that no source could place on an
   * interface, and namespaces whose fib_trie was too big to read (fib_max_prefixes).
   */
  stats(): Record<string, number> {
    return { ...this.cycleStats };
  }

  /** Whether a view shows the agent's own network namespace (where getifaddrs answers). */
  private isOwnNamespace(view: NetView): boolean {
    if (view.pid === 'self') return true;
    const link = (path: string): string | null => {
      try {
        return readlinkSync(path);
      } catch {
        return null;
      }
    };
    if (this.ownNetns === undefined) this.ownNetns = link('/proc/self/ns/net');
    return this.ownNetns !== null && link(join(this.procfs.root, view.pid, 'ns', 'net')) === this.ownNetns;
  }

  /**
   * The IPv4 addresses of a view by interface name (see parse-fib.ts). In the agent's own
   * namespace getifaddrs is exact for the interfaces it lists (those up and running, by label:
   * `eth0:1` is eth0's); the other interfaces keep what fib_trie and route place.
   */
  private async ipv4Addresses(ctx: CollectContext, view: NetView, loopback: string | null): Promise<Map<string, { ip: string; prefix_length: number }[]>> {
    const byIface = new Map<string, { ip: string; prefix_length: number }[]>();
    let unplaced: string[] = [];
    const limit = this.options.fib_max_prefixes ?? 10000;
    const stat = limit > 0 ? await this.procfs.readNet(view, 'fib_triestat') : null;
    const prefixes = stat === null ? null : fibPrefixCount(procText(stat));
    if (prefixes !== null && prefixes > limit) {
      this.nextStats.fib_skipped++;
      if (!this.warnedBigFib.has(viewKey(view))) {
        this.warnedBigFib.add(viewKey(view));
        this.logger.info(
          { ...viewLogFields(view), prefixes, fib_max_prefixes: limit },
          'routing tables too large to read IPv4 addresses from fib_trie in this namespace',
        );
      }
    } else if (limit > 0) {
      const [trie, route] = await Promise.all([this.procfs.readNet(view, 'fib_trie'), this.procfs.readNet(view, 'route')]);
      if (trie !== null && route !== null) {
        const fib = parseFibTrieLocals(procText(trie));
        fib.malformed.report(ctx, netSource(this.procfs.root, view, 'fib_trie'));
        const placed = placeIpv4Addresses(fib, parseIpv4Routes(procText(route)).rows, loopback);
        for (const a of placed.rows) {
          let list = byIface.get(a.iface);
          if (!list) byIface.set(a.iface, (list = []));
          list.push({ ip: a.ip, prefix_length: a.prefix_length });
        }
        unplaced = placed.unplaced;
      }
    }
    if (this.isOwnNamespace(view)) {
      const own = new Map<string, { ip: string; prefix_length: number }[]>();
      for (const [label, infos] of Object.entries(this.ownInterfaces())) {
        const name = label.split(':')[0]!;
        for (const i of infos ?? []) {
          if (i.family !== 'IPv4' && (i.family as unknown) !== 4) continue;
          let list = own.get(name);
          if (!list) own.set(name, (list = []));
          list.push({ ip: i.address, prefix_length: Number(i.cidr?.split('/')[1] ?? 32) });
        }
      }
      for (const [name, list] of own) byIface.set(name, list);
      const known = new Set([...own.values()].flat().map((a) => a.ip));
      unplaced = unplaced.filter((ip) => !known.has(ip));
    }
    this.nextStats.ipv4_unplaced += unplaced.length;
    return byIface;
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

    let inet4 = new Map<string, { ip: string; prefix_length: number }[]>();
    if (this.options.addresses !== false) {
      const lo = rows.find((_r, i) => infos[i]!.type === ARPHRD_LOOPBACK)?.name ?? (parsed.rows.some((r) => r.name === 'lo') ? 'lo' : null);
      inet4 = await this.ipv4Addresses(ctx, view, lo);
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
        const addrs: Record<string, unknown>[] = [...(inet4.get(row.name) ?? [])];
        for (const a of inet6) if (a.iface === row.name) addrs.push({ ip: a.ip, prefix_length: a.prefix_length, scope: a.scope });
        if (addrs.length > 0) itf.addresses = addrs;
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

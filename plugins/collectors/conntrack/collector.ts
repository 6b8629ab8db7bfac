/**
 * The conntrack collector, per network namespace: /proc/<pid>/net/stat/nf_conntrack (table size,
 * per-CPU statistics) and, as an option, /proc/<pid>/net/nf_conntrack (the entries, streamed and
 * capped), plus the table limit nf_conntrack_max (global). Without nf_conntrack in the kernel the
 * files are absent: "no data", noted once.
 */
import type { Logger } from 'pino';
import { inject, injectable } from 'tsyringe';
import { changeFields, CounterTracker, sumChanges, type CounterChanges } from '../../../src/collect/counter-delta.js';
import { MalformedTally } from '../../../src/collect/malformed.js';
import { procText } from '../../../src/collect/proc-text.js';
import { netSource, viewKey, viewLogFields, withViewFields } from '../../../src/collect/view-fields.js';
import type { CollectContext, Collector, EventFields } from '../../../src/core/plugin.js';
import { netLineChunks, type NetView, type ProcFs } from '../../../src/core/procfs.js';
import { TOKENS } from '../../../src/core/tokens.js';
import type { ConntrackOptions } from './index.js';
import { natKind, parseConntrackLine, parseConntrackStat, type ConntrackEntry, type ConntrackTuple } from './parse-conntrack.js';

const STAT = 'stat/nf_conntrack';
const TABLE = 'nf_conntrack';

/** What reading the entries gave, for the stats event. */
interface EntriesRead {
  read: number;
  truncated: boolean;
}

@injectable()
export class ConntrackCollector implements Collector {
  /** The kernel's statistics are u32 (`%08x`): a decrease within half the range is a wrap. */
  private readonly tracker = new CounterTracker({ bits: 32 });
  private notedAbsent = false;

  constructor(
    @inject(TOKENS.PluginOptions) private readonly options: ConntrackOptions,
    @inject(TOKENS.ProcFs) private readonly procfs: ProcFs,
    @inject(TOKENS.Logger) private readonly logger: Logger,
  ) {}

  async collect(ctx: CollectContext): Promise<void> {
    this.tracker.beginCycle();
    const max = await this.readSysctl('nf_conntrack_max');
    const buckets = await this.readSysctl('nf_conntrack_buckets');
    try {
      for (const view of await this.procfs.netViews()) {
        if (ctx.signal.aborted) return;
        await this.collectView(ctx, view, max, buckets);
      }
    } finally {
      if (!ctx.signal.aborted) this.tracker.endCycle();
    }
  }

  /** A global conntrack sysctl (the same in every namespace), or undefined. */
  private async readSysctl(name: string): Promise<number | undefined> {
    const buf = await this.procfs.read(`sys/net/netfilter/${name}`);
    const text = buf === null ? '' : procText(buf).trim();
    return /^\d+$/.test(text) ? Number(text) : undefined;
  }

  private async collectView(ctx: CollectContext, view: NetView, max: number | undefined, buckets: number | undefined): Promise<void> {
    const buf = await this.procfs.readNet(view, STAT);
    if (buf === null) {
      if (!this.notedAbsent) {
        this.notedAbsent = true;
        this.logger.info(
          { ...viewLogFields(view), path: netSource(this.procfs.root, view, STAT) },
          'nf_conntrack is not loaded (no stat/nf_conntrack): no conntrack data until it is',
        );
      }
      return;
    }
    this.notedAbsent = false;
    const stat = parseConntrackStat(procText(buf));
    stat.malformed.report(ctx, netSource(this.procfs.root, view, STAT));

    const key = viewKey(view);
    const changes: (CounterChanges | null)[] = [];
    const sums: Record<string, number> = {};
    for (let cpu = 0; cpu < stat.cpus.length; cpu++) {
      const row = stat.cpus[cpu]!;
      const change = this.tracker.update(`${key}\0${cpu}`, ctx.startedAt, row);
      changes.push(change);
      for (const [name, v] of row) sums[name] = (sums[name] ?? 0) + v;
      if (this.options.per_cpu) {
        const conntrack: Record<string, unknown> = { cpu, stats: Object.fromEntries(row), ...(change ? changeFields(change) : {}) };
        if (!ctx.emit('conntrack.stats', 'metric', withViewFields(view, { conntrack }))) await ctx.drained();
      }
    }

    let entries: EntriesRead | null = null;
    if (this.options.entries !== 'off') entries = await this.readEntries(ctx, view);

    const conntrack: Record<string, unknown> = {};
    if (stat.count !== null) conntrack.count = stat.count;
    if (max !== undefined) conntrack.max = max;
    if (stat.count !== null && max) conntrack.usage = Math.round((stat.count / max) * 1000) / 1000;
    if (buckets !== undefined) conntrack.buckets = buckets;
    conntrack.cpus = stat.cpus.length;
    conntrack.stats = sums;
    const sum = sumChanges(changes);
    if (sum) Object.assign(conntrack, changeFields(sum));
    if (entries) {
      conntrack.entries_read = entries.read;
      conntrack.entries_truncated = entries.truncated;
    }
    if (!ctx.emit('conntrack.stats', 'metric', withViewFields(view, { conntrack }))) await ctx.drained();
  }

  /** Streams the table, at most max_entries of it; emits each entry (list) or the groups' counts (group). */
  private async readEntries(ctx: CollectContext, view: NetView): Promise<EntriesRead | null> {
    const chunks = await netLineChunks(this.procfs, view, TABLE);
    if (chunks === null) return null;
    const cap = this.options.max_entries;
    const list = this.options.entries === 'list';
    const bad = new MalformedTally();
    const groups = new Map<string, { fields: EventFields; count: number }>();
    let read = 0;
    let truncated = false;
    outer: for await (const chunk of chunks) {
      for (const line of procText(chunk).split('\n')) {
        if (line.trim() === '') continue;
        if (read === cap) {
          truncated = true;
          break outer; // stops the read: the kernel prints no more of the table
        }
        const e = parseConntrackLine(line);
        if (e === null) {
          bad.add(line);
          continue;
        }
        read++;
        if (list) {
          if (!ctx.emit('conntrack.entry', 'state', withViewFields(view, entryFields(e)))) await ctx.drained();
          continue;
        }
        const nat = natKind(e);
        const assured = e.flags.includes('ASSURED');
        const gk = `${e.family}\0${e.transport}\0${e.state ?? ''}\0${assured}\0${nat ?? ''}`;
        let g = groups.get(gk);
        if (!g) {
          const fields: Record<string, unknown> = { ...(e.state ? { state: e.state } : {}), assured, ...(nat ? { nat } : {}) };
          g = { fields: { network: networkOf(e), conntrack: fields }, count: 0 };
          groups.set(gk, g);
        }
        g.count++;
      }
    }
    bad.report(ctx, netSource(this.procfs.root, view, TABLE));
    for (const g of groups.values()) {
      const fields = { ...g.fields, conntrack: { ...(g.fields.conntrack as object), entries: g.count } };
      if (!ctx.emit('conntrack.entry', 'metric', withViewFields(view, fields))) await ctx.drained();
    }
    return { read, truncated };
  }
}

function networkOf(e: ConntrackEntry): Record<string, string> {
  return { type: e.family, transport: e.transport, iana_number: String(e.protocol) };
}

function endpoint(p: { ip: string; port?: number }): Record<string, unknown> {
  return p.port === undefined ? { ip: p.ip } : { ip: p.ip, port: p.port };
}

/** What a tuple adds beside its addresses: ICMP or GRE ids, packet and byte counts. */
function tupleExtras(t: ConntrackTuple): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (t.icmp) out.icmp = t.icmp;
  if (t.gre) out.gre = t.gre;
  if (t.packets !== undefined) out.packets = t.packets;
  if (t.bytes !== undefined) out.bytes = t.bytes;
  return out;
}

/** A conntrack.entry event of `entries: list`: the original direction as source/destination. */
export function entryFields(e: ConntrackEntry): EventFields {
  const conntrack: Record<string, unknown> = {};
  if (e.state) conntrack.state = e.state;
  conntrack.timeout_s = e.timeout;
  conntrack.flags = e.flags;
  const nat = natKind(e);
  if (nat) conntrack.nat = nat;
  conntrack.original = tupleExtras(e.original);
  conntrack.reply = { source: endpoint(e.reply.source), destination: endpoint(e.reply.destination), ...tupleExtras(e.reply) };
  for (const k of ['mark', 'zone', 'use', 'secctx'] as const) if (e[k] !== undefined) conntrack[k] = e[k];
  if (e.age !== undefined) conntrack.age_s = e.age;
  if (e.other) conntrack.other = e.other;
  return {
    network: networkOf(e),
    source: endpoint(e.original.source),
    destination: endpoint(e.original.destination),
    conntrack,
  };
}

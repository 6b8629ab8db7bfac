/**
 * The tcp, udp, udplite and raw collectors: one implementation parametrised by transport (the
 * four tables share one line format). The plugin classes in
 * plugins/collectors/{tcp,udp,udplite,raw}/collector.ts only bind it to DI tokens.
 *
 * Per network view and family it reads one socket table, from one of two sources:
 * - netlink (`source: netlink`, and `auto` where the kernel allows it): the sock_diag dump of the
 *   view's namespace (src/core/sock-diag.ts), with the state filter applied by the kernel, parsed
 *   by parseInetDiag / countInetDiagStates;
 * - proc: /proc/<pid>/net/<transport>[6] in line-aligned chunks, parsed by parseInetLines /
 *   countInetStates.
 * Both parsers fill the same InetRow with what /proc prints, and one writer makes the events:
 * `mode: summary` only counts states; `mode: sockets` emits one event per socket, its fields
 * written as UTF-8 JSON bytes (JsonBytes). No whole-file string, no string per line or per event.
 */
import type { Logger } from 'pino';
import { errorMessage } from '../core/errors.js';
import { JsonBytes } from '../core/json-bytes.js';
import type { CollectContext, Collector, EventFields, PluginInstance } from '../core/plugin.js';
import { netLineChunks, type NetView, type ProcFs } from '../core/procfs.js';
import { SockDiag, SockDiagError, type DiagSocket } from '../core/sock-diag.js';
import { isV4MappedWords, MOST_ADDRESS_BYTES, writeProcAddress } from './inet-address.js';
import {
  AF_INET,
  AF_INET6,
  ALL_STATES,
  EXT_CONG,
  EXT_INFO,
  IPPROTO_TCP,
  IPPROTO_UDP,
  countInetDiagStates,
  inetDiagRequest,
  parseInetDiag,
  stateBits,
} from './inet-diag.js';
import { writeTcpInfo } from './tcp-info.js';
import { portTable, type InetOptions, type Transport } from './inet-options.js';
import {
  CLOCK_TICKS,
  NEXT,
  PAUSE_AFTER,
  PAUSE_BEFORE,
  TCP_STATE_NAMES,
  TCP_STATES,
  UDP_STATES,
  countInetStates,
  newInetRow,
  parseInetLines,
  stateName,
  timerName,
  udpStateName,
  type InetParseOptions,
  parseChunksPausably,
  ownerOrRescan,
  type InetRow,
  type ParsePause,
  type RowAction,
} from './inet-sockets.js';
import { MalformedTally } from './malformed.js';
import { socketAggregateFor, type SocketAggregate } from './socket-aggregate.js';
import { parseSockstat, type SockstatTotals } from './sockstat.js';
import type { SocketOwners } from '../core/socket-owners.js';
import { UserNames } from './users.js';
import { InetLifecycle, type ViewLifecycle } from './socket-lifecycle.js';
import { encodedEventFields, encodedViewFields, netSource, withViewFields, writeProcessMember } from './view-fields.js';

const FAMILIES = [
  ['ipv4', ''],
  ['ipv6', '6'],
] as const;

/** One socket table of one family in one view, from either source, as readTable() consumes it. */
interface SocketTable {
  /** The table's name in malformed-input reports: the /proc file, or the dump. */
  readonly source: string;
  readonly chunks: AsyncIterable<Buffer>;
  /** Counts the chunk's sockets per state (the summary without filters). */
  count(chunk: Buffer, counts: Float64Array, bad: MalformedTally): void;
  /** Parses the chunk from pos on (a record start) into row; returns where to resume (see parseInetLines). */
  parse(chunk: Buffer, pos: number, row: InetRow, onRow: (r: InetRow) => RowAction, bad: MalformedTally): number;
}

export class InetSocketCollector implements Collector {
  private readonly row: InetRow = newInetRow();
  private readonly stateMask: Uint8Array | null;
  private readonly localPorts: Uint8Array | null;
  private readonly remotePorts: Uint8Array | null;
  private readonly owners: SocketOwners | null;
  private readonly users: UserNames | null;
  private readonly socketDataset: string;
  private readonly summaryDataset: string;
  private readonly aggregateDataset: string;
  /** The state names a summary reports (zeros included), in kernel order. */
  private readonly summaryStates: readonly string[];
  /** `},"user":{"id":"<uid>","name":<name>}` by uid, made once per cycle (the passwd file may change). */
  private readonly userMembers = new Map<number, Buffer>();
  /** `,"process":{"pid":<pid>,"name":<name>}` by pid, made once per cycle (pids are reused). */
  private readonly processMembers = new Map<number, Buffer>();
  private readonly out = new JsonBytes();
  /** tcp.info.* per socket (TCP_INFO through netlink). */
  private readonly info: boolean;
  /** idiag_states of the dump requests: the `states` filter, applied by the kernel. */
  private readonly kernelStates: number;
  /** The netlink source once loaded; `refused` when auto found it unavailable (for good: a reload tries again). */
  private diag: SockDiag | 'refused' | null = null;
  /** Log lines given once per instance, by key. */
  private readonly told = new Set<string>();
  /** Listener and connection events (options `listeners`, `connections`), or null when off. */
  private readonly lifecycle: InetLifecycle | null;
  /** The lifecycle of the view being read. */
  private viewLifecycle: ViewLifecycle | null = null;
  /** netstat's name of a state number for this transport. */
  private readonly stateName: (state: number) => string;
  /** `},"socket":{"family":…,"state":"<name>","recv_q":` by family and state number, made on first use. */
  private readonly socketMembersByNumber: Record<'ipv4' | 'ipv6', Buffer[]> = { ipv4: [], ipv6: [] };
  /** Socket tables not read because the kernel's totals showed them empty (see emptyFamilies). */
  private tablesSkipped = 0;
  /** `<transport>.aggregate` groups of each view's rows (the `aggregate` option), or null when off. */
  private readonly aggregate: SocketAggregate | null;
  /** View cycles whose aggregate hit max_groups. */
  private aggregatesCapped = 0;

  constructor(
    private readonly transport: Transport,
    private readonly options: InetOptions,
    private readonly procfs: ProcFs,
    owners: SocketOwners,
    private readonly logger: Logger,
    readonly instance: PluginInstance,
  ) {
    this.socketDataset = `${transport}.socket`;
    this.summaryDataset = `${transport}.summary`;
    this.aggregateDataset = `${transport}.aggregate`;
    this.stateName = transport === 'tcp' ? stateName : udpStateName;
    this.lifecycle = InetLifecycle.of(transport, options, logger);
    const all = transport === 'tcp' ? TCP_STATES : UDP_STATES;
    const wanted = options.states.length > 0 ? new Set<string>(options.states) : null;
    this.summaryStates = wanted ? all.filter((s) => wanted.has(s)) : all;
    if (wanted) {
      this.stateMask = new Uint8Array(256);
      TCP_STATE_NAMES.forEach((name, n) => {
        if (wanted.has(name)) this.stateMask![n] = 1;
      });
    } else this.stateMask = null;
    this.localPorts = portTable(options.local_ports);
    this.remotePorts = portTable(options.remote_ports);
    // Lifecycle events carry the socket fields: rows are written for them in summary mode too.
    const sockets = options.mode !== 'summary' || this.lifecycle !== null;
    this.aggregate = socketAggregateFor(transport, options);
    this.owners = (sockets && options.processes) || this.aggregate?.byProcess ? owners : null;
    this.users = sockets && options.users ? new UserNames(procfs.root) : null;
    this.info = options.info === true;
    if (this.info && options.source === 'proc') throw new Error('info: true needs the netlink source (source: netlink or auto): /proc has no TCP_INFO');
    this.kernelStates = wanted ? stateBits(TCP_STATE_NAMES.flatMap((name, n) => (wanted.has(name) ? [n] : []))) : ALL_STATES;
  }

  async collect(ctx: CollectContext): Promise<void> {
    const { mode, families } = this.options;
    const summary = mode !== 'sockets';
    this.users?.refresh();
    this.userMembers.clear();
    this.processMembers.clear();
    if (this.owners) await this.owners.beginCycle(this.logger);
    const views = await this.procfs.netViews();
    this.lifecycle?.retain(views);
    for (const view of views) {
      if (ctx.signal.aborted) return;
      const perFamily: Record<string, Record<string, number>> = {};
      const empty = await this.emptyFamilies(view);
      const socket = this.diagSocket(view);
      this.aggregate?.begin();
      try {
        if (this.lifecycle) await this.beginLifecycle(ctx, view, socket, this.lifecycle);
        for (const [family, suffix] of FAMILIES) {
          if (!families.includes(family)) continue;
          if (ctx.signal.aborted) return;
          const v6 = family === 'ipv6';
          let counts: Float64Array | null;
          if (empty.has(family)) {
            this.tablesSkipped++;
            counts = new Float64Array(256);
          } else {
            // null from the dump: auto found netlink refused just now, so /proc it is.
            counts = socket !== null && this.diag !== 'refused' ? await this.dumpTable(ctx, view, socket, v6) : null;
            counts ??= await this.readFile(ctx, view, this.transport + suffix, v6);
          }
          if (counts && summary) perFamily[family] = this.stateCounts(counts);
        }
        await this.viewLifecycle?.sweep();
      } finally {
        socket?.close();
      }
      if (summary) this.emitSummary(ctx, view, perFamily);
      if (this.aggregate) this.emitAggregate(ctx, view, this.aggregate);
    }
  }

  async close(): Promise<void> {
    this.lifecycle?.close();
    if (this.diag instanceof SockDiag) this.diag.close();
    this.diag = null;
  }

  /** Logs once per instance (per key): a fallback is a state of the host, not news every cycle. */
  private tellOnce(key: string, level: 'warn' | 'info', fields: Record<string, unknown>, message: string): void {
    if (this.told.has(key)) return;
    this.told.add(key);
    this.logger[level](fields, message);
  }

  /**
   * The netlink socket for a view, or null to read /proc there: `source: proc`; auto where netlink
   * is refused (koffi cannot load, the kernel refuses sock_diag) or the view's namespace cannot be
   * entered (no CAP_SYS_ADMIN); a view that names no live namespace (a fixture directory as
   * proc_root). `source: netlink` throws instead, naming the reason.
   */
  private diagSocket(view: NetView): DiagSocket | null {
    // udplite and raw have no source option: /proc.
    const source = this.options.source ?? 'proc';
    if (source === 'proc' || this.diag === 'refused') return null;
    if (this.diag === null) {
      try {
        this.diag = SockDiag.load();
      } catch (err) {
        if (source === 'netlink') throw new Error(`source netlink: ${errorMessage(err)}`);
        this.refuse(err);
        return null;
      }
    }
    let socket: DiagSocket | null;
    try {
      socket = this.diag.openIn(this.procfs.root, view);
    } catch (err) {
      if (source === 'netlink') throw new Error(`source netlink: namespace of ${this.procfs.root}/${view.pid}: ${errorMessage(err)}`);
      // Expected where the agent runs without CAP_SYS_ADMIN (the shipped deployments): info, not a warning.
      this.tellOnce(
        'namespace',
        'info',
        { reason: errorMessage(err), net_pid: view.pid },
        'netlink: cannot open a sock_diag socket in another network namespace (setns needs CAP_SYS_ADMIN); reading /proc/<pid>/net there, the same events (logged once)',
      );
      return null;
    }
    if (socket === null && source === 'netlink') {
      throw new Error(`source netlink: ${this.procfs.root}/${view.pid}/ns/net is no network namespace to dump`);
    }
    return socket;
  }

  /** auto: netlink is unavailable here; /proc from now on (until a reload), said once. */
  private refuse(err: unknown): void {
    if (this.diag instanceof SockDiag) this.diag.close();
    this.diag = 'refused';
    this.tellOnce(
      'refused',
      'warn',
      { reason: errorMessage(err), ...(this.info ? { lost: 'tcp.info' } : {}) },
      `netlink sock_diag unavailable: reading /proc/net/${this.transport}{,6} instead`,
    );
  }

  /**
   * The view's lifecycle for this cycle: the destroy notifications joined where the view is read
   * through netlink, and those that came since the last cycle turned into events, before the
   * table is read (socket-lifecycle.ts).
   */
  private async beginLifecycle(ctx: CollectContext, view: NetView, socket: DiagSocket | null, lifecycle: InetLifecycle): Promise<void> {
    const diag = socket !== null && this.diag instanceof SockDiag ? this.diag : null;
    const v = lifecycle.begin(ctx, view, encodedViewFields(view, SOCKET_KEYS), diag, this.procfs.root);
    this.viewLifecycle = v;
    const malformed = new MalformedTally();
    const source = `netlink sock_diag destroy notifications (${this.procfs.root}/${view.pid}/ns/net)`;
    // Every destroyed socket is in CLOSE by then: the states filter is the lifecycle's (select()).
    const dopts = { stateMask: null };
    for (const v6 of [false, true]) {
      const table: SocketTable = {
        source,
        chunks: v.destroyedChunks(v6),
        count: () => {},
        parse: (chunk, pos, row, onRow, bad) => parseInetDiag(chunk, pos, chunk.length, dopts, row, onRow, (s, e) => bad.addBytes(chunk, s, e)),
      };
      await this.readRows(ctx, view, table, v6, new Float64Array(256), malformed, false);
    }
    malformed.report(ctx, source);
  }

  /**
   * Dumps one family's sockets through the view's netlink socket; returns the per-state counts,
   * or null when auto found the dump refused before its first socket (the caller reads /proc).
   */
  private async dumpTable(ctx: CollectContext, view: NetView, socket: DiagSocket, v6: boolean): Promise<Float64Array | null> {
    const family = v6 ? AF_INET6 : AF_INET;
    const protocol = this.transport === 'tcp' ? IPPROTO_TCP : IPPROTO_UDP;
    const sockets = this.options.mode !== 'summary' || this.lifecycle !== null;
    const ext = this.info && (sockets || this.aggregate !== null) ? EXT_INFO | EXT_CONG : 0;
    const diag = this.diag as SockDiag;
    const request = inetDiagRequest(family, protocol, this.kernelStates, ext, diag.nextSeq());
    let answered = false;
    const dump = socket.dump(request);
    async function* chunks(): AsyncGenerator<Buffer> {
      for await (const chunk of dump) {
        answered = true;
        yield chunk;
      }
    }
    const dopts = { stateMask: this.stateMask };
    const table: SocketTable = {
      source: `netlink sock_diag ${this.transport}${v6 ? '6' : ''} (${this.procfs.root}/${view.pid}/ns/net)`,
      chunks: chunks(),
      count: (chunk, counts, bad) => countInetDiagStates(chunk, chunk.length, counts, (s, e) => bad.addBytes(chunk, s, e)),
      parse: (chunk, pos, row, onRow, bad) => parseInetDiag(chunk, pos, chunk.length, dopts, row, onRow, (s, e) => bad.addBytes(chunk, s, e)),
    };
    try {
      return await this.readTable(ctx, view, table, v6);
    } catch (err) {
      // Refused outright (no handler for the protocol, seccomp, a sandbox's netlink): nothing was
      // emitted, so auto reads /proc instead; a dump failing midway fails the run.
      if (answered || this.options.source === 'netlink' || !(err instanceof SockDiagError)) throw err;
      this.refuse(err);
      return null;
    }
  }

  /** For agent.stats: how many socket tables were skipped as empty since the start; the lifecycle's counters. */
  stats(): Record<string, number> {
    return {
      tables_skipped: this.tablesSkipped,
      ...(this.aggregate ? { aggregate_capped: this.aggregatesCapped } : {}),
      ...this.lifecycle?.stats(),
    };
  }

  /**
   * The TCP families whose socket table the kernel's own totals (net/sockstat, sockstat6) show
   * empty, so that it need not be read: the kernel makes /proc/net/tcp6 by walking the TCP hash
   * tables, which it shares between namespaces and families, to print none (6 ms on an idle test
   * host, 11 ms beside 9k IPv4 connections, ~25 ms at 100k). Empty: no socket in use and none in
   * TIME_WAIT (which `inuse` leaves out and `tw` counts for both families together). Totals that
   * are missing or unreadable mean: read the table. UDP tables are always read: an empty udp6 costs
   * 0.06 ms, and 1.2 ms beside 19k IPv4 sockets, against 210 ms for reading the udp table itself.
   */
  private async emptyFamilies(view: NetView): Promise<Set<string>> {
    const empty = new Set<string>();
    if (this.transport !== 'tcp') return empty;
    const totals: SockstatTotals = {};
    for (const file of ['sockstat', 'sockstat6']) {
      const buf = await this.procfs.readNet(view, file);
      if (buf) parseSockstat(buf.toString('latin1'), totals);
    }
    for (const [family, suffix] of FAMILIES) {
      if (totals[this.transport + suffix]?.inuse !== 0 || totals.tcp?.tw !== 0) continue;
      empty.add(family);
    }
    return empty;
  }

  /** Reads one /proc file; returns the per-state counts (Float64Array by state number) or null when absent. */
  private async readFile(ctx: CollectContext, view: NetView, file: string, v6: boolean): Promise<Float64Array | null> {
    const chunks = await netLineChunks(this.procfs, view, file);
    if (chunks === null) return null;
    const popts: InetParseOptions = { v6, stateMask: this.stateMask };
    return this.readTable(ctx, view, {
      source: netSource(this.procfs.root, view, file),
      chunks,
      count: (chunk, counts, bad) => countInetStates(chunk, v6, counts, (s, e) => bad.addRange(chunk, s, e)),
      parse: (chunk, pos, row, onRow, bad) => parseInetLines(chunk, pos, popts, row, onRow, (s, e) => bad.addRange(chunk, s, e)),
    }, v6);
  }

  /** Reads one socket table; returns the per-state counts (Float64Array by state number). */
  private async readTable(ctx: CollectContext, view: NetView, table: SocketTable, v6: boolean): Promise<Float64Array> {
    const counts = new Float64Array(256);
    const bad = new MalformedTally();
    const sockets = this.options.mode !== 'summary';
    if (!sockets && !this.localPorts && !this.remotePorts && !this.lifecycle && !this.aggregate) {
      for await (const chunk of table.chunks) table.count(chunk, counts, bad);
    } else {
      await this.readRows(ctx, view, table, v6, counts, bad);
    }
    bad.report(ctx, table.source);
    return counts;
  }

  /** Reads a table's rows: `sockets`, whether each is a socket event (else only counted, or lifecycle's). */
  private async readRows(
    ctx: CollectContext,
    view: NetView,
    table: SocketTable,
    v6: boolean,
    counts: Float64Array,
    bad: MalformedTally,
    sockets = this.options.mode !== 'summary',
  ): Promise<void> {
    const o = this.options;
    const transport = this.transport;
    const type = v6 ? 'ipv6' : 'ipv4';
    const dataset = this.socketDataset;
    const { localPorts, remotePorts, owners, users, userMembers, processMembers, aggregate } = this;
    // Owners may be looked up for the aggregate alone: then the socket events name no process.
    const processes = o.processes;
    const stateNameOf = this.stateName;
    const family = v6 ? 'ipv6' : 'ipv4';
    const socketMembersByNumber = this.socketMembersByNumber[family];
    /** `},"socket":{"family":"<family>","state":"<name>","recv_q":` of a state number. */
    const socketMembers = (state: number): Buffer =>
      (socketMembersByNumber[state] ??= Buffer.from(`},"socket":{"family":"${family}","state":"${stateNameOf(state)}","recv_q":`));
    const timers = o.timers;
    const info = this.info;
    const lifecycle = this.viewLifecycle;
    // Each event is written straight to its JSON text as bytes (JsonBytes): no objects, no
    // strings per socket. A view's own fields (namespace, container) are appended; should one of
    // their top-level keys collide with a socket field, they are deep-merged as objects instead.
    const viewJson = encodedViewFields(view, SOCKET_KEYS);
    const head = Buffer.from(`"network":{"transport":"${transport}","type":"${type}"},"source":{"ip":"`);
    // A tcp6/udp6 socket talking to a v4-mapped address sends IPv4 packets: ECS's network.type is
    // the network layer, so ipv4 (socket.family keeps ipv6, the table it came from).
    const mappedHead = v6 ? Buffer.from(`"network":{"transport":"${transport}","type":"ipv4"},"source":{"ip":"`) : head;
    const out = this.out;
    const pause: ParsePause = { rescan: false, blocked: false };

    const onRow = (r: InetRow): RowAction => {
      if (localPorts !== null && localPorts[r.localPort] !== 1) return NEXT;
      if (remotePorts !== null && remotePorts[r.remotePort] !== 1) return NEXT;
      const tracked = lifecycle !== null && lifecycle.select(r, v6);
      if (!sockets && !tracked && aggregate === null) {
        counts[r.state]!++;
        return NEXT;
      }
      const owner = ownerOrRescan(owners, r.inode, pause);
      if (owner === null) return PAUSE_BEFORE;
      counts[r.state]!++;
      aggregate?.add(r, v6, owner);
      if (!sockets && !tracked) return NEXT;
      out.reset();
      out.raw(v6 && (isV4MappedWords(r.local) || isV4MappedWords(r.remote)) ? mappedHead : head);
      writeAddress(out, r.local, v6);
      out.raw(PORT);
      out.uint(r.localPort);
      // No peer (a listener, an unconnected UDP socket: netstat's `0.0.0.0:*`), no destination.
      if (r.remotePort !== 0 || !isUnspecified(r.remote, v6)) {
        out.raw(DESTINATION_IP);
        writeAddress(out, r.remote, v6);
        out.raw(PORT);
        out.uint(r.remotePort);
      }
      out.raw(socketMembers(r.state));
      out.uint(r.rxQueue);
      out.raw(SEND_Q);
      out.uint(r.txQueue);
      out.raw(INODE);
      out.uint(r.inode);
      if (r.backlogMax >= 0) {
        out.raw(BACKLOG_MAX);
        out.uint(r.backlogMax);
      }
      if (timers) {
        out.raw(timerMembers(r.timer));
        out.number(r.timerTicks / CLOCK_TICKS);
        out.raw(RETRANSMITS);
        out.uint(r.retransmits);
        out.raw(PROBES);
        out.uint(r.probes);
        out.raw(CLOSE);
      }
      let user = userMembers.get(r.uid);
      if (user === undefined) {
        const name = users?.name(r.uid);
        user = Buffer.from(`},"user":{"id":"${r.uid}"${name === undefined ? '' : `,"name":${JSON.stringify(name)}`}}`);
        userMembers.set(r.uid, user);
      }
      out.raw(user);
      if (owner !== undefined && processes) writeProcessMember(out, owner, processMembers);
      if (info && r.infoLen + r.congLen > 0) writeTcpInfo(out, r.attrs, r.infoAt, r.infoLen, r.congAt, r.congLen);
      if (tracked && !lifecycle.row(r, v6, out)) pause.blocked = true;
      if (!sockets) return pause.blocked ? PAUSE_AFTER : NEXT;
      if (!ctx.emit(dataset, 'state', encodedEventFields(out, view, viewJson)) || pause.blocked) {
        pause.blocked = true;
        return PAUSE_AFTER;
      }
      return NEXT;
    };

    await parseChunksPausably(
      table.chunks,
      (chunk, pos) => table.parse(chunk, pos, this.row, onRow, bad),
      pause,
      { rescan: () => owners!.rescan(), drained: () => ctx.drained() },
    );
  }

  private stateCounts(counts: Float64Array): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of this.summaryStates) out[s] = 0;
    for (let n = 0; n < counts.length; n++) {
      const c = counts[n]!;
      if (c === 0) continue;
      if (this.stateMask !== null && this.stateMask[n] !== 1) continue;
      const name = this.stateName(n);
      out[name] = (out[name] ?? 0) + c;
    }
    return out;
  }

  private emitSummary(ctx: CollectContext, view: NetView, perFamily: Record<string, Record<string, number>>): void {
    const states: Record<string, number> = {};
    for (const s of this.summaryStates) states[s] = 0;
    let count = 0;
    for (const fam of Object.values(perFamily)) {
      for (const [s, c] of Object.entries(fam)) {
        states[s] = (states[s] ?? 0) + c;
        count += c;
      }
    }
    const ev: EventFields = {
      network: { transport: this.transport },
      socket: { states, families: perFamily, count },
    };
    ctx.emit(this.summaryDataset, 'metric', withViewFields(view, ev));
  }

  private emitAggregate(ctx: CollectContext, view: NetView, aggregate: SocketAggregate): void {
    const { groups, capped } = aggregate.finish();
    if (capped) this.aggregatesCapped++;
    for (const fields of groups) ctx.emit(this.aggregateDataset, 'metric', withViewFields(view, fields));
  }
}

/** The socket events' top-level keys; a view field under one of them must be merged, not appended. */
const SOCKET_KEYS = new Set(['network', 'source', 'destination', 'socket', 'user', 'process', 'tcp']);


function writeAddress(out: JsonBytes, words: Uint32Array, v6: boolean): void {
  const at = out.reserve(MOST_ADDRESS_BYTES);
  out.length = writeProcAddress(out.bytes, at, words, v6);
}

// The constant pieces of a socket event's JSON text, in the order written.
const PORT = Buffer.from('","port":');
const DESTINATION_IP = Buffer.from('},"destination":{"ip":"');
const SEND_Q = Buffer.from(',"send_q":');
const INODE = Buffer.from(',"inode":');
const RETRANSMITS = Buffer.from(',"retransmits":');
const PROBES = Buffer.from(',"probes":');
const CLOSE = Buffer.from('}');
const BACKLOG_MAX = Buffer.from(',"backlog_max":');

/** 0.0.0.0 or ::, as /proc words. */
function isUnspecified(words: Uint32Array, v6: boolean): boolean {
  return words[0] === 0 && (!v6 || (words[1] === 0 && words[2] === 0 && words[3] === 0));
}

const timerMembersByNumber: Buffer[] = [];
/** `,"timer":{"name":"<name>","expires_s":` of a timer number. */
function timerMembers(timer: number): Buffer {
  return (timerMembersByNumber[timer] ??= Buffer.from(`,"timer":{"name":"${timerName(timer)}","expires_s":`));
}

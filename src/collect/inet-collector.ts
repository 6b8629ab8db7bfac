/**
 * The tcp, udp, udplite and raw collectors: one implementation parametrised by transport (the
 * four tables share one line format). The plugin classes in
 * plugins/collectors/{tcp,udp,udplite,raw}/collector.ts only bind it to DI tokens.
 *
 * Per network view and family it streams /proc/<pid>/net/<transport>[6] in line-aligned chunks:
 * `mode: summary` only finds each line's state field (countInetStates); `mode: sockets` decodes
 * each line in place (parseInetLines) and emits one event per socket, its fields written as
 * UTF-8 JSON bytes (JsonBytes). No whole-file string, no string per line or per event.
 */
import type { Logger } from 'pino';
import { JsonBytes } from '../core/json-bytes.js';
import type { CollectContext, Collector, EventFields, PluginInstance } from '../core/plugin.js';
import { netLineChunks, type NetView, type ProcFs } from '../core/procfs.js';
import { isV4MappedWords, MOST_ADDRESS_BYTES, writeProcAddress } from './inet-address.js';
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
import { parseSockstat, type SockstatTotals } from './sockstat.js';
import type { SocketOwners } from '../core/socket-owners.js';
import { UserNames } from './users.js';
import { encodedEventFields, encodedViewFields, netSource, withViewFields, writeProcessMember } from './view-fields.js';

const FAMILIES = [
  ['ipv4', ''],
  ['ipv6', '6'],
] as const;

export class InetSocketCollector implements Collector {
  private readonly row: InetRow = newInetRow();
  private readonly stateMask: Uint8Array | null;
  private readonly localPorts: Uint8Array | null;
  private readonly remotePorts: Uint8Array | null;
  private readonly owners: SocketOwners | null;
  private readonly users: UserNames | null;
  private readonly socketDataset: string;
  private readonly summaryDataset: string;
  /** The state names a summary reports (zeros included), in kernel order. */
  private readonly summaryStates: readonly string[];
  /** `},"user":{"id":"<uid>","name":<name>}` by uid, made once per cycle (the passwd file may change). */
  private readonly userMembers = new Map<number, Buffer>();
  /** `,"process":{"pid":<pid>,"name":<name>}` by pid, made once per cycle (pids are reused). */
  private readonly processMembers = new Map<number, Buffer>();
  private readonly out = new JsonBytes();
  /** netstat's name of a state number for this transport. */
  private readonly stateName: (state: number) => string;
  /** `},"socket":{"family":…,"state":"<name>","recv_q":` by family and state number, made on first use. */
  private readonly socketMembersByNumber: Record<'ipv4' | 'ipv6', Buffer[]> = { ipv4: [], ipv6: [] };
  /** Socket tables not read because the kernel's totals showed them empty (see emptyFamilies). */
  private tablesSkipped = 0;

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
    this.stateName = transport === 'tcp' ? stateName : udpStateName;
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
    const sockets = options.mode !== 'summary';
    this.owners = sockets && options.processes ? owners : null;
    this.users = sockets && options.users ? new UserNames(procfs.root) : null;
  }

  async collect(ctx: CollectContext): Promise<void> {
    const { mode, families } = this.options;
    const summary = mode !== 'sockets';
    this.users?.refresh();
    this.userMembers.clear();
    this.processMembers.clear();
    if (this.owners) await this.owners.beginCycle(this.logger);
    for (const view of await this.procfs.netViews()) {
      if (ctx.signal.aborted) return;
      const perFamily: Record<string, Record<string, number>> = {};
      const empty = await this.emptyFamilies(view);
      for (const [family, suffix] of FAMILIES) {
        if (!families.includes(family)) continue;
        if (ctx.signal.aborted) return;
        const file = this.transport + suffix;
        let counts: Float64Array | null;
        if (empty.has(family)) {
          this.tablesSkipped++;
          counts = new Float64Array(256);
        } else counts = await this.readFile(ctx, view, file, family === 'ipv6');
        if (counts && summary) perFamily[family] = this.stateCounts(counts);
      }
      if (summary) this.emitSummary(ctx, view, perFamily);
    }
  }

  async close(): Promise<void> {
    // Caches go with the instance.
  }

  /** For agent.stats: how many socket tables were skipped as empty since the start. */
  stats(): Record<string, number> {
    return { tables_skipped: this.tablesSkipped };
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

  /** Reads one file; returns the per-state counts (Float64Array by state number) or null when absent. */
  private async readFile(ctx: CollectContext, view: NetView, file: string, v6: boolean): Promise<Float64Array | null> {
    const chunks = await netLineChunks(this.procfs, view, file);
    if (chunks === null) return null;
    const counts = new Float64Array(256);
    const bad = new MalformedTally();
    const onBad = (buf: Buffer, s: number, e: number): void => bad.addRange(buf, s, e);
    const sockets = this.options.mode !== 'summary';
    if (!sockets && !this.localPorts && !this.remotePorts) {
      for await (const chunk of chunks) countInetStates(chunk, v6, counts, (s, e) => onBad(chunk, s, e));
    } else {
      await this.readRows(ctx, view, chunks, v6, counts, onBad);
    }
    bad.report(ctx, netSource(this.procfs.root, view, file));
    return counts;
  }

  private async readRows(
    ctx: CollectContext,
    view: NetView,
    chunks: AsyncIterable<Buffer>,
    v6: boolean,
    counts: Float64Array,
    onBad: (buf: Buffer, s: number, e: number) => void,
  ): Promise<void> {
    const o = this.options;
    const sockets = o.mode !== 'summary';
    const transport = this.transport;
    const type = v6 ? 'ipv6' : 'ipv4';
    const dataset = this.socketDataset;
    const { localPorts, remotePorts, owners, users, userMembers, processMembers } = this;
    const stateNameOf = this.stateName;
    const family = v6 ? 'ipv6' : 'ipv4';
    const socketMembersByNumber = this.socketMembersByNumber[family];
    /** `},"socket":{"family":"<family>","state":"<name>","recv_q":` of a state number. */
    const socketMembers = (state: number): Buffer =>
      (socketMembersByNumber[state] ??= Buffer.from(`},"socket":{"family":"${family}","state":"${stateNameOf(state)}","recv_q":`));
    const timers = o.timers;
    const popts: InetParseOptions = { v6, stateMask: this.stateMask };
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
      if (!sockets) {
        counts[r.state]!++;
        return NEXT;
      }
      const owner = ownerOrRescan(owners, r.inode, pause);
      if (owner === null) return PAUSE_BEFORE;
      counts[r.state]!++;
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
      if (owner !== undefined) writeProcessMember(out, owner, processMembers);
      if (!ctx.emit(dataset, 'state', encodedEventFields(out, view, viewJson))) {
        pause.blocked = true;
        return PAUSE_AFTER;
      }
      return NEXT;
    };

    await parseChunksPausably(
      chunks,
      (chunk, pos) => parseInetLines(chunk, pos, popts, this.row, onRow, (s, e) => onBad(chunk, s, e)),
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
}

/** The socket events' top-level keys; a view field under one of them must be merged, not appended. */
const SOCKET_KEYS = new Set(['network', 'source', 'destination', 'socket', 'user', 'process']);


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

/** 0.0.0.0 or ::, as /proc words. */
function isUnspecified(words: Uint32Array, v6: boolean): boolean {
  return words[0] === 0 && (!v6 || (words[1] === 0 && words[2] === 0 && words[3] === 0));
}

const timerMembersByNumber: Buffer[] = [];
/** `,"timer":{"name":"<name>","expires_s":` of a timer number. */
function timerMembers(timer: number): Buffer {
  return (timerMembersByNumber[timer] ??= Buffer.from(`,"timer":{"name":"${timerName(timer)}","expires_s":`));
}

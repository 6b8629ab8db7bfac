/**
 * The lifecycle events of a tcp or udp collector (issue 13, options `listeners` and
 * `connections`): per network view, a SocketTracker of listeners (`<transport>.listener`) and one
 * of connections (`tcp.connection`) fed with the rows the collector reads each cycle, and, where
 * the view is read through netlink and the kernel lets the agent join the group, the kernel's
 * notifications of destroyed TCP sockets: they give a connection's final counters and catch
 * connections that opened and closed between two cycles.
 *
 * The notifications are moved out of the kernel's receive buffer without blocking, at each cycle
 * and every DRAIN_INTERVAL_MS between cycles (so that a burst of closes does not overrun it), and
 * turned into events at the next cycle, before its table is read.
 */
import type { Logger } from 'pino';
import { errorMessage } from '../core/errors.js';
import { JsonBytes } from '../core/json-bytes.js';
import type { CollectContext } from '../core/plugin.js';
import type { NetView } from '../core/procfs.js';
import { SockDiagError, type DestroyListener, type SockDiag } from '../core/sock-diag.js';
import { SocketTracker, type LifecycleEmit } from './connection-tracker.js';
import { AF_INET6 } from './inet-diag.js';
import { DEFAULT_MAX_TRACKED, type InetOptions, type Transport } from './inet-options.js';
import type { InetRow } from './inet-sockets.js';
import { encodedEventFields, viewKey, viewLogFields } from './view-fields.js';

/** How often queued destroy notifications are drained between cycles. */
const DRAIN_INTERVAL_MS = 100;
/** Most bytes of drained notifications held until the next cycle; more are counted as lost. */
const MOST_PENDING_BYTES = 64 * 1024 * 1024;
/** Where a notification's address family is: after the netlink header, inet_diag_msg's first byte. */
const FAMILY_AT = 16;

/** The lifecycle of one collector instance: one ViewLifecycle per network view. */
export class InetLifecycle {
  private readonly views = new Map<string, ViewLifecycle>();
  /** Counts of views that went away, so that stats() stay totals. */
  private droppedBefore = 0;
  private lostBefore = 0;
  private toldRefused = false;
  private readonly refused = (err: SockDiagError, view: NetView): void => {
    if (this.toldRefused) return;
    this.toldRefused = true;
    this.logger.info(
      { reason: err.message, ...viewLogFields(view) },
      'tcp.connection: no destroy notifications (refused: a kernel before 4.2, a sandbox, or another namespace without CAP_SYS_ADMIN); connections from cycle-to-cycle diffs only (logged once)',
    );
  };

  private constructor(
    private readonly transport: 'tcp' | 'udp',
    private readonly options: InetOptions,
    private readonly logger: Logger,
  ) {}

  /** The lifecycle of a collector with `listeners` or `connections` on; null (nothing to do) without. */
  static of(transport: Transport, options: InetOptions, logger: Logger): InetLifecycle | null {
    if (transport !== 'tcp' && transport !== 'udp') return null;
    if (options.listeners !== true && options.connections !== true) return null;
    return new InetLifecycle(transport, options, logger);
  }

  /** Forgets the views not among this cycle's (their namespace is gone), closing their listeners. */
  retain(views: readonly NetView[]): void {
    const keys = new Set(views.map(viewKey));
    for (const [key, v] of this.views) if (!keys.has(key)) this.forget(key, v);
  }

  /**
   * A view's lifecycle for this cycle, its pending notifications drained. `diag`: the netlink
   * source when the view is read through it (destroy notifications are tried once per view).
   */
  begin(ctx: CollectContext, view: NetView, viewJson: Buffer | null, diag: SockDiag | null, procRoot: string): ViewLifecycle {
    const key = viewKey(view);
    let v = this.views.get(key);
    if (v === undefined) {
      v = new ViewLifecycle(this.transport, this.options, this.logger, view, this.refused);
      this.views.set(key, v);
    }
    if (diag !== null) v.listenForDestroys(diag, procRoot);
    v.begin(ctx, viewJson);
    return v;
  }

  /** For agent.stats. */
  stats(): Record<string, number> {
    let dropped = this.droppedBefore;
    let lost = this.lostBefore;
    let listening = 0;
    for (const v of this.views.values()) {
      dropped += v.dropped;
      lost += v.lost;
      if (v.listening) listening++;
    }
    return { lifecycle_dropped: dropped, destroy_notifications_lost: lost, destroy_listeners: listening };
  }

  close(): void {
    for (const [key, v] of this.views) this.forget(key, v);
  }

  /** Closes a view's lifecycle, keeping its counts in the totals. */
  private forget(key: string, v: ViewLifecycle): void {
    this.droppedBefore += v.dropped;
    this.lostBefore += v.lost;
    v.close();
    this.views.delete(key);
  }
}

/** Notifications drained at one time, of one family. */
interface PendingDestroys {
  readonly v6: boolean;
  readonly atMs: number;
  readonly datagrams: Buffer[];
}

/** The trackers and the destroy listener of one network view. */
export class ViewLifecycle {
  private readonly connections: SocketTracker | null;
  private readonly listeners: SocketTracker | null;
  private readonly connectionDataset = 'tcp.connection';
  private readonly listenerDataset: string;
  private readonly statesFiltered: boolean;
  private destroys: DestroyListener | null = null;
  private destroysTried = false;
  private drainTimer: NodeJS.Timeout | null = null;
  private pending: PendingDestroys[] = [];
  private pendingBytes = 0;
  private pendingLost = 0;
  /** While the collector feeds the rows of destroyed sockets (destroyedChunks), not the table's. */
  private replaying = false;
  /** The time of what is fed: the cycle's start, or when the notifications were drained. */
  private nowMs = 0;
  private emitConnection: LifecycleEmit = () => true;
  private emitListener: LifecycleEmit = () => true;
  private ctx: CollectContext | null = null;
  private readonly scratch = new JsonBytes();

  constructor(
    transport: 'tcp' | 'udp',
    options: InetOptions,
    private readonly logger: Logger,
    private readonly view: NetView,
    /** Says (once per collector) that the kernel refused the destroy notifications. */
    private readonly refused: (err: SockDiagError, view: NetView) => void,
  ) {
    const maxTracked = options.max_tracked ?? DEFAULT_MAX_TRACKED;
    this.connections = options.connections === true ? new SocketTracker({ kind: 'connection', transport, maxTracked }) : null;
    this.listeners = options.listeners === true ? new SocketTracker({ kind: 'listener', transport, maxTracked }) : null;
    this.listenerDataset = `${transport}.listener`;
    this.statesFiltered = options.states.length > 0;
  }

  get dropped(): number {
    return (this.connections?.dropped ?? 0) + (this.listeners?.dropped ?? 0);
  }

  get lost(): number {
    return (this.destroys?.overruns ?? 0) + this.pendingLost;
  }

  get listening(): boolean {
    return this.destroys !== null;
  }

  /** Joins the view's destroy notifications once; where the kernel refuses, diffs alone (said once). */
  listenForDestroys(diag: SockDiag, procRoot: string): void {
    if (this.destroysTried || this.connections === null) return;
    this.destroysTried = true;
    try {
      this.destroys = diag.listenDestroysIn(procRoot, this.view);
    } catch (err) {
      if (!(err instanceof SockDiagError)) throw err;
      this.refused(err, this.view);
      return;
    }
    if (this.destroys === null) return;
    this.connections.endGrace = 1;
    this.drainTimer = setInterval(() => this.drain(), DRAIN_INTERVAL_MS);
    this.drainTimer.unref();
  }

  begin(ctx: CollectContext, viewJson: Buffer | null): void {
    this.ctx = ctx;
    this.nowMs = Date.now();
    const emitter = (dataset: string): LifecycleEmit => (bytes, length, detail) => {
      const out = this.scratch;
      out.reset();
      out.raw(bytes.subarray(0, length));
      return ctx.emit(dataset, 'event', encodedEventFields(out, this.view, viewJson), detail);
    };
    this.emitConnection = emitter(this.connectionDataset);
    this.emitListener = emitter(this.listenerDataset);
    this.connections?.beginCycle();
    this.listeners?.beginCycle();
    this.drain();
  }

  /**
   * Whether a row gets lifecycle events: then the collector writes its event bytes for row(). A
   * destroyed socket's row gets the inode its connection last had (the kernel reports 0 once it is
   * closed), so that its end names the socket, and its process where the owner map still has it.
   */
  select(r: InetRow, v6: boolean): boolean {
    const { connections } = this;
    if (this.replaying) {
      // Listeners go by diff alone: a destroyed listener's notification is not awaited.
      if (connections === null || !connections.tracksDestroyed(r)) return false;
      const inode = connections.lastInode(r, v6);
      // With a states filter, a connection never seen was in no state of it (as far as is known).
      if (inode < 0) return !this.statesFiltered;
      if (r.inode === 0) r.inode = inode;
      return true;
    }
    return (connections !== null && connections.tracks(r)) || (this.listeners !== null && this.listeners.tracks(r));
  }

  /**
   * A row select() chose, its event's members in out (the `tcp.socket` fields, the view's not yet
   * appended). Returns false when a sink is full (the collector then waits for room).
   */
  row(r: InetRow, v6: boolean, out: JsonBytes): boolean {
    const { connections, listeners } = this;
    if (this.replaying) return connections!.destroyed(r, v6, out.bytes, out.length, this.nowMs, this.emitConnection);
    if (connections !== null && connections.tracks(r)) return connections.observe(r, v6, out.bytes, out.length, this.nowMs, this.emitConnection);
    return listeners!.observe(r, v6, out.bytes, out.length, this.nowMs, this.emitListener);
  }

  /**
   * The drained notifications of one family as chunks of SOCK_DIAG_BY_FAMILY messages, for the
   * collector to parse and hand to row() like a dump's; taken once.
   */
  async *destroyedChunks(v6: boolean): AsyncGenerator<Buffer> {
    const mine = this.pending.filter((p) => p.v6 === v6);
    if (mine.length === 0) return;
    this.pending = this.pending.filter((p) => p.v6 !== v6);
    const cycleMs = this.nowMs;
    this.replaying = true;
    try {
      for (const p of mine) {
        this.pendingBytes -= p.datagrams.reduce((n, d) => n + d.length, 0);
        this.nowMs = p.atMs;
        yield Buffer.concat(p.datagrams);
      }
    } finally {
      this.replaying = false;
      this.nowMs = cycleMs;
    }
  }

  /** After the view's complete table: what was not seen ends (see SocketTracker.endGrace). */
  async sweep(): Promise<void> {
    const ctx = this.ctx!;
    const drained = () => ctx.drained();
    await this.connections?.sweep(this.nowMs, this.emitConnection, drained);
    await this.listeners?.sweep(this.nowMs, this.emitListener, drained);
  }

  close(): void {
    if (this.drainTimer) clearInterval(this.drainTimer);
    this.drainTimer = null;
    this.destroys?.close();
    this.destroys = null;
    this.pending = [];
  }

  /** Moves the queued notifications into `pending`, by family. */
  private drain(): void {
    const destroys = this.destroys;
    if (destroys === null) return;
    const atMs = Date.now();
    const groups: (PendingDestroys | undefined)[] = [undefined, undefined];
    try {
      destroys.drain((datagram) => {
        if (this.pendingBytes + datagram.length > MOST_PENDING_BYTES) {
          this.pendingLost++;
          return;
        }
        const v6 = datagram.length > FAMILY_AT && datagram[FAMILY_AT] === AF_INET6;
        let group = groups[v6 ? 1 : 0];
        if (group === undefined) {
          group = { v6, atMs, datagrams: [] };
          groups[v6 ? 1 : 0] = group;
          this.pending.push(group);
        }
        group.datagrams.push(Buffer.from(datagram));
        this.pendingBytes += datagram.length;
      });
    } catch (err) {
      // recv failing for another reason than an empty queue or an overrun: diffs from now on.
      this.logger.warn({ reason: errorMessage(err), ...viewLogFields(this.view) }, 'tcp.connection: reading destroy notifications failed; diffs only from now on');
      this.close();
      if (this.connections) this.connections.endGrace = 0;
    }
  }
}

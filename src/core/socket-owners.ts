/**
 * Socket inode → owning process, as `netstat -p` / `ss -p` find it: by reading the links of
 * `<proc_root>/<pid>/fd/*` (`socket:[12345]`).
 *
 * One instance per agent (TOKENS.SocketOwners), shared by the tcp, udp and unix collectors: the
 * collectors of one tick share one scan. Kept across cycles so a steady host is not rescanned
 * from zero:
 * - beginCycle() lists `<proc_root>` and scans only the pids that appeared since the last cycle
 *   (and forgets the vanished ones with their sockets). Called again within `reuseMs` (another
 *   collector of the same tick), or while a scan runs, it reuses that scan;
 * - a socket whose inode is still unknown (a known process opened it, possibly at a reused fd
 *   number) triggers one full rescan in that cycle, for all collectors together (needsRescan()
 *   → rescan()); what a full rescan does not find has no process (kernel sockets, sockets in
 *   flight over SCM_RIGHTS) and is remembered as such, so it does not trigger a rescan every cycle.
 * A socket shared by several processes is attributed to the lowest pid, as netstat does
 * (it keeps the first one /proc lists). Processes vanishing mid-scan are normal. Missing
 * permission (not root) is reported once per collector, through the logger it passes to
 * beginCycle(), not per socket.
 * The scan uses synchronous calls (cheapest per syscall for /proc) and yields to the event loop
 * between batches of processes; one scan runs at a time.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import type { Logger } from 'pino';
import { listPids } from './procfs.js';
import { yieldToLoop } from './yield.js';

export interface SocketOwner {
  readonly pid: number;
  /** The command name (`/proc/<pid>/comm`, what `ss -p` shows). */
  readonly name: string;
}

export interface SocketOwnersOptions {
  /** A beginCycle() this soon after the last one that scanned reuses its scan (collectors of one tick). */
  readonly reuseMs?: number;
  readonly now?: () => number;
}

const YIELD_EVERY = 128;

export class SocketOwners {
  private byInode = new Map<number, SocketOwner>();
  /** The socket inodes found per scanned pid, to forget them when the pid goes. */
  private byPid = new Map<number, number[]>();
  /** Inodes that the previous cycle could not attribute even after a full rescan. */
  private unowned = new Set<number>();
  private missedThisCycle = new Set<number>();
  private rescannedThisCycle = false;
  /** The scan running now (a cycle's refresh or a full rescan): one at a time, joined by all. */
  private scanning: Promise<void> | null = null;
  private cycleAt = -Infinity;
  /** Processes whose fd directory could not be read (permission) in the current scan, and the last scan. */
  private denied = 0;
  private deniedLastScan = 0;
  /** The loggers (one per collector) already told about deniedLastScan. */
  private readonly warned = new WeakSet<object>();
  private readonly reuseMs: number;
  private readonly now: () => number;
  /** Full scans done (for tests and stats). */
  fullScans = 0;
  /** Processes scanned (fd directory read) in total. */
  pidScans = 0;

  constructor(
    private readonly root: string,
    opts: SocketOwnersOptions = {},
  ) {
    this.reuseMs = opts.reuseMs ?? 1000;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Call at the start of each collection, before get(): picks up new processes and drops
   * vanished ones, unless a collection that started less than `reuseMs` ago already did.
   * `logger` (the collector's) is told once if processes could not be read.
   */
  async beginCycle(logger?: Pick<Logger, 'warn'>): Promise<void> {
    while (this.scanning) await this.scanning;
    if (this.now() - this.cycleAt >= this.reuseMs) {
      this.cycleAt = this.now();
      // A new cycle: what the last one could not attribute stops triggering rescans.
      this.unowned = this.missedThisCycle;
      this.missedThisCycle = new Set();
      this.rescannedThisCycle = false;
      await this.exclusive(() => (this.fullScans === 0 ? this.scanAll() : this.scanNew()));
    }
    if (logger) this.reportDenied(logger);
  }

  get(inode: number): SocketOwner | undefined {
    return this.byInode.get(inode);
  }

  /**
   * For an inode get() did not find: true when rescan() should be awaited before asking get()
   * again (a scan is running, or none was made this cycle and the socket is not known to be
   * ownerless); false when the socket has no process to report.
   */
  needsRescan(inode: number): boolean {
    if (inode === 0) return false;
    if (this.scanning) return true;
    if (this.rescannedThisCycle || this.unowned.has(inode)) {
      this.missedThisCycle.add(inode);
      return false;
    }
    return true;
  }

  /** Scans every process from zero, or waits for the scan already running. */
  rescan(): Promise<void> {
    return this.scanning ?? this.exclusive(() => this.scanAll());
  }

  private exclusive(scan: () => Promise<void>): Promise<void> {
    this.denied = 0;
    this.scanning = scan().finally(() => {
      this.scanning = null;
      if (this.denied > 0) this.deniedLastScan = this.denied;
    });
    return this.scanning;
  }

  /** The pids that appeared since the last scan are scanned; the vanished ones forgotten. */
  private async scanNew(): Promise<void> {
    const alive = new Set<number>();
    let n = 0;
    for (const pid of listPids(this.root)) {
      alive.add(pid);
      if (this.byPid.has(pid)) continue;
      this.scanPid(pid, this.byInode, this.byPid);
      if (++n % YIELD_EVERY === 0) await yieldToLoop();
    }
    for (const [pid, inodes] of this.byPid) {
      if (alive.has(pid)) continue;
      this.byPid.delete(pid);
      for (const ino of inodes) if (this.byInode.get(ino)?.pid === pid) this.byInode.delete(ino);
    }
  }

  /** Every process, into new maps that replace the old ones when complete. */
  private async scanAll(): Promise<void> {
    this.rescannedThisCycle = true;
    this.fullScans++;
    const byInode = new Map<number, SocketOwner>();
    const byPid = new Map<number, number[]>();
    let n = 0;
    for (const pid of listPids(this.root)) {
      this.scanPid(pid, byInode, byPid);
      if (++n % YIELD_EVERY === 0) await yieldToLoop();
    }
    this.byInode = byInode;
    this.byPid = byPid;
  }

  private scanPid(pid: number, byInode: Map<number, SocketOwner>, byPid: Map<number, number[]>): void {
    const dir = `${this.root}/${pid}/fd`;
    let fds: string[];
    try {
      fds = readdirSync(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') this.denied++;
      return; // ENOENT/ESRCH: gone, which is normal
    }
    this.pidScans++;
    const inodes: number[] = [];
    let owner: SocketOwner | undefined;
    const prefix = `${dir}/`;
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(prefix + fd);
      } catch {
        continue; // closed meanwhile
      }
      // `socket:[12345]`
      if (link.charCodeAt(0) !== 115 || link.charCodeAt(7) !== 91 || !link.startsWith('socket:[')) continue;
      const inode = Number(link.slice(8, -1));
      if (!Number.isInteger(inode)) continue;
      if (owner === undefined) owner = { pid, name: this.comm(pid) };
      inodes.push(inode);
      const prev = byInode.get(inode);
      if (prev === undefined || prev.pid > pid) byInode.set(inode, owner);
    }
    byPid.set(pid, inodes);
  }

  private comm(pid: number): string {
    try {
      const s = readFileSync(`${this.root}/${pid}/comm`, 'utf8');
      return s.endsWith('\n') ? s.slice(0, -1) : s;
    } catch {
      return '';
    }
  }

  private reportDenied(logger: Pick<Logger, 'warn'>): void {
    if (this.deniedLastScan === 0 || this.warned.has(logger)) return;
    this.warned.add(logger);
    logger.warn(
      { processes: this.deniedLastScan, proc_root: this.root },
      'cannot read the fd directories of some processes (not root?): their sockets get no process.pid',
    );
  }
}

/**
 * Socket inode → owning process, as `netstat -p` / `ss -p` find it: by reading the links of
 * `<proc_root>/<pid>/fd/*` (`socket:[12345]`).
 *
 * Kept across cycles so a steady host is not rescanned from zero:
 * - beginCycle() lists `<proc_root>` and scans only the pids that appeared since the last cycle
 *   (and forgets the vanished ones with their sockets);
 * - a socket whose inode is still unknown (a known process opened it, possibly at a reused fd
 *   number) triggers one full rescan in that cycle (needsRescan() → rescan()); what a full
 *   rescan does not find has no process (kernel sockets, sockets in flight over SCM_RIGHTS)
 *   and is remembered as such, so it does not trigger a rescan every cycle.
 * A socket shared by several processes is attributed to the lowest pid, as netstat does
 * (it keeps the first one /proc lists). Processes vanishing mid-scan are normal. Missing
 * permission (not root) is reported once, through the logger, not per socket.
 * The scan uses synchronous calls (cheapest per syscall for /proc) and yields to the event loop
 * between batches of processes.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import type { Logger } from 'pino';
import { listPids } from '../core/procfs.js';
import { yieldToLoop } from '../core/yield.js';

export interface SocketOwner {
  readonly pid: number;
  /** The command name (`/proc/<pid>/comm`, what `ss -p` shows). */
  readonly name: string;
}

const YIELD_EVERY = 128;

export class SocketOwners {
  private byInode = new Map<number, SocketOwner>();
  /** The socket inodes found per scanned pid, to forget them when the pid goes. */
  private byPid = new Map<number, number[]>();
  private unowned = new Set<number>();
  private missedThisCycle = new Set<number>();
  private rescannedThisCycle = false;
  private warnedAccess = false;
  private denied = 0;
  /** Full scans done (for tests and stats). */
  fullScans = 0;
  /** Processes scanned (fd directory read) in total. */
  pidScans = 0;

  constructor(
    private readonly root: string,
    private readonly logger?: Pick<Logger, 'warn'>,
  ) {}

  /** Call once per collection cycle, before get(): picks up new processes, drops vanished ones. */
  async beginCycle(): Promise<void> {
    this.rescannedThisCycle = false;
    this.missedThisCycle = new Set();
    if (this.byPid.size === 0 && this.fullScans === 0) {
      await this.rescan();
      return;
    }
    const pids = listPids(this.root);
    const alive = new Set<number>();
    let n = 0;
    for (const pid of pids) {
      alive.add(pid);
      if (this.byPid.has(pid)) continue;
      this.scanPid(pid);
      if (++n % YIELD_EVERY === 0) await yieldToLoop();
    }
    for (const [pid, inodes] of this.byPid) {
      if (alive.has(pid)) continue;
      this.byPid.delete(pid);
      for (const ino of inodes) if (this.byInode.get(ino)?.pid === pid) this.byInode.delete(ino);
    }
    this.reportDenied();
  }

  get(inode: number): SocketOwner | undefined {
    return this.byInode.get(inode);
  }

  /**
   * For an inode get() did not find: true when a full rescan should be made before giving up on
   * it (at most once per cycle, and not for sockets a full rescan already found ownerless).
   */
  needsRescan(inode: number): boolean {
    if (inode === 0) return false;
    if (this.rescannedThisCycle || this.unowned.has(inode)) {
      this.missedThisCycle.add(inode);
      return false;
    }
    return true;
  }

  /** Scans every process from zero. */
  async rescan(): Promise<void> {
    this.rescannedThisCycle = true;
    this.fullScans++;
    this.byInode = new Map();
    this.byPid = new Map();
    let n = 0;
    for (const pid of listPids(this.root)) {
      this.scanPid(pid);
      if (++n % YIELD_EVERY === 0) await yieldToLoop();
    }
    this.reportDenied();
  }

  /** Call at the end of a cycle: sockets still without owner stop triggering rescans. */
  endCycle(): void {
    this.unowned = this.missedThisCycle;
    this.missedThisCycle = new Set();
  }

  private scanPid(pid: number): void {
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
      const prev = this.byInode.get(inode);
      if (prev === undefined || prev.pid > pid) this.byInode.set(inode, owner);
    }
    this.byPid.set(pid, inodes);
  }

  private comm(pid: number): string {
    try {
      const s = readFileSync(`${this.root}/${pid}/comm`, 'utf8');
      return s.endsWith('\n') ? s.slice(0, -1) : s;
    } catch {
      return '';
    }
  }

  private reportDenied(): void {
    if (this.denied > 0 && !this.warnedAccess) {
      this.warnedAccess = true;
      this.logger?.warn(
        { processes: this.denied, proc_root: this.root },
        'cannot read the fd directories of some processes (not root?): their sockets get no process.pid',
      );
    }
    this.denied = 0;
  }
}

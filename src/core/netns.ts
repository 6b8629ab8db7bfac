/**
 * Which network namespaces the /proc/net collectors read, per `agent.netns`:
 *
 * - `self` (default): the agent's own namespace (`<proc_root>/self/net/`).
 * - `host`: the namespace of pid 1 of the proc root (`<proc_root>/1/net/`): the host's, when the
 *   host's /proc is mounted at proc_root and the agent runs in a container.
 * - `all`: every distinct namespace that some process lives in, found by reading the
 *   `<proc_root>/<pid>/ns/net` links (`net:[4026531840]`), deduplicated by inode and read through
 *   one live pid inside each. Every event read through such a view is tagged with
 *   `netns.inode` (and `netns.host`, `container.id`, `container.runtime`, `kubernetes.pod.uid`
 *   where known) — see docs/deploy.md.
 *
 * `all` is kept cheap on a busy host: the pid → namespace map survives across cycles, so a cycle
 * lists `<proc_root>` once, reads the ns link of new pids only, and revalidates the one pid
 * each namespace is read through (still there, still in that namespace); a full rescan happens
 * only every few minutes (a process may move to another namespace with setns(2)). Namespaces
 * without any process (held only by a bind mount, e.g. `ip netns add` before anything runs in
 * it) cannot be read through /proc/<pid>/net and are not reported.
 *
 * Reading another process's ns link needs ptrace access (root, or CAP_SYS_PTRACE); the net files
 * themselves are world-readable. Missing permission is logged once, not per process.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AgentSettings } from './config/schema.js';
import type { EventFields } from './plugin.js';
import { listPids, SelfProcFs, type NetView, type ProcFs } from './procfs.js';
import { yieldToLoop } from './yield.js';

/** The host's namespace, seen through pid 1 of the (possibly mounted) proc root. */
class HostProcFs extends SelfProcFs {
  private readonly host: readonly NetView[] = [Object.freeze({ pid: '1', fields: Object.freeze({}) })];

  override async netViews(): Promise<readonly NetView[]> {
    return this.host;
  }
}

/** What `<proc_root>/<pid>/cgroup` says about the container a process runs in. */
export interface ContainerInfo {
  /** The 64-hex container id. */
  readonly id?: string;
  /** docker, containerd, cri-o or podman, when the cgroup path names it. */
  readonly runtime?: string;
  /** The Kubernetes pod UID (dashes), when the path is under kubepods. */
  readonly podUid?: string;
}

const HEX64 = /^[0-9a-f]{64}$/;
/** `<prefix><64 hex>[.scope]` as systemd-managed runtimes name their scopes. */
const SCOPE_PREFIXES: readonly (readonly [string, string])[] = [
  ['docker-', 'docker'],
  ['cri-containerd-', 'containerd'],
  ['nerdctl-', 'containerd'],
  ['crio-', 'cri-o'],
  ['libpod-', 'podman'],
];
const POD_UID = /(?:^|-)pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})(?:\.slice)?$/;

/**
 * Parses the container id, runtime and pod UID out of a `/proc/<pid>/cgroup` text (v1 or v2).
 * Recognised layouts, cgroupfs and systemd drivers alike:
 *   /docker/<id>                      /system.slice/docker-<id>.scope
 *   /kubepods/burstable/pod<uid>/<id> /kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid>.slice/cri-containerd-<id>.scope
 *   …/crio-<id>.scope                 /machine.slice/libpod-<id>.scope, /libpod_parent/libpod-<id>
 * Conmon processes (`crio-conmon-…`, `libpod-conmon-…`) are not containers. Returns {} when
 * nothing matches (a host process).
 */
export function parseCgroup(text: string): ContainerInfo {
  let best: ContainerInfo = {};
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const info = parseCgroupPath(line.slice(second + 1));
    if (info.id && !best.id) best = info;
    else if (!best.id && info.podUid && !best.podUid) best = info;
    if (best.id && best.runtime && best.podUid) break;
  }
  return best;
}

export function parseCgroupPath(path: string): ContainerInfo {
  const segments = path.split('/').filter((s) => s !== '' && s !== '..');
  let id: string | undefined;
  let runtime: string | undefined;
  let podUid: string | undefined;
  for (let i = segments.length - 1; i >= 0; i--) {
    const seg = segments[i]!;
    if (!podUid) {
      const m = POD_UID.exec(seg);
      if (m) podUid = m[1]!.replace(/_/g, '-');
    }
    if (id) continue;
    const bare = seg.endsWith('.scope') ? seg.slice(0, -'.scope'.length) : seg;
    if (HEX64.test(bare)) {
      id = bare;
      const parent = segments[i - 1];
      if (parent === 'docker') runtime = 'docker';
      else if (parent === 'libpod_parent') runtime = 'podman';
      continue;
    }
    if (bare.includes('-conmon-')) continue;
    for (const [prefix, name] of SCOPE_PREFIXES) {
      if (bare.startsWith(prefix) && HEX64.test(bare.slice(prefix.length))) {
        id = bare.slice(prefix.length);
        runtime = name;
        break;
      }
    }
  }
  return { ...(id ? { id } : {}), ...(runtime ? { runtime } : {}), ...(podUid ? { podUid } : {}) };
}

/** The inode in a `net:[4026531840]` link text, or null. */
export function nsInode(link: string): number | null {
  if (!link.startsWith('net:[') || !link.endsWith(']')) return null;
  const n = Number(link.slice(5, -1));
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

export interface AllNetnsOptions {
  /** A netViews() call this soon after the previous refresh reuses it (collectors of one tick). */
  readonly reuseMs?: number;
  /** Every this often, every pid's ns link is read again (processes may setns(2)). */
  readonly fullRescanMs?: number;
  /** At most this many ns links read per cycle outside a full scan; the rest wait for the next. */
  readonly maxLinksPerCycle?: number;
  /** Told once about processes whose ns link cannot be read (not root, no CAP_SYS_PTRACE). */
  readonly onDenied?: (count: number) => void;
  readonly now?: () => number;
}

/** Marks a pid whose ns link could not be read (permission): retried at the next full scan. */
const DENIED = 0;

interface Namespace {
  readonly inode: number;
  view: NetView;
}

/** Work done, for tests and stats. */
export interface NetnsScanStats {
  fullScans: number;
  linksRead: number;
  cgroupsRead: number;
}

const YIELD_EVERY = 512;

/** `agent.netns: all`: every distinct network namespace, each read through one live pid. */
export class AllNetnsProcFs extends SelfProcFs {
  /** Last known namespace inode of each pid seen (DENIED when unreadable). */
  private pidNs = new Map<number, number>();
  private namespaces = new Map<number, Namespace>();
  private views: readonly NetView[] = [];
  private refreshedAt = -Infinity;
  private fullScanAt = -Infinity;
  private inFlight: Promise<readonly NetView[]> | null = null;
  private warnedDenied = false;
  private readonly reuseMs: number;
  private readonly fullRescanMs: number;
  private readonly maxLinks: number;
  private readonly now: () => number;
  readonly stats: NetnsScanStats = { fullScans: 0, linksRead: 0, cgroupsRead: 0 };

  constructor(root: string, private readonly opts: AllNetnsOptions = {}) {
    super(root);
    this.reuseMs = opts.reuseMs ?? 1000;
    this.fullRescanMs = opts.fullRescanMs ?? 5 * 60_000;
    this.maxLinks = opts.maxLinksPerCycle ?? 20_000;
    this.now = opts.now ?? Date.now;
  }

  override netViews(): Promise<readonly NetView[]> {
    if (this.inFlight) return this.inFlight;
    if (this.now() - this.refreshedAt < this.reuseMs) return Promise.resolve(this.views);
    this.inFlight = this.refresh().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  /** A pid that vanished between netViews() and the read is "no data", as a missing file is. */
  override async readNet(view: NetView, file: string): Promise<Buffer | null> {
    try {
      return await super.readNet(view, file);
    } catch (err) {
      if (vanished(err)) return null;
      throw err;
    }
  }

  override async readNetLines(view: NetView, file: string, chunkSize?: number): Promise<AsyncIterable<Buffer> | null> {
    try {
      return await super.readNetLines(view, file, chunkSize);
    } catch (err) {
      if (vanished(err)) return null;
      throw err;
    }
  }

  private async refresh(): Promise<readonly NetView[]> {
    const started = this.now();
    const pids = listPids(this.root);
    const full = started - this.fullScanAt >= this.fullRescanMs;
    let denied = 0;
    let links = 0;
    if (full) {
      this.stats.fullScans++;
      this.fullScanAt = started;
      const next = new Map<number, number>();
      for (const pid of pids) {
        const ino = this.readNs(pid);
        if (ino === null) continue; // gone
        if (ino === DENIED) denied++;
        next.set(pid, ino);
        if (++links % YIELD_EVERY === 0) await yieldToLoop();
      }
      this.pidNs = next;
    } else {
      const alive = new Set(pids);
      for (const pid of this.pidNs.keys()) if (!alive.has(pid)) this.pidNs.delete(pid);
      for (const pid of pids) {
        if (this.pidNs.has(pid)) continue;
        if (links >= this.maxLinks) break; // bounded: the rest are new again next cycle
        const ino = this.readNs(pid);
        links++;
        if (ino === null) continue;
        if (ino === DENIED) denied++;
        this.pidNs.set(pid, ino);
        if (links % YIELD_EVERY === 0) await yieldToLoop();
      }
    }
    this.rebuild(full);
    if (denied > 0 && !this.warnedDenied) {
      this.warnedDenied = true;
      this.opts.onDenied?.(denied);
    }
    this.refreshedAt = this.now();
    return this.views;
  }

  /**
   * Maps each namespace to one pid in it. A namespace keeps its pid while that pid is alive and
   * still in it (checked by one readlink); otherwise the lowest other pid known in it takes over.
   */
  private rebuild(fresh: boolean): void {
    const members = new Map<number, number[]>();
    for (const [pid, ino] of this.pidNs) {
      if (ino === DENIED) continue;
      let list = members.get(ino);
      if (!list) members.set(ino, (list = []));
      list.push(pid);
    }
    const next = new Map<number, Namespace>();
    for (const [ino, pids] of members) {
      pids.sort((a, b) => a - b);
      const previous = this.namespaces.get(ino);
      let pid: number | undefined;
      if (previous) {
        const kept = Number(previous.view.pid);
        // Just read during a full scan, or revalidated now.
        if (this.pidNs.get(kept) === ino && (fresh || this.readNs(kept) === ino)) pid = kept;
        else if (!fresh) this.pidNs.delete(kept);
      }
      if (pid === undefined) {
        for (const candidate of pids) {
          if (candidate === Number(previous?.view.pid)) continue;
          // Outside a full scan the map may be stale for a candidate: check it.
          const now = fresh ? ino : this.readNs(candidate);
          if (now === ino) {
            pid = candidate;
            break;
          }
          if (now === null) this.pidNs.delete(candidate);
          else this.pidNs.set(candidate, now);
        }
      }
      if (pid === undefined) continue; // every process of it is gone: so is the namespace
      const view = previous && Number(previous.view.pid) === pid ? previous.view : this.viewFor(pid, ino);
      next.set(ino, { inode: ino, view });
    }
    this.namespaces = next;
    this.views = [...next.values()].sort((a, b) => Number(a.view.pid) - Number(b.view.pid)).map((n) => n.view);
  }

  private viewFor(pid: number, inode: number): NetView {
    const netns: Record<string, unknown> = { inode };
    const hostIno = this.pidNs.get(1);
    if (hostIno !== undefined && hostIno !== DENIED) netns.host = hostIno === inode;
    const fields: EventFields = { netns };
    const info = this.container(pid);
    if (info.id) fields.container = { id: info.id, ...(info.runtime ? { runtime: info.runtime } : {}) };
    if (info.podUid) fields.kubernetes = { pod: { uid: info.podUid } };
    return Object.freeze({ pid: String(pid), fields: deepFreeze(fields) });
  }

  private container(pid: number): ContainerInfo {
    this.stats.cgroupsRead++;
    try {
      return parseCgroup(readFileSync(join(this.root, String(pid), 'cgroup'), 'utf8'));
    } catch {
      return {};
    }
  }

  /** The namespace inode of a pid; DENIED without permission; null when the pid is gone. */
  private readNs(pid: number): number | null {
    this.stats.linksRead++;
    try {
      return nsInode(readlinkSync(join(this.root, String(pid), 'ns', 'net')));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') return DENIED;
      return null;
    }
  }

}

function vanished(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ESRCH' || code === 'EINVAL' || code === 'ENOENT';
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export function procFsFor(agent: AgentSettings, logger: Logger): ProcFs {
  switch (agent.netns) {
    case 'host':
      return new HostProcFs(agent.proc_root);
    case 'all':
      return new AllNetnsProcFs(agent.proc_root, {
        onDenied: (count) =>
          logger.warn(
            { processes: count },
            'agent.netns all: cannot read the ns/net link of some processes (needs root or CAP_SYS_PTRACE); namespaces reachable only through them are not collected',
          ),
      });
    default:
      return new SelfProcFs(agent.proc_root);
  }
}

/**
 * Netlink sock_diag (NETLINK_SOCK_DIAG), the kernel's socket dump that `ss` reads, from Node
 * without a compiler on the user's machine: the FFI library koffi, whose npm packages carry
 * prebuilt binaries (glibc and musl, every common architecture), calls libc's socket(), send(),
 * recv() and setns() on the main thread. The messages are parsed in TypeScript
 * (src/collect/inet-diag.ts); this module only moves bytes.
 *
 * Other network namespaces: a netlink socket belongs to the namespace it was created in, so the
 * socket for a view is made after setns(2) into the view's namespace (`<proc_root>/<pid>/ns/net`)
 * and the thread returns to its own one at once. Only the calling thread moves, and nothing else
 * runs on it in between (the calls are synchronous), so no other socket or file of the agent is
 * ever opened in the wrong namespace. setns needs CAP_SYS_ADMIN; without it the view is read from
 * /proc as before (the caller decides).
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { NetView } from './procfs.js';
import { LITTLE_ENDIAN } from '../collect/host-order.js';
import { NETLINK_SOCK_DIAG, readDumpEnd, type DumpEnd } from '../collect/inet-diag.js';

const AF_NETLINK = 16;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const CLONE_NEWNET = 0x40000000;
const MSG_DONTWAIT = 0x40;
const MSG_TRUNC = 0x20;
const EINTR = 4;
const EAGAIN = 11;
const ENOBUFS = 105;
const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const SO_RCVBUFFORCE = 33;
const SOL_NETLINK = 270;
const NETLINK_ADD_MEMBERSHIP = 1;
/** The sock_diag multicast groups of destroyed TCP sockets (enum sknetlink_groups, kernel ≥ 4.2). */
const SKNLGRP_INET_TCP_DESTROY = 1;
const SKNLGRP_INET6_TCP_DESTROY = 3;
/**
 * The destroy group socket's receive buffer. The kernel drops notifications that do not fit
 * (the reader sees ENOBUFS once per overrun); each takes ~1 KiB of it (a ~400-byte message with
 * TCP_INFO, in an skb), so 8 MiB holds ~8000 closes between two drains. SO_RCVBUFFORCE passes
 * net.core.rmem_max where the agent has CAP_NET_ADMIN; without it SO_RCVBUF gets at most rmem_max.
 * (Joining needs no capability: the kernel lets any process of the namespace receive them.)
 */
const DESTROY_RECV_BUFFER = 8 * 1024 * 1024;

/** Receive buffer: a dump datagram is at most 32 KiB, so the buffer is handed on when less than this is left. */
const RECV_BUFFER = 256 * 1024;
const MOST_DATAGRAM = 64 * 1024;

const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/** `EPERM`, `EOPNOTSUPP`… of an errno (positive or negative). */
export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(Math.abs(errno)) ?? `errno ${Math.abs(errno)}`;
}

/** A failed call or dump, with the errno the kernel answered. */
export class SockDiagError extends Error {
  readonly code: string;
  constructor(
    what: string,
    readonly errno: number,
  ) {
    const code = errnoName(errno);
    super(`${what}: ${code}`);
    this.code = code;
  }
}

interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  send(fd: number, buf: Buffer, len: number, flags: number): number;
  recv(fd: number, buf: Buffer, len: number, flags: number): number;
  close(fd: number): number;
  setns(fd: number, nstype: number): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  errno(): number;
}

interface Koffi {
  load(path: string | null): { func(definition: string): (...args: unknown[]) => unknown };
  errno(): number;
}

function loadLibc(): Libc {
  // require(), not import(): koffi ships CommonJS too, and a `netagent once` that imports nothing
  // else would start Node's ES module loader for it (~20 ms of a LISTEN-only run's ~130 ms).
  const koffi = createRequire(import.meta.url)('koffi') as Koffi;
  // The process's own symbols: libc whichever it is (glibc, musl), no file name to guess.
  const lib = koffi.load(null);
  const fn = <T>(definition: string): T => lib.func(definition) as T;
  return {
    socket: fn('int socket(int, int, int)'),
    send: fn('intptr_t send(int, const void *, size_t, int)'),
    recv: fn('intptr_t recv(int, void *, size_t, int)'),
    close: fn('int close(int)'),
    setns: fn('int setns(int, int)'),
    setsockopt: fn('int setsockopt(int, int, int, const void *, uint32_t)'),
    bind: fn('int bind(int, const void *, uint32_t)'),
    errno: () => koffi.errno(),
  };
}

/** A netlink socket for the dumps of one view, in that view's namespace. */
export interface DiagSocket {
  /**
   * Sends a dump request and streams the answer: each chunk holds whole messages only, the end
   * marker excluded. A chunk is a view of a reused buffer, valid until the next iteration step.
   * Throws SockDiagError when the kernel refuses the dump or fails it midway.
   */
  dump(request: Buffer): AsyncIterable<Buffer>;
  close(): void;
}

/** Netlink sock_diag through koffi: load() once per collector, then a socket per view and cycle. */
export class SockDiag {
  private seq = 0;
  /** Receive buffers of finished dumps, for the next ones (see procfs.ts's spareBuffers). */
  private readonly spare: Buffer[] = [];

  private constructor(
    private readonly libc: Libc,
    /** The agent's own namespace, to return to after making a socket in another; null when unknown. */
    private readonly home: { fd: number; inode: number } | null,
  ) {}

  /**
   * Loads koffi and makes one socket to prove that the kernel lets this process use sock_diag.
   * Throws (koffi missing or unloadable: its error; the socket refused: SockDiagError) otherwise.
   */
  static load(): SockDiag {
    const libc = loadLibc();
    let home: { fd: number; inode: number } | null = null;
    try {
      const fd = openSync('/proc/thread-self/ns/net', 'r');
      home = { fd, inode: fstatSync(fd).ino };
    } catch {
      // No /proc of our own: only the agent's own namespace (views named `self`) is reachable.
    }
    const diag = new SockDiag(libc, home);
    diag.closeFd(diag.socketHere());
    return diag;
  }

  nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    return this.seq;
  }

  /**
   * A socket in the namespace of `view` under proc root `root`; null when the view names no live
   * namespace there (no `<root>/<pid>/ns/net`, e.g. a fixture directory standing in for /proc).
   * Throws SockDiagError when the namespace cannot be entered (setns: no CAP_SYS_ADMIN).
   */
  openIn(root: string, view: NetView): DiagSocket | null {
    const fd = this.fdIn(root, view);
    return fd === null ? null : this.wrap(fd);
  }

  /**
   * A socket in the namespace of `view` that receives the kernel's notifications of destroyed TCP
   * sockets (both families), or null as openIn() gives null. Throws SockDiagError when the groups
   * cannot be joined (EINVAL: a kernel before 4.2, which has no such groups; EPERM: a sandbox's
   * seccomp filter) or the namespace cannot be entered (setns: no CAP_SYS_ADMIN).
   */
  listenDestroysIn(root: string, view: NetView): DestroyListener | null {
    const fd = this.fdIn(root, view);
    if (fd === null) return null;
    const { libc } = this;
    const int = Buffer.alloc(4);
    const setInt = (level: number, name: number, value: number): boolean => {
      if (LITTLE_ENDIAN) int.writeInt32LE(value, 0);
      else int.writeInt32BE(value, 0);
      return libc.setsockopt(fd, level, name, int, 4) === 0;
    };
    const fail = (what: string): never => {
      const errno = libc.errno();
      this.closeFd(fd);
      throw new SockDiagError(what, errno);
    };
    // Bound first (the kernel picks the port id): the kernel sends its notifications from port id
    // 0, and skips a socket with that id as their sender.
    const address = Buffer.alloc(12);
    if (LITTLE_ENDIAN) address.writeUInt16LE(AF_NETLINK, 0);
    else address.writeUInt16BE(AF_NETLINK, 0);
    if (libc.bind(fd, address, address.length) !== 0) fail('bind(sock_diag destroy listener)');
    for (const group of [SKNLGRP_INET_TCP_DESTROY, SKNLGRP_INET6_TCP_DESTROY]) {
      if (!setInt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group)) fail(`join sock_diag group ${group} (TCP destroy notifications)`);
    }
    if (!setInt(SOL_SOCKET, SO_RCVBUFFORCE, DESTROY_RECV_BUFFER)) setInt(SOL_SOCKET, SO_RCVBUF, DESTROY_RECV_BUFFER);
    return new DestroyListener(libc, fd);
  }

  /** A netlink socket's fd in the view's namespace; null when the view names none (see openIn). */
  private fdIn(root: string, view: NetView): number | null {
    if (this.home === null) return view.pid === 'self' ? this.socketHere() : null;
    const home = this.home;
    let nsFd: number;
    try {
      nsFd = openSync(join(root, view.pid, 'ns', 'net'), 'r');
    } catch {
      return null;
    }
    try {
      return fstatSync(nsFd).ino === home.inode ? this.socketHere() : this.socketIn(nsFd, home.fd);
    } finally {
      closeSync(nsFd);
    }
  }

  close(): void {
    if (this.home) closeSync(this.home.fd);
  }

  private socketHere(): number {
    const fd = this.libc.socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0) throw new SockDiagError('socket(AF_NETLINK, NETLINK_SOCK_DIAG)', this.libc.errno());
    return fd;
  }

  private socketIn(nsFd: number, homeFd: number): number {
    if (this.libc.setns(nsFd, CLONE_NEWNET) !== 0) throw new SockDiagError('setns into the namespace', this.libc.errno());
    let failure: SockDiagError | null = null;
    const fd = this.libc.socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0) failure = new SockDiagError('socket(AF_NETLINK, NETLINK_SOCK_DIAG) in the namespace', this.libc.errno());
    if (this.libc.setns(homeFd, CLONE_NEWNET) !== 0) {
      // The main thread would stay in another namespace: every socket it made after would be there.
      const errno = this.libc.errno();
      throw new Error(`setns back into the agent's own network namespace failed (${errnoName(errno)}); stopping`);
    }
    if (failure) throw failure;
    return fd;
  }

  private closeFd(fd: number): void {
    this.libc.close(fd);
  }

  private wrap(fd: number): DiagSocket {
    let open = true;
    return {
      dump: (request) => this.dump(fd, request),
      close: () => {
        if (open) this.closeFd(fd);
        open = false;
      },
    };
  }

  private async *dump(fd: number, request: Buffer): AsyncGenerator<Buffer> {
    const { libc } = this;
    for (;;) {
      if (libc.send(fd, request, request.length, 0) === request.length) break;
      const errno = libc.errno();
      if (errno !== EINTR) throw new SockDiagError('send(sock_diag request)', errno);
    }
    let buf = this.spare.pop() ?? Buffer.allocUnsafe(RECV_BUFFER);
    const end: DumpEnd = { done: false, error: 0, end: 0 };
    let filled = 0;
    try {
      for (;;) {
        if (buf.length - filled < MOST_DATAGRAM) {
          yield buf.subarray(0, filled);
          filled = 0;
        }
        const room = buf.length - filled;
        // Non-blocking: the kernel makes each part of a dump inside the recv() before, so an empty
        // queue means it stopped answering, and the agent must not hang on it.
        const n = libc.recv(fd, filled === 0 ? buf : buf.subarray(filled), room, MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0) {
          const errno = libc.errno();
          if (errno === EINTR) continue;
          if (errno === EAGAIN) throw new Error('sock_diag: the kernel stopped answering the dump before its end');
          throw new SockDiagError('recv(sock_diag dump)', errno);
        }
        if (n > room) throw new Error(`sock_diag: a ${n}-byte datagram did not fit ${room} bytes`);
        readDumpEnd(buf, filled, filled + n, end);
        if (end.error !== 0) throw new SockDiagError('sock_diag dump', -end.error);
        if (end.done) {
          if (end.end > 0) yield buf.subarray(0, end.end);
          return;
        }
        filled += n;
        if (n === 0) throw new Error('sock_diag: the dump ended without NLMSG_DONE');
      }
    } finally {
      if (this.spare.length < 2) this.spare.push(buf);
    }
  }
}

/**
 * The kernel's notifications of destroyed TCP sockets in one namespace: one SOCK_DIAG_BY_FAMILY
 * message each (an inet_diag_msg with INET_DIAG_INFO, the final TCP_INFO), as a dump answers.
 * Read without blocking: drain() takes what is queued and returns at once.
 */
export class DestroyListener {
  /** Times the kernel dropped notifications because the receive buffer was full (ENOBUFS). */
  overruns = 0;
  private readonly buf = Buffer.allocUnsafe(MOST_DATAGRAM);
  private open = true;

  constructor(
    private readonly libc: Libc,
    private readonly fd: number,
  ) {}

  /** Hands each queued datagram to `onDatagram` (a view of a reused buffer, valid during the call). */
  drain(onDatagram: (datagram: Buffer) => void): void {
    const { libc, buf } = this;
    while (this.open) {
      const n = libc.recv(this.fd, buf, buf.length, MSG_DONTWAIT | MSG_TRUNC);
      if (n < 0) {
        const errno = libc.errno();
        if (errno === EINTR) continue;
        if (errno === EAGAIN) return;
        if (errno === ENOBUFS) {
          this.overruns++;
          continue;
        }
        throw new SockDiagError('recv(sock_diag destroy notifications)', errno);
      }
      // A datagram larger than the buffer (never seen: one message each) is cut: skipped.
      if (n > 0 && n <= buf.length) onDatagram(buf.subarray(0, n));
    }
  }

  close(): void {
    if (this.open) this.libc.close(this.fd);
    this.open = false;
  }
}

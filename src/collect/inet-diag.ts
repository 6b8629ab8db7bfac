/**
 * The netlink sock_diag messages of inet sockets (include/uapi/linux/inet_diag.h, sock_diag.h):
 * the dump request, and pure parsers over the bytes the kernel answers with (no I/O; the socket
 * is src/core/sock-diag.ts). A parsed socket fills the same InetRow the /proc/net parser fills,
 * with the values /proc/net/{tcp,udp}{,6} would print, so that one writer makes the events of
 * both sources. Where the kernel reports a value differently, the row gets what /proc prints:
 *
 * - A listener's Send-Q: the dump reports the listen() backlog (what `ss` shows), /proc the unsent
 *   bytes, which a listener never has (0). The row keeps 0 and the backlog in `backlogMax`.
 * - Timers: the dump gives milliseconds, /proc clock ticks (1/100 s) of the same jiffies; the row
 *   gets floor(ms / 10) ticks, which is the same number when HZ divides 1000 (100, 250, 1000).
 * - The timer's count: the dump gives one number for the running timer (retransmits for `on`,
 *   probes for `keepalive` and `probe`), /proc both. With TCP_INFO both come from tcp_info
 *   (tcpi_retransmits, tcpi_probes), which are the very fields /proc prints; without it the other
 *   one is 0.
 * - A SYN_RECV entry's count is the request's retransmits (num_retrans); /proc prints its timeouts
 *   (num_timeout), equal unless a SYN-ACK could not be sent.
 *
 * Multi-byte fields are in the host's byte order, except ports and addresses (network order).
 * The address words are read in host order too: that is the u32 /proc prints with `%08X`.
 */
import { LITTLE_ENDIAN as LE, readI32, readU16, readU32 } from './host-order.js';
import { type InetRow, type RowAction, PAUSE_AFTER, PAUSE_BEFORE } from './inet-sockets.js';

export const NETLINK_SOCK_DIAG = 4;
export const SOCK_DIAG_BY_FAMILY = 20;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
const NLM_F_REQUEST = 0x1;
const NLM_F_DUMP = 0x300;

export const AF_INET = 2;
export const AF_INET6 = 10;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/** Response attributes (enum INET_DIAG_*) and the request bits asking for them (1 << (type - 1)). */
export const INET_DIAG_INFO = 2;
export const INET_DIAG_CONG = 4;
export const EXT_INFO = 1 << (INET_DIAG_INFO - 1);
export const EXT_CONG = 1 << (INET_DIAG_CONG - 1);

const NLMSG_HDRLEN = 16;
/** struct inet_diag_msg */
const DIAG_MSG_LEN = 72;
/** struct inet_diag_req_v2 */
const DIAG_REQ_LEN = 56;

const TCP_LISTEN = 10;
/** Every state bit /proc/net lists (1..11; TCP_NEW_SYN_RECV follows SYN_RECV in the kernel, TCP_BOUND_INACTIVE is left out). */
export const ALL_STATES = 0xfff;

const align4 = (n: number): number => (n + 3) & ~3;

/** A dump request for one family and protocol: the states as a bit mask, `ext` the attributes wanted. */
export function inetDiagRequest(family: number, protocol: number, states: number, ext: number, seq: number): Buffer {
  const req = Buffer.alloc(NLMSG_HDRLEN + DIAG_REQ_LEN);
  const w32 = (v: number, at: number) => (LE ? req.writeUInt32LE(v >>> 0, at) : req.writeUInt32BE(v >>> 0, at));
  const w16 = (v: number, at: number) => (LE ? req.writeUInt16LE(v, at) : req.writeUInt16BE(v, at));
  w32(req.length, 0);
  w16(SOCK_DIAG_BY_FAMILY, 4);
  w16(NLM_F_REQUEST | NLM_F_DUMP, 6);
  w32(seq, 8);
  req[16] = family;
  req[17] = protocol;
  req[18] = ext;
  w32(states, 20);
  // id (ports, addresses, interface, cookie) stays zero: no socket named, all are dumped.
  return req;
}

/** The state bits of netstat state names (kernel numbers), for the request's idiag_states. */
export function stateBits(stateNumbers: Iterable<number>): number {
  let bits = 0;
  for (const n of stateNumbers) bits |= 1 << n;
  return bits >>> 0;
}

/** How a received buffer of a dump ends, as readDumpEnd() sees it. */
export interface DumpEnd {
  /** NLMSG_DONE was seen: the dump is complete. */
  done: boolean;
  /** A negative errno from NLMSG_ERROR or a failed NLMSG_DONE, else 0. */
  error: number;
  /** Where the messages before the end marker stop (the end of the range when there is none). */
  end: number;
}

/**
 * Finds the end of a dump in the messages of buf[start, end) (for the reader, which must know when
 * to stop): NLMSG_DONE (its payload an errno when the dump failed) or NLMSG_ERROR. Only the
 * headers are read.
 */
export function readDumpEnd(buf: Buffer, start: number, end: number, into: DumpEnd): DumpEnd {
  into.done = false;
  into.error = 0;
  let at = start;
  while (at + NLMSG_HDRLEN <= end) {
    const len = readU32(buf, at);
    const type = readU16(buf, at + 4);
    if (type === NLMSG_DONE || type === NLMSG_ERROR) {
      into.done = true;
      const code = len >= NLMSG_HDRLEN + 4 && at + NLMSG_HDRLEN + 4 <= end ? readI32(buf, at + NLMSG_HDRLEN) : 0;
      into.error = code < 0 ? code : 0;
      into.end = at;
      return into;
    }
    if (len < NLMSG_HDRLEN) break; // malformed: the parser reports it
    at += align4(len);
  }
  into.end = end;
  return into;
}

export interface InetDiagParseOptions {
  /** Only rows whose state has a non-zero entry are handed on (indexed by state number); null: all. */
  readonly stateMask: Uint8Array | null;
}

/**
 * Parses the SOCK_DIAG_BY_FAMILY messages of buf[start, end) into row, calling onRow for each
 * socket and onBad(start, end) for a message too short for its header or holding a malformed
 * attribute. Returns where to resume: `end` when done, or the message at which onRow paused
 * (PAUSE_BEFORE: that message; PAUSE_AFTER: the next). Other message types are skipped.
 */
export function parseInetDiag(
  buf: Buffer,
  start: number,
  end: number,
  o: InetDiagParseOptions,
  row: InetRow,
  onRow: (row: InetRow) => RowAction,
  onBad: (s: number, e: number) => void,
): number {
  let at = start;
  while (at + NLMSG_HDRLEN <= end) {
    const len = readU32(buf, at);
    if (len < NLMSG_HDRLEN || at + len > end) {
      onBad(at, end);
      return end;
    }
    const next = Math.min(at + align4(len), end);
    if (readU16(buf, at + 4) !== SOCK_DIAG_BY_FAMILY) {
      at = next;
      continue;
    }
    const r = parseMessage(buf, at + NLMSG_HDRLEN, at + len, o, row);
    if (r === 1) {
      const act = onRow(row);
      if (act === PAUSE_BEFORE) return at;
      if (act === PAUSE_AFTER) return next;
    } else if (r < 0) onBad(at, at + len);
    at = next;
  }
  if (at < end) onBad(at, end);
  return end;
}

/** 1: a row; 0: skipped by the state mask; -1: malformed. */
function parseMessage(buf: Buffer, m: number, end: number, o: InetDiagParseOptions, row: InetRow): number {
  if (end - m < DIAG_MSG_LEN) return -1;
  const family = buf[m]!;
  if (family !== AF_INET && family !== AF_INET6) return -1;
  const state = buf[m + 1]!;
  if (o.stateMask !== null && o.stateMask[state] !== 1) return 0;
  const timer = buf[m + 2]!;
  const retrans = buf[m + 3]!;
  row.localPort = (buf[m + 4]! << 8) | buf[m + 5]!;
  row.remotePort = (buf[m + 6]! << 8) | buf[m + 7]!;
  const words = family === AF_INET6 ? 4 : 1;
  for (let w = 0; w < words; w++) {
    row.local[w] = readU32(buf, m + 8 + 4 * w);
    row.remote[w] = readU32(buf, m + 24 + 4 * w);
  }
  const expiresMs = readU32(buf, m + 52);
  const rqueue = readU32(buf, m + 56);
  const wqueue = readU32(buf, m + 60);
  row.state = state;
  row.rxQueue = rqueue;
  if (state === TCP_LISTEN) {
    row.txQueue = 0;
    row.backlogMax = wqueue;
  } else {
    row.txQueue = wqueue;
    row.backlogMax = -1;
  }
  row.uid = readU32(buf, m + 64);
  row.inode = readU32(buf, m + 68);
  row.timer = timer;
  row.timerTicks = Math.floor(expiresMs / 10);
  row.retransmits = timer === 1 ? retrans : 0;
  row.probes = timer === 2 || timer === 4 ? retrans : 0;
  row.attrs = buf;
  row.infoAt = 0;
  row.infoLen = 0;
  row.congAt = 0;
  row.congLen = 0;
  let a = m + DIAG_MSG_LEN;
  while (a + 4 <= end) {
    const alen = readU16(buf, a);
    if (alen < 4 || a + alen > end) return -1;
    const type = readU16(buf, a + 2) & 0x3fff; // without NLA_F_NESTED / NLA_F_NET_BYTEORDER
    if (type === INET_DIAG_INFO) {
      row.infoAt = a + 4;
      row.infoLen = alen - 4;
    } else if (type === INET_DIAG_CONG) {
      row.congAt = a + 4;
      // A NUL-terminated name.
      let e = a + 4;
      while (e < a + alen && buf[e] !== 0) e++;
      row.congLen = e - (a + 4);
    }
    a += align4(alen);
  }
  if (row.infoLen >= 4) {
    row.retransmits = buf[row.infoAt + 2]!;
    row.probes = buf[row.infoAt + 3]!;
  }
  return 1;
}

/**
 * Counts sockets per state (counts[state]++) from the messages of buf[0, end): the summary path.
 * A message too short for its header goes to onBad.
 */
export function countInetDiagStates(buf: Buffer, end: number, counts: Float64Array, onBad: (s: number, e: number) => void): void {
  let at = 0;
  while (at + NLMSG_HDRLEN <= end) {
    const len = readU32(buf, at);
    if (len < NLMSG_HDRLEN || at + len > end) {
      onBad(at, end);
      return;
    }
    if (readU16(buf, at + 4) === SOCK_DIAG_BY_FAMILY) {
      if (len < NLMSG_HDRLEN + DIAG_MSG_LEN) onBad(at, at + len);
      else counts[buf[at + NLMSG_HDRLEN + 1]!]!++;
    }
    at += align4(len);
  }
  if (at < end) onBad(at, end);
}

/**
 * The /proc/net/{tcp,tcp6,udp,udp6} line parser shared by the tcp and udp collectors: pure
 * functions over byte buffers (no whole-file string, no per-line string, no regex).
 *
 * Line format (net/ipv4/tcp_ipv4.c, net/ipv4/udp.c and their v6 twins), one socket per line:
 *   `%4d: %08X:%04X %08X:%04X %02X %08X:%08X %02X:%08lX %08X %5u %8d %lu …`
 *    sl   local addr:port remote   st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
 * IPv6 addresses are 32 hex digits. netstat prints Recv-Q = rx_queue and Send-Q = tx_queue as
 * they are (for a TCP listener rx_queue is the accept backlog's current length), the timer as
 * `name (when/100 s/retrnsmt/timeout)`, and for UDP the state ESTABLISHED or nothing (CLOSE).
 */
import type { SocketOwner, SocketOwners } from '../core/socket-owners.js';
import { yieldToLoop } from '../core/yield.js';
import { HEX } from './inet-address.js';

export * from './inet-states.js';

/** One parsed line. The parser reuses one object: copy what you keep. */
export interface InetRow {
  /**
   * The local address as the file prints it: one word (IPv4) or four (IPv6), each the u32 of a
   * `%08X` field; writeProcAddress() and procAddressText() give netstat's text.
   */
  readonly local: Uint32Array;
  localPort: number;
  readonly remote: Uint32Array;
  remotePort: number;
  /** Kernel state number; stateName() gives netstat's text. */
  state: number;
  txQueue: number;
  rxQueue: number;
  /** `tr`: which timer runs (timerName()). */
  timer: number;
  /** `tm->when` in clock ticks. */
  timerTicks: number;
  retransmits: number;
  uid: number;
  /** The `timeout` column: unanswered zero-window/keepalive probes (icsk_probes_out). */
  probes: number;
  inode: number;
  /** A listener's listen() backlog where the source reports it (netlink), else -1. */
  backlogMax: number;
  /**
   * Netlink only: the received bytes holding the TCP_INFO and congestion name attributes of this
   * row, at [infoAt, infoAt + infoLen) and [congAt, congAt + congLen); lengths 0 when absent.
   */
  attrs: Buffer;
  infoAt: number;
  infoLen: number;
  congAt: number;
  congLen: number;
}

const NO_ATTRS = Buffer.alloc(0);

export function newInetRow(): InetRow {
  return {
    local: new Uint32Array(4),
    localPort: 0,
    remote: new Uint32Array(4),
    remotePort: 0,
    state: 0,
    txQueue: 0,
    rxQueue: 0,
    timer: 0,
    timerTicks: 0,
    retransmits: 0,
    uid: 0,
    probes: 0,
    inode: 0,
    backlogMax: -1,
    attrs: NO_ATTRS,
    infoAt: 0,
    infoLen: 0,
    congAt: 0,
    congLen: 0,
  };
}

/** What a row handler wants next. */
export const NEXT = 0;
/** Stop after this row (e.g. emit() returned false): the parser returns the next line's start. */
export const PAUSE_AFTER = 1;
/** Stop before this row (e.g. a process rescan is needed first): the parser returns its start. */
export const PAUSE_BEFORE = 2;
export type RowAction = typeof NEXT | typeof PAUSE_AFTER | typeof PAUSE_BEFORE;

/** Why a row callback paused the parse; set by the callback, handled between parse calls. */
export interface ParsePause {
  /** A socket's owner is unknown: rescan the processes, then parse that row again. */
  rescan: boolean;
  /** A sink queue is full: wait until it drained, then go on after that row. */
  blocked: boolean;
}

/**
 * The owner of a socket's inode (undefined: none known, or no owners asked for), or null when the
 * inode is new since the last scan of the processes: then set `pause.rescan` and the row is to be
 * parsed again after the rescan (PAUSE_BEFORE).
 */
export function ownerOrRescan(owners: SocketOwners | null, inode: number, pause: ParsePause): SocketOwner | undefined | null {
  if (owners === null) return undefined;
  const owner = owners.get(inode);
  if (owner === undefined && inode !== 0 && owners.needsRescan(inode)) {
    pause.rescan = true;
    return null;
  }
  return owner;
}

/**
 * Feeds line-aligned chunks to a pausable parser (`parse(chunk, pos)` returns where it stopped),
 * resolving each pause before resuming, and yields to the event loop after every chunk so that
 * sinks write this chunk's events before the next: events then die young (cheap GC, flat RSS).
 */
export async function parseChunksPausably(
  chunks: AsyncIterable<Buffer>,
  parse: (chunk: Buffer, pos: number) => number,
  pause: ParsePause,
  resume: { rescan(): Promise<void>; drained(): Promise<void> },
): Promise<void> {
  for await (const chunk of chunks) {
    let pos = 0;
    while (pos < chunk.length) {
      pos = parse(chunk, pos);
      if (pause.rescan) {
        pause.rescan = false;
        await resume.rescan();
      }
      if (pause.blocked) {
        pause.blocked = false;
        await resume.drained();
      }
    }
    await yieldToLoop();
  }
}

export interface InetParseOptions {
  /** true for tcp6/udp6 (32-digit addresses). */
  readonly v6: boolean;
  /** Only rows whose state has a non-zero entry are handed on (indexed by state number); null: all. */
  readonly stateMask: Uint8Array | null;
}

const SP = 32;
const NL = 10;
const COLON = 58;

/** Cursor of the field readers below (module state: no allocation, no closures). */
let at = 0;

/** Fixed-width hex field of exactly n digits at `at`; -1 when malformed. */
function hexField(buf: Buffer, n: number): number {
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = HEX[buf[at + i]!]!;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  at += n;
  return v;
}

/** Hex digits up to the next non-hex byte (1 to 16 of them); -1 when none. */
function hexVar(buf: Buffer, end: number): number {
  let v = 0;
  const start = at;
  while (at < end) {
    const d = HEX[buf[at]!]!;
    if (d < 0) break;
    v = v * 16 + d;
    at++;
  }
  return at === start || at - start > 16 ? -1 : v;
}

/** Skips blanks, then reads a decimal (optionally negative); NaN when there is none. */
function decField(buf: Buffer, end: number): number {
  while (at < end && buf[at] === SP) at++;
  let neg = false;
  if (buf[at] === 45) {
    neg = true;
    at++;
  }
  const start = at;
  let v = 0;
  while (at < end) {
    const c = buf[at]! - 48;
    if (c < 0 || c > 9) break;
    v = v * 10 + c;
    at++;
  }
  if (at === start) return NaN;
  return neg ? -v : v;
}

/**
 * Parses one line [s, e) into row. Returns 1 for a row, 0 for a header or blank line, -1 when
 * malformed, 2 when the row was skipped by the state mask.
 */
function parseLine(buf: Buffer, s: number, e: number, o: InetParseOptions, row: InetRow): number {
  at = s;
  while (at < e && buf[at] === SP) at++;
  if (at === e) return 0;
  if (buf[at] === 115 /* s */) return 0; // the `sl local_address …` header
  const sl = decField(buf, e);
  if (Number.isNaN(sl) || buf[at] !== COLON || buf[at + 1] !== SP) return -1;
  at += 2;
  const alen = o.v6 ? 32 : 8;
  // Fixed layout up to the timer: addr:port addr:port st tx:rx tr:
  if (at + alen * 2 + 36 > e) return -1;
  const local = at;
  at += alen;
  if (buf[at++] !== COLON) return -1;
  const lport = hexField(buf, 4);
  if (lport < 0 || buf[at++] !== SP) return -1;
  const remote = at;
  at += alen;
  if (buf[at++] !== COLON) return -1;
  const rport = hexField(buf, 4);
  if (rport < 0 || buf[at++] !== SP) return -1;
  const state = hexField(buf, 2);
  if (state < 0 || buf[at++] !== SP) return -1;
  const tx = hexField(buf, 8);
  if (tx < 0 || buf[at++] !== COLON) return -1;
  const rx = hexField(buf, 8);
  if (rx < 0 || buf[at++] !== SP) return -1;
  const tr = hexField(buf, 2);
  if (tr < 0 || buf[at++] !== COLON) return -1;
  const when = hexVar(buf, e);
  if (when < 0 || buf[at++] !== SP) return -1;
  const retr = hexVar(buf, e);
  if (retr < 0) return -1;
  const uid = decField(buf, e);
  const probes = decField(buf, e);
  const inode = decField(buf, e);
  // At least one more field (ref) must follow the inode, or the line was cut short.
  if (Number.isNaN(uid) || Number.isNaN(probes) || Number.isNaN(inode) || uid < 0 || inode < 0) return -1;
  if (buf[at] !== SP) return -1;
  while (at < e && buf[at] === SP) at++;
  if (at >= e || buf[at] === NL || buf[at] === 13) return -1;
  if (o.stateMask !== null && o.stateMask[state] !== 1) return 2;
  const words = o.v6 ? 4 : 1;
  for (let w = 0; w < words; w++) {
    at = local + w * 8;
    const l = hexField(buf, 8);
    at = remote + w * 8;
    const r = hexField(buf, 8);
    if (l < 0 || r < 0) return -1;
    row.local[w] = l;
    row.remote[w] = r;
  }
  row.localPort = lport;
  row.remotePort = rport;
  row.state = state;
  row.txQueue = tx;
  row.rxQueue = rx;
  row.timer = tr;
  row.timerTicks = when;
  row.retransmits = retr;
  row.uid = uid;
  row.probes = probes;
  row.inode = inode;
  return 1;
}

export function isBlank(buf: Buffer, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (buf[i] !== SP && buf[i] !== 13) return false;
  return true;
}

/**
 * Parses the lines of `buf` from `start` (a line start) on, calling onRow for each socket row
 * and onBad(lineStart, lineEnd) for each malformed line. Returns where to resume: buf.length
 * when done, or the line start at which onRow asked to pause. A last line without its newline
 * was cut short (the kernel ends every line), so it counts as malformed.
 */
export function parseInetLines(
  buf: Buffer,
  start: number,
  o: InetParseOptions,
  row: InetRow,
  onRow: (row: InetRow) => RowAction,
  onBad: (s: number, e: number) => void,
): number {
  const len = buf.length;
  let s = start;
  while (s < len) {
    const nl = buf.indexOf(NL, s);
    if (nl < 0) {
      // The kernel ends every line with a newline: one without is a truncated read.
      if (!isBlank(buf, s, len)) onBad(s, len);
      return len;
    }
    const r = parseLine(buf, s, nl, o, row);
    if (r === 1) {
      const act = onRow(row);
      if (act === PAUSE_BEFORE) return s;
      if (act === PAUSE_AFTER) return nl + 1 < len ? nl + 1 : len;
    } else if (r === -1) onBad(s, nl);
    s = nl + 1;
  }
  return len;
}

/**
 * Counts sockets per state (counts[state]++) without decoding anything else: the summary path.
 * A line counts when its fixed layout holds (separators where the format puts them and at least
 * the fields up to the inode present); others go to onBad. Header and blank lines are skipped.
 */
export function countInetStates(
  buf: Buffer,
  v6: boolean,
  counts: Float64Array,
  onBad: (s: number, e: number) => void,
): void {
  const len = buf.length;
  const alen = v6 ? 32 : 8;
  // Offsets from the `:` after sl.
  const lsep = 2 + alen; // ':' between local address and port
  const lsp = lsep + 5; // ' ' after the local port
  const rsep = lsp + 1 + alen;
  const rsp = rsep + 5;
  const st = rsp + 1; // state, 2 hex digits
  // After the state: " tx:rx" 18, " tr:when" 12, " retr" 9, " uid" ≥6, " timeout" ≥9, " inode ref" ≥4.
  const minLen = st + 2 + 58;
  let s = 0;
  while (s < len) {
    const nl = buf.indexOf(NL, s);
    if (nl < 0) {
      if (!isBlank(buf, s, len)) onBad(s, len);
      return;
    }
    let p = s;
    while (p < nl && buf[p] === SP) p++;
    if (p === nl || buf[p] === 115 /* header */) {
      s = nl + 1;
      continue;
    }
    while (p < nl && buf[p]! >= 48 && buf[p]! <= 57) p++;
    if (
      nl - p >= minLen &&
      buf[p] === COLON &&
      buf[p + 1] === SP &&
      buf[p + lsep] === COLON &&
      buf[p + lsp] === SP &&
      buf[p + rsep] === COLON &&
      buf[p + rsp] === SP &&
      buf[p + st + 2] === SP
    ) {
      const hi = HEX[buf[p + st]!]!;
      const lo = HEX[buf[p + st + 1]!]!;
      if (hi >= 0 && lo >= 0) counts[hi * 16 + lo]!++;
      else onBad(s, nl);
    } else onBad(s, nl);
    s = nl + 1;
  }
}

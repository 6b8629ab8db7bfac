/**
 * /proc/net/unix, parsed over bytes (pure, no I/O). One socket per line (net/unix/af_unix.c):
 *   `%pK: %08X %08X %08X %04X %02X %5lu[ path]`  Num RefCount Protocol Flags Type St Inode Path
 * The path is the rest of the line: `@name` for an abstract socket (the kernel prints each NUL
 * of the name as `@`), none for an unnamed one. Texts are netstat -x's (net-tools unix_do_one).
 */
import { HEX } from '../../../src/collect/inet-address.js';
import { isBlank, PAUSE_AFTER, PAUSE_BEFORE, type RowAction } from '../../../src/collect/inet-sockets.js';

export const SO_ACCEPTCON = 1 << 16;
export const SO_WAITDATA = 1 << 17;
export const SO_NOSPACE = 1 << 18;

const TYPE_NAMES: Record<number, string> = { 1: 'STREAM', 2: 'DGRAM', 3: 'RAW', 4: 'RDM', 5: 'SEQPACKET' };
/** Every type name netstat prints. */
export const UNIX_TYPES = ['STREAM', 'DGRAM', 'RAW', 'RDM', 'SEQPACKET', 'UNKNOWN'] as const;
/**
 * State names for the `states` filter: netstat's texts, plus UNCONNECTED for the sockets netstat
 * prints no state for (unconnected, not listening: e.g. a bound DGRAM socket).
 */
export const UNIX_STATES = ['LISTENING', 'CONNECTED', 'CONNECTING', 'DISCONNECTING', 'FREE', 'UNCONNECTED', 'UNKNOWN'] as const;

export function unixTypeName(type: number): string {
  return TYPE_NAMES[type] ?? 'UNKNOWN';
}

/** netstat -x's state text ("" for an unconnected socket that is not listening). */
export function unixStateName(state: number, flags: number): string {
  switch (state) {
    case 0:
      return 'FREE';
    case 1:
      return flags & SO_ACCEPTCON ? 'LISTENING' : '';
    case 2:
      return 'CONNECTING';
    case 3:
      return 'CONNECTED';
    case 4:
      return 'DISCONNECTING';
    default:
      return 'UNKNOWN';
  }
}

/** netstat -x's flags column as a list: `[ ACC W N ]` → ['ACC', 'W', 'N']. */
export function unixFlagNames(flags: number): string[] {
  const out: string[] = [];
  if (flags & SO_ACCEPTCON) out.push('ACC');
  if (flags & SO_WAITDATA) out.push('W');
  if (flags & SO_NOSPACE) out.push('N');
  return out;
}

export interface UnixRow {
  refcnt: number;
  protocol: number;
  flags: number;
  type: number;
  state: number;
  inode: number;
  /** The path's bytes are buf[pathStart, pathEnd); equal when there is none. */
  pathStart: number;
  pathEnd: number;
}

export function newUnixRow(): UnixRow {
  return { refcnt: 0, protocol: 0, flags: 0, type: 0, state: 0, inode: 0, pathStart: 0, pathEnd: 0 };
}

function hexRun(buf: Buffer, at: number, n: number): number {
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = HEX[buf[at + i]!]!;
    if (d === undefined || d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/** Parses line [s, e): 1 = row, 0 = header/blank, -1 = malformed. */
export function parseUnixLine(buf: Buffer, s: number, e: number, row: UnixRow): number {
  let p = s;
  if (p === e) return 0;
  if (buf[p] === 78 /* N */) return 0; // `Num RefCount …` header
  while (p < e && HEX[buf[p]!]! >= 0) p++;
  if (p === s || p - s > 16 || buf[p] !== 58 || buf[p + 1] !== 32) return -1;
  p += 2;
  // refcnt protocol flags (8 hex each) type (4) state (2), space-separated: 35 bytes, then " inode"
  if (e - p < 37) return -1;
  const refcnt = hexRun(buf, p, 8);
  const protocol = hexRun(buf, p + 9, 8);
  const flags = hexRun(buf, p + 18, 8);
  const type = hexRun(buf, p + 27, 4);
  const state = hexRun(buf, p + 32, 2);
  if (
    refcnt < 0 || protocol < 0 || flags < 0 || type < 0 || state < 0 ||
    buf[p + 8] !== 32 || buf[p + 17] !== 32 || buf[p + 26] !== 32 || buf[p + 31] !== 32 || buf[p + 34] !== 32
  ) {
    return -1;
  }
  p += 35;
  while (p < e && buf[p] === 32) p++;
  const d0 = p;
  let inode = 0;
  while (p < e) {
    const c = buf[p]! - 48;
    if (c < 0 || c > 9) break;
    inode = inode * 10 + c;
    p++;
  }
  if (p === d0) return -1;
  let pathStart = p;
  let pathEnd = p;
  if (p < e) {
    if (buf[p] !== 32 || p + 1 === e) return -1;
    pathStart = p + 1;
    pathEnd = e;
    if (buf[pathEnd - 1] === 13) pathEnd--;
  }
  row.refcnt = refcnt;
  row.protocol = protocol;
  row.flags = flags;
  row.type = type;
  row.state = state;
  row.inode = inode;
  row.pathStart = pathStart;
  row.pathEnd = pathEnd;
  return 1;
}

/**
 * Parses the lines of buf from `start`, calling onRow per socket and onBad per malformed line.
 * Returns buf.length when done, or where to resume when onRow asked to pause (PAUSE_AFTER: the
 * next line; PAUSE_BEFORE: this row's line again). A last line without its newline is truncated, hence malformed.
 */
export function parseUnixLines(
  buf: Buffer,
  start: number,
  row: UnixRow,
  onRow: (row: UnixRow) => RowAction,
  onBad: (s: number, e: number) => void,
): number {
  const len = buf.length;
  let s = start;
  while (s < len) {
    const nl = buf.indexOf(10, s);
    if (nl < 0) {
      // The kernel ends every line with a newline: one without is a truncated read.
      if (!isBlank(buf, s, len)) onBad(s, len);
      return len;
    }
    const r = parseUnixLine(buf, s, nl, row);
    if (r === 1) {
      const act = onRow(row);
      if (act === PAUSE_BEFORE) return s;
      if (act === PAUSE_AFTER) return nl + 1;
    } else if (r === -1) onBad(s, nl);
    s = nl + 1;
  }
  return len;
}

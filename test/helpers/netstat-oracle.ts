/**
 * Parses what `netstat` prints (the oracle of the socket collector tests) into rows, and maps
 * collector events to the same row shape. tableRows() is the table walk that the other
 * collectors' oracles (oracle.test-util.ts beside each collector) share.
 * Column layout per flag set, as net-tools prints it:
 *   -tanu[W]: Proto Recv-Q Send-Q Local Foreign State (-w raw: the state as its number;
 *             -U udplite: Proto `udpl`, `udpl6`)
 *   -e adds:  User Inode          -p adds: PID/Program name ("-" when unknown)
 *   -o adds:  Timer, e.g. `off (0.00/0/0)` (two tokens)
 *   -xa:      Proto RefCnt Flags(`[ ACC ]`) Type State I-Node [PID/Program] Path
 */
import type { CollectedEvent } from './collect.js';

export interface InetToolRow {
  proto: string; // tcp, tcp6, udp, udp6, udpl, udpl6, raw, raw6
  recvQ: number;
  sendQ: number;
  local: string; // ip:port as netstat prints it, `*` for port 0
  foreign: string;
  state: string; // "" for unconnected UDP and UDP-Lite; raw: the number (7 = CLOSE)
  user?: string;
  inode?: number;
  pid?: number; // undefined for "-"
  program?: string;
  timer?: { name: string; expires: number; retransmits: number; probes: number };
}

/**
 * The fields, split at ASCII spaces, of each non-blank line after the first line that starts with
 * `header` (a table's column titles, or netstat -g's `-----` rule); throws naming `command`
 * when there is no such line. The tools pad with spaces; a name may hold other whitespace (U+3000).
 */
export function tableRows(out: string, header: string, command: string): string[][] {
  const lines = out.split('\n');
  const start = lines.findIndex((l) => l.startsWith(header));
  if (start < 0) throw new Error(`unexpected ${command} output:\n${out}`);
  return lines.slice(start + 1).filter((l) => /[^ ]/.test(l)).map((l) => l.replace(/^ +| +$/g, '').split(/ +/));
}

const TCP_STATE_WORDS = new Set([
  'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT',
  'LAST_ACK', 'LISTEN', 'CLOSING', 'UNKNOWN',
]);

/** Rows of `netstat -tanu` with any of -e, -p, -o (say which, in that column order). */
export function parseNetstatInet(text: string, cols: { e?: boolean; p?: boolean; o?: boolean } = {}): InetToolRow[] {
  const rows: InetToolRow[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim().split(/\s+/);
    if (!/^(tcp|udpl?|raw)6?$/.test(t[0] ?? '')) continue;
    const row: InetToolRow = {
      proto: t[0]!,
      recvQ: Number(t[1]),
      sendQ: Number(t[2]),
      local: t[3]!,
      foreign: t[4]!,
      state: '',
    };
    let i = 5;
    if (TCP_STATE_WORDS.has(t[i] ?? '') || (row.proto.startsWith('raw') && /^\d+$/.test(t[i] ?? ''))) row.state = t[i++]!;
    if (cols.e) {
      row.user = t[i++]!;
      row.inode = Number(t[i++]);
    }
    if (cols.p) {
      const pp = t[i++]!;
      if (pp !== '-') {
        const slash = pp.indexOf('/');
        row.pid = Number(pp.slice(0, slash));
        row.program = pp.slice(slash + 1);
      }
    }
    if (cols.o) {
      const name = t[i++]!;
      const m = /^\(([\d.]+)\/(\d+)\/(-?\d+)\)$/.exec(t[i++] ?? '');
      if (!m) throw new Error(`bad timer in: ${line}`);
      row.timer = { name, expires: Number(m[1]), retransmits: Number(m[2]), probes: Number(m[3]) };
    }
    rows.push(row);
  }
  return rows;
}

/** netstat's `ip:port` text (`*` for port 0). */
export function hostPort(ip: unknown, port: unknown): string {
  return `${String(ip)}:${port === 0 ? '*' : String(port)}`;
}

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** netstat's Proto column per network.transport. */
const NETSTAT_PROTO: Record<string, string> = { udplite: 'udpl' };
/** The state number netstat -w prints for a raw socket's state name. */
const RAW_STATE: Record<string, string> = { ESTABLISHED: '1', CLOSE: '7' };

/** The state netstat prints for a socket event's state: TCP's name, blank or a number for the others. */
export function netstatState(transport: string, state: string): string {
  if (transport === 'raw') return RAW_STATE[state] ?? state;
  if (transport !== 'tcp' && state === 'CLOSE') return ''; // netstat prints UDP states but ESTABLISHED as blank
  return state;
}

/** A {tcp,udp,udplite,raw}.socket event as the row netstat -tanuUw would print for it. */
export function inetEventRow(ev: CollectedEvent): InetToolRow {
  const f = ev.fields as Obj;
  const transport = f.network.transport as string;
  // The table the socket came from: network.type is ipv4 for a tcp6 socket with a v4-mapped peer.
  const v6 = f.socket.family === 'ipv6';
  const proto = (NETSTAT_PROTO[transport] ?? transport) + (v6 ? '6' : '');
  const state = netstatState(transport, f.socket.state as string);
  const row: InetToolRow = {
    proto,
    recvQ: f.socket.recv_q,
    sendQ: f.socket.send_q,
    local: hostPort(f.source.ip, f.source.port),
    // No destination: the socket has no peer, which netstat prints as the family's wildcard.
    foreign: f.destination ? hostPort(f.destination.ip, f.destination.port) : v6 ? ':::*' : '0.0.0.0:*',
    state,
    user: f.user?.id,
    inode: f.socket.inode,
  };
  if (f.process) {
    row.pid = f.process.pid;
    row.program = f.process.name;
  }
  if (f.socket.timer) {
    row.timer = {
      name: f.socket.timer.name,
      expires: f.socket.timer.expires_s,
      retransmits: f.socket.timer.retransmits,
      probes: f.socket.timer.probes,
    };
  }
  return row;
}

/** A stable sort key for comparing row sets (address, ports, state, inode). */
export function rowKey(r: Pick<InetToolRow, 'proto' | 'local' | 'foreign' | 'state'>): string {
  return `${r.proto} ${r.local} ${r.foreign} ${r.state}`;
}

export interface UnixToolRow {
  refcnt: number;
  flags: string[];
  type: string;
  state: string;
  inode: number;
  pid?: number;
  program?: string;
  path: string;
}

/** Rows of `netstat -xa` (with `p: true` for -xap). Paths are taken as the rest of the line. */
export function parseNetstatUnix(text: string, cols: { p?: boolean } = {}): UnixToolRow[] {
  const rows: UnixToolRow[] = [];
  const types = new Set(['STREAM', 'DGRAM', 'SEQPACKET', 'RAW', 'RDM', 'UNKNOWN']);
  for (const line of text.split('\n')) {
    if (!line.startsWith('unix ')) continue;
    const m = /^unix\s+(\d+)\s+\[ ((?:\w+ )*)\]\s+(\S+)\s+(.*)$/.exec(line);
    if (!m || !types.has(m[3]!)) throw new Error(`bad netstat -x line: ${line}`);
    let rest = m[4]!;
    let state = '';
    const sm = /^([A-Z]+)\s+(.*)$/.exec(rest);
    if (sm) {
      state = sm[1]!;
      rest = sm[2]!;
    }
    const im = /^(\d+)\s*(.*)$/.exec(rest);
    if (!im) throw new Error(`no inode in: ${line}`);
    rest = im[2]!;
    const row: UnixToolRow = {
      refcnt: Number(m[1]),
      flags: m[2]!.trim() === '' ? [] : m[2]!.trim().split(' '),
      type: m[3]!,
      state,
      inode: Number(im[1]),
      path: '',
    };
    if (cols.p) {
      const pm = /^(\S+)\s*(.*)$/.exec(rest)!;
      if (pm[1] !== '-') {
        const slash = pm[1]!.indexOf('/');
        row.pid = Number(pm[1]!.slice(0, slash));
        row.program = pm[1]!.slice(slash + 1);
      }
      rest = pm[2]!;
    }
    row.path = rest.trimEnd();
    rows.push(row);
  }
  return rows;
}

/** A unix.socket event's fields as the row netstat -xa(p) would print. */
export function unixEventRow(fields: Obj): UnixToolRow {
  const row: UnixToolRow = {
    refcnt: fields.socket.refcnt,
    flags: fields.socket.flags,
    type: fields.socket.type,
    state: fields.socket.state,
    inode: fields.socket.inode,
    path: fields.unix?.path ?? '', // an unnamed socket has no unix.path
  };
  if (fields.process) {
    row.pid = fields.process.pid;
    row.program = fields.process.name;
  }
  return row;
}

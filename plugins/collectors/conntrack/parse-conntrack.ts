/**
 * The connection tracking files of a network namespace, as the kernel's nf_conntrack writes them.
 * Pure functions over the text.
 *
 * /proc/net/stat/nf_conntrack (ct_cpu_seq_show): a header line naming the columns, then one line
 * per possible CPU, every value `%08x` (u32). The first column, `entries`, is the namespace's
 * table size (the same on every line); the rest are per-CPU counters whose set changed with the
 * kernel: up to 5.x `searched … delete_list …`, since 5.x/6.x `clashres … chainlength …`; columns
 * a kernel keeps only for compatibility print 0. The header is the key, so the names are the ones
 * the writing kernel gave.
 *
 * /proc/net/nf_conntrack (ct_seq_show), one entry per line:
 *   `ipv4 2 tcp 6 431999 ESTABLISHED src=… dst=… sport=… dport=… [packets=… bytes=…] [UNREPLIED]
 *    src=… dst=… sport=… dport=… [packets=… bytes=…] [OFFLOAD|HW_OFFLOAD] [ASSURED] [mark=…]
 *    [secctx=…] [zone=…] [delta-time=…] use=…`
 * The state word is printed only by protocols that have one (tcp, sctp, dccp); ICMP tuples carry
 * `type= code= id=` instead of ports, GRE `srckey= dstkey=`. The second `src=` starts the reply
 * tuple. IPv6 addresses are printed in full (`%pI6`) and given here as inet_ntop prints them.
 */
import { hexToIPv6 } from '../../../src/collect/inet-address.js';
import { MalformedTally } from '../../../src/collect/malformed.js';
import { blankFields } from '../../../src/collect/proc-text.js';

export interface ConntrackStat {
  /** The column names after `entries`, as the header gives them. */
  columns: string[];
  /** `entries`: the namespace's table size now; null without such a column. */
  count: number | null;
  /** Per CPU line (in file order: the possible CPUs ascending), the counters by name. */
  cpus: [string, number][][];
  malformed: MalformedTally;
}

const HEX8 = /^[0-9a-fA-F]{1,8}$/;
const NAME = /^[a-z_][a-z0-9_]*$/;

export function parseConntrackStat(text: string): ConntrackStat {
  const malformed = new MalformedTally();
  const lines = text.split('\n').filter((l) => blankFields(l).length > 0);
  const header = blankFields(lines[0] ?? '');
  const cpus: [string, number][][] = [];
  let count: number | null = null;
  if (header.length === 0 || !header.every((h) => NAME.test(h))) {
    if (lines.length > 0) malformed.add(lines[0]!);
    return { columns: [], count, cpus, malformed };
  }
  const entriesAt = header.indexOf('entries');
  for (const line of lines.slice(1)) {
    const f = blankFields(line);
    if (f.length !== header.length || !f.every((v) => HEX8.test(v))) {
      malformed.add(line);
      continue;
    }
    const row: [string, number][] = [];
    f.forEach((v, i) => {
      if (i === entriesAt) count ??= parseInt(v, 16);
      else row.push([header[i]!, parseInt(v, 16)]);
    });
    cpus.push(row);
  }
  return { columns: header.filter((_, i) => i !== entriesAt), count, cpus, malformed };
}

/** One direction of a connection. */
export interface ConntrackTuple {
  source: { ip: string; port?: number };
  destination: { ip: string; port?: number };
  /** ICMP / ICMPv6 tuples. */
  icmp?: { type: number; code: number; id: number };
  /** GRE keys. */
  gre?: { source_key: number; destination_key: number };
  /** With net.netfilter.nf_conntrack_acct = 1. */
  packets?: number;
  bytes?: number;
}

export interface ConntrackEntry {
  family: string;
  /** The l4 protocol's name as the kernel prints it (`tcp`, `udp`, `icmp`, `unknown`…) and number. */
  transport: string;
  protocol: number;
  /** Seconds until the entry expires. */
  timeout: number;
  /** TCP, SCTP, DCCP: the protocol state (`ESTABLISHED`, `TIME_WAIT`…). */
  state?: string;
  original: ConntrackTuple;
  reply: ConntrackTuple;
  /** The bracketed words: UNREPLIED, ASSURED, OFFLOAD, HW_OFFLOAD. */
  flags: string[];
  mark?: number;
  zone?: number;
  use?: number;
  secctx?: string;
  /** Seconds since the entry was made (`delta-time`, with nf_conntrack_timestamp = 1). */
  age?: number;
  /** key=value pairs this parser does not know, kept as printed. */
  other?: Record<string, string>;
}

const FAMILIES: Record<string, string> = { ipv4: 'ipv4', ipv6: 'ipv6' };
const STATE = /^[A-Z][A-Z0-9_]*$/;
const DEC = /^\d+$/;

function address(text: string): string | null {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) return text;
  const groups = text.split(':');
  if (groups.length === 8 && groups.every((g) => /^[0-9a-fA-F]{4}$/.test(g))) return hexToIPv6(groups.join(''));
  return null;
}

/** One line of /proc/net/nf_conntrack, or null when it is not one. */
export function parseConntrackLine(line: string): ConntrackEntry | null {
  const f = blankFields(line);
  if (f.length < 7 || !DEC.test(f[1]!) || !DEC.test(f[3]!) || !/^-?\d+$/.test(f[4]!)) return null;
  const entry: ConntrackEntry = {
    family: FAMILIES[f[0]!] ?? f[0]!,
    transport: f[2]!,
    protocol: Number(f[3]),
    timeout: Number(f[4]),
    original: { source: { ip: '' }, destination: { ip: '' } },
    reply: { source: { ip: '' }, destination: { ip: '' } },
    flags: [],
  };
  let i = 5;
  if (STATE.test(f[i]!)) entry.state = f[i++]!;
  const tuples = [entry.original, entry.reply];
  let dir = -1;
  const icmp: Partial<Record<'type' | 'code' | 'id', number>>[] = [{}, {}];
  const gre: Partial<Record<'srckey' | 'dstkey', number>>[] = [{}, {}];
  for (; i < f.length; i++) {
    const tok = f[i]!;
    if (tok.startsWith('[') && tok.endsWith(']')) {
      entry.flags.push(tok.slice(1, -1));
      continue;
    }
    const eq = tok.indexOf('=');
    if (eq <= 0) return null;
    const key = tok.slice(0, eq);
    const value = tok.slice(eq + 1);
    if (key === 'src') {
      if (++dir > 1) return null;
    }
    const t = tuples[dir];
    const num = DEC.test(value) ? Number(value) : NaN;
    switch (key) {
      case 'src':
      case 'dst': {
        const ip = address(value);
        if (ip === null || t === undefined) return null;
        (key === 'src' ? t.source : t.destination).ip = ip;
        break;
      }
      case 'sport':
      case 'dport':
        if (t === undefined || Number.isNaN(num)) return null;
        (key === 'sport' ? t.source : t.destination).port = num;
        break;
      case 'type':
      case 'code':
      case 'id':
        if (t === undefined || Number.isNaN(num)) return null;
        icmp[dir]![key] = num;
        break;
      case 'srckey':
      case 'dstkey':
        if (t === undefined || !/^0x[0-9a-fA-F]+$|^\d+$/.test(value)) return null;
        gre[dir]![key] = Number(value);
        break;
      case 'packets':
      case 'bytes':
        if (t === undefined || Number.isNaN(num)) return null;
        t[key] = num;
        break;
      case 'mark':
      case 'zone':
      case 'use':
        if (Number.isNaN(num)) return null;
        entry[key] = num;
        break;
      case 'secctx':
        entry.secctx = value;
        break;
      case 'delta-time':
        if (Number.isNaN(num)) return null;
        entry.age = num;
        break;
      default:
        (entry.other ??= {})[key] = value;
    }
  }
  if (dir !== 1 || !entry.original.source.ip || !entry.original.destination.ip || !entry.reply.source.ip || !entry.reply.destination.ip) return null;
  for (const d of [0, 1]) {
    const c = icmp[d]!;
    if (c.type !== undefined && c.code !== undefined && c.id !== undefined) tuples[d]!.icmp = { type: c.type, code: c.code, id: c.id };
    const g = gre[d]!;
    if (g.srckey !== undefined && g.dstkey !== undefined) tuples[d]!.gre = { source_key: g.srckey, destination_key: g.dstkey };
  }
  return entry;
}

/**
 * How the reply tuple differs from the reversed original, as `netstat -M` (masquerade) and
 * `conntrack -L --src-nat/--dst-nat` tell: the reply goes to another address or port than the
 * original came from (source NAT), or comes from another than it went to (destination NAT).
 */
export function natKind(e: ConntrackEntry): 'snat' | 'dnat' | 'snat+dnat' | null {
  const same = (a: { ip: string; port?: number }, b: { ip: string; port?: number }) => a.ip === b.ip && a.port === b.port;
  const snat = !same(e.reply.destination, e.original.source);
  const dnat = !same(e.reply.source, e.original.destination);
  return snat && dnat ? 'snat+dnat' : snat ? 'snat' : dnat ? 'dnat' : null;
}

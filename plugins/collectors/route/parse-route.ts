/**
 * /proc/net/route and /proc/net/ipv6_route, decoded as `netstat -rn` and `netstat -rn -A inet6`
 * (net-tools 2.10) print them. Pure functions over the file text.
 */
import { hexToIPv4, hexToIPv4Number, hexToIPv6, maskToPrefix } from '../../../src/collect/inet-address.js';
import { MalformedTally } from '../../../src/collect/malformed.js';
import { blankFields } from '../../../src/collect/proc-text.js';

// <linux/route.h> and <linux/ipv6_route.h>
const RTF_UP = 0x0001;
const RTF_GATEWAY = 0x0002;
const RTF_HOST = 0x0004;
const RTF_REINSTATE = 0x0008;
const RTF_DYNAMIC = 0x0010;
const RTF_MODIFIED = 0x0020;
const RTF_MTU = 0x0040;
const RTF_WINDOW = 0x0080;
const RTF_IRTT = 0x0100;
const RTF_REJECT = 0x0200;
const RTF_DEFAULT = 0x00010000;
const RTF_ALLONLINK = 0x00020000;
const RTF_ADDRCONF = 0x00040000;
const RTF_NONEXTHOP = 0x00200000;
const RTF_EXPIRES = 0x00400000;
const RTF_CACHE = 0x01000000;
const RTF_FLOW = 0x02000000;
const RTF_POLICY = 0x04000000;
const RTF_LOCAL = 0x80000000;

/** The Flags column of `netstat -rn` (lib/inet_gr.c): a reject route shows `!` alone, then H…. */
export function ipv4RouteFlags(f: number): string {
  let s = '';
  if (f & RTF_UP) s += 'U';
  if (f & RTF_GATEWAY) s += 'G';
  if (f & RTF_REJECT) s = '!';
  const tail: [number, string][] = [
    [RTF_HOST, 'H'], [RTF_REINSTATE, 'R'], [RTF_DYNAMIC, 'D'], [RTF_MODIFIED, 'M'],
    [RTF_DEFAULT, 'd'], [RTF_ALLONLINK, 'a'], [RTF_ADDRCONF, 'c'], [RTF_NONEXTHOP, 'o'],
    [RTF_EXPIRES, 'e'], [RTF_CACHE, 'c'], [RTF_FLOW, 'f'], [RTF_POLICY, 'p'],
    [RTF_LOCAL >>> 0, 'l'], [RTF_MTU, 'u'], [RTF_WINDOW, 'w'], [RTF_IRTT, 'i'],
  ];
  for (const [bit, c] of tail) if ((f & bit) >>> 0) s += c;
  return s;
}

/** The Flag column of `netstat -rn -A inet6` (lib/inet6_gr.c). */
export function ipv6RouteFlags(f: number): string {
  const letters: [number, string][] = [
    [RTF_UP, 'U'], [RTF_REJECT, '!'], [RTF_GATEWAY, 'G'], [RTF_HOST, 'H'], [RTF_DEFAULT, 'D'],
    [RTF_ADDRCONF, 'A'], [RTF_CACHE, 'C'], [RTF_ALLONLINK, 'a'], [RTF_EXPIRES, 'e'],
    [RTF_MODIFIED, 'm'], [RTF_NONEXTHOP, 'n'], [RTF_FLOW, 'f'],
  ];
  let s = '';
  for (const [bit, c] of letters) if (f & bit) s += c;
  return s;
}

/** netstat prints these u32 fields with %d. */
const signed32 = (n: number): number => (n > 0x7fffffff ? n - 0x100000000 : n);

export interface Ipv4Route {
  destination: string; // CIDR
  gateway: string;
  genmask: string;
  flags: string;
  rawFlags: number;
  metric: number;
  refcnt: number;
  use: number;
  mss: number;
  window: number;
  irtt: number;
  iface: string | null; // null when the kernel prints `*` (no device)
}

export interface Ipv6Route {
  destination: string; // CIDR
  source: string; // CIDR, `::/0` unless source routing
  gateway: string;
  flags: string;
  rawFlags: number;
  metric: number;
  refcnt: number;
  use: number;
  iface: string;
}

export interface Parsed<T> {
  rows: T[];
  malformed: MalformedTally;
}

const V4_COLUMNS = ['Iface', 'Destination', 'Gateway', 'Flags', 'RefCnt', 'Use', 'Metric', 'Mask', 'MTU', 'Window', 'IRTT'];
const DEC = /^-?\d+$/;
const HEX = /^[0-9A-Fa-f]+$/;

/**
 * /proc/net/route: the main table only (see README). Columns are found by the header names, as
 * net-tools does. Routes without RTF_UP are skipped, as netstat does.
 */
export function parseIpv4Routes(text: string, littleEndian?: boolean): Parsed<Ipv4Route> {
  const malformed = new MalformedTally();
  const rows: Ipv4Route[] = [];
  const lines = text.split('\n');
  const header = blankFields(lines[0] ?? '');
  const col = new Map(header.map((h, i) => [h, i]));
  if (!V4_COLUMNS.every((c) => col.has(c))) {
    if (text.trim() !== '') malformed.add(lines[0] ?? '');
    return { rows, malformed };
  }
  const at = (f: string[], name: string): string => f[col.get(name)!] ?? '';
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const f = blankFields(line);
    const dest = hexToIPv4(at(f, 'Destination'), littleEndian);
    const gw = hexToIPv4(at(f, 'Gateway'), littleEndian);
    const maskText = at(f, 'Mask');
    const mask = hexToIPv4Number(maskText, littleEndian);
    const flagsHex = at(f, 'Flags');
    const nums = ['RefCnt', 'Use', 'Metric', 'MTU', 'Window', 'IRTT'].map((c) => at(f, c));
    const prefix = mask === null ? null : maskToPrefix(mask);
    if (
      f.length < header.length || dest === null || gw === null || prefix === null ||
      !HEX.test(flagsHex) || !nums.every((n) => DEC.test(n))
    ) {
      malformed.add(line);
      continue;
    }
    const rawFlags = parseInt(flagsHex, 16);
    if (!(rawFlags & RTF_UP)) continue;
    const [refcnt, use, metric, mss, window, irtt] = nums.map((n) => signed32(Number(n)));
    const iface = at(f, 'Iface');
    rows.push({
      destination: `${dest}/${prefix}`,
      gateway: gw,
      genmask: hexToIPv4(maskText, littleEndian)!,
      flags: ipv4RouteFlags(rawFlags),
      rawFlags,
      metric: metric!,
      refcnt: refcnt!,
      use: use!,
      mss: mss!,
      window: window!,
      irtt: irtt!,
      iface: iface === '*' ? null : iface,
    });
  }
  return { rows, malformed };
}

/**
 * /proc/net/ipv6_route: every route of every table the kernel lists there, except routing cache
 * entries (RTF_CACHE), which `netstat -rn -A inet6` leaves out too (they are its -C view).
 */
export function parseIpv6Routes(text: string): Parsed<Ipv6Route> {
  const malformed = new MalformedTally();
  const rows: Ipv6Route[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const f = blankFields(line);
    const dest = hexToIPv6(f[0] ?? '');
    const src = hexToIPv6(f[2] ?? '');
    const gw = hexToIPv6(f[4] ?? '');
    const hex8 = f.slice(5, 9);
    const plen = f[1] ?? '';
    const slen = f[3] ?? '';
    if (
      f.length !== 10 || dest === null || src === null || gw === null ||
      !/^[0-9a-fA-F]{2}$/.test(plen) || !/^[0-9a-fA-F]{2}$/.test(slen) ||
      !hex8.every((h) => /^[0-9a-fA-F]{8}$/.test(h))
    ) {
      malformed.add(line);
      continue;
    }
    const [metric, refcnt, use, rawFlags] = hex8.map((h) => parseInt(h, 16));
    if (rawFlags! & RTF_CACHE) continue;
    rows.push({
      destination: `${dest}/${parseInt(plen, 16)}`,
      source: `${src}/${parseInt(slen, 16)}`,
      gateway: gw,
      flags: ipv6RouteFlags(rawFlags!),
      rawFlags: rawFlags!,
      metric: signed32(metric!),
      refcnt: signed32(refcnt!),
      use: signed32(use!),
      iface: f[9]!,
    });
  }
  return { rows, malformed };
}

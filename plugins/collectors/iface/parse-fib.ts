/**
 * IPv4 addresses per interface from what /proc shows of any network namespace, without netlink
 * or ioctls (which Node cannot reach): /proc/net/fib_trie lists the namespace's local addresses
 * (the `/32 host LOCAL` leaves of the Local table, one per address the kernel's fib_add_ifaddr
 * added) but no devices; /proc/net/route lists the main table's routes with their device,
 * including the prefix route the kernel adds beside each address (`10.1.0.0/24 dev eth0`). An
 * address is placed on the device of the longest gateway-less route containing it, with that
 * route's prefix length — what `ip -4 addr` shows for every address that has its prefix route,
 * secondary ones included. Addresses on the loopback device have a LOCAL-type prefix instead
 * (`127.0.0.0 /8 host LOCAL`). Not placeable: /32 addresses, `noprefixroute` ones and the local end
 * of `peer` addresses (no prefix route), and addresses whose prefix route was deleted or moved
 * to another table; see README. Pure functions over the file texts.
 */
import { MalformedTally } from '../../../src/collect/malformed.js';
import { blankFields } from '../../../src/collect/proc-text.js';
import type { Ipv4Route } from '../route/parse-route.js';

const RTF_GATEWAY = 0x0002;

export interface FibLocals {
  /** Local addresses (u32, network order as a number), in file order. */
  addresses: number[];
  /** LOCAL-type prefixes wider than /32: those of addresses on the loopback device. */
  loopbackPrefixes: { net: number; len: number }[];
  malformed: MalformedTally;
}

/** A dotted quad as a u32, or null. */
export function ipv4Number(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return null;
    n = n * 256 + Number(p);
  }
  return n;
}

function dotted(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

const maskOf = (len: number): number => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);

/**
 * The Local table of /proc/net/fib_trie (fib_trie_seq_show): a table name line (`Local:`,
 * `Main:`, `Id 100:`), then the trie, internal nodes as `+-- 10.0.0.0/13 3 1 4`, leaves as
 * `|-- 10.1.0.1` followed by one `/32 host LOCAL` line (`/len scope type[ tos=N]`) per route at
 * that key. Only the Local section is read: since Linux 4.1 an unsplit Main repeats it.
 */
export function parseFibTrieLocals(text: string): FibLocals {
  const malformed = new MalformedTally();
  const addresses: number[] = [];
  const loopbackPrefixes: { net: number; len: number }[] = [];
  let inLocal = false;
  let key: number | null = null;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (!/^[ \t]/.test(line)) {
      inLocal = line === 'Local:';
      key = null;
      continue;
    }
    if (!inLocal) continue;
    const f = blankFields(line);
    if (f[0] === '+--' && f.length >= 2) continue; // internal node
    if (f[0] === '|--' && f.length === 2) {
      key = ipv4Number(f[1]!);
      if (key === null) malformed.add(line);
      continue;
    }
    const len = f[0]?.startsWith('/') ? Number(f[0].slice(1)) : NaN;
    if (key === null || !Number.isInteger(len) || len < 0 || len > 32 || f.length < 3) {
      malformed.add(line);
      continue;
    }
    if (f[2] !== 'LOCAL') continue;
    if (len === 32) addresses.push(key);
    else loopbackPrefixes.push({ net: key, len });
  }
  return { addresses, loopbackPrefixes, malformed };
}

export interface Ipv4Address {
  ip: string;
  prefix_length: number;
  iface: string;
}

/**
 * Places each local address: on `loopback` (the loopback device's name, when known) with the
 * LOCAL prefix containing it, else on the device of the longest gateway-less, non-host route of
 * the main table containing it. `unplaced` are the addresses without such a route, or with
 * several on different devices (one subnet on two interfaces: which address is on which, only
 * the route's preferred source, which /proc does not print, would tell).
 */
export function placeIpv4Addresses(
  fib: FibLocals,
  routes: readonly Ipv4Route[],
  loopback: string | null,
): { rows: Ipv4Address[]; unplaced: string[] } {
  const links: { net: number; len: number; iface: string }[] = [];
  for (const r of routes) {
    if (r.iface === null || r.rawFlags & RTF_GATEWAY) continue;
    const [dest, lenText] = r.destination.split('/');
    const len = Number(lenText);
    const net = ipv4Number(dest!);
    if (net === null || len >= 32) continue;
    links.push({ net, len, iface: r.iface });
  }
  const rows: Ipv4Address[] = [];
  const unplaced: string[] = [];
  const seen = new Set<number>();
  for (const a of fib.addresses) {
    if (seen.has(a)) continue;
    seen.add(a);
    let best: { len: number; iface: string } | null = null;
    let ambiguous = false;
    if (loopback !== null) {
      for (const p of fib.loopbackPrefixes) {
        if (((a & maskOf(p.len)) >>> 0) === p.net && (best === null || p.len > best.len)) best = { len: p.len, iface: loopback };
      }
    }
    if (best === null) {
      for (const l of links) {
        if (((a & maskOf(l.len)) >>> 0) !== l.net) continue;
        if (best === null || l.len > best.len) {
          best = l;
          ambiguous = false;
        } else if (l.len === best.len && l.iface !== best.iface) ambiguous = true;
      }
    }
    if (best === null || ambiguous) unplaced.push(dotted(a));
    else rows.push({ ip: dotted(a), prefix_length: best.len, iface: best.iface });
  }
  return { rows, unplaced };
}

/** The sum of the `Prefixes:` counts of /proc/net/fib_triestat: the routes fib_trie would print; null if none. */
export function fibPrefixCount(text: string): number | null {
  let total: number | null = null;
  for (const m of text.matchAll(/^[ \t]*Prefixes:[ \t]*(\d+)[ \t]*$/gm)) total = (total ?? 0) + Number(m[1]);
  return total;
}

/**
 * /proc/net/dev, /proc/net/if_inet6 and the interface flags, as `netstat -i` / `netstat -ie` show
 * them. Pure functions, no I/O.
 */
import { parseCounter, type CounterValue } from '../../../src/collect/counter-delta.js';
import { hexToIPv6 } from '../../../src/collect/inet-address.js';
import { MalformedTally } from '../../../src/collect/malformed.js';
import { blankFields } from '../../../src/collect/proc-text.js';

const RX = ['bytes', 'packets', 'errs', 'drop', 'fifo', 'frame', 'compressed', 'multicast'] as const;
const TX = ['bytes', 'packets', 'errs', 'drop', 'fifo', 'colls', 'carrier', 'compressed'] as const;

/**
 * Counter names of one interface, flattened as `rx.ok`…: netstat's RX-OK/ERR/DRP/OVR are the
 * file's packets/errs/drop/fifo; the rest keep the file's names (netstat -ie's frame, carrier,
 * collisions).
 */
const NAME: Record<string, string> = { packets: 'ok', errs: 'err', drop: 'drp', fifo: 'ovr' };

export interface DevStats {
  name: string;
  /** `rx.bytes`, `rx.ok`, `rx.err`, `rx.drp`, `rx.ovr`, `rx.frame`, `rx.compressed`, `rx.multicast`, `tx.…` */
  counters: [string, CounterValue][];
}

/**
 * /proc/net/dev: two header lines, then `%6s:%8llu %7llu …` per interface (16 counters). The name
 * ends at the line's last colon: the counters hold none, and names written by older kernels may
 * (alias-style `eth0:0`, `ibr10:30`), which net-tools and node_exporter split the same way. A long
 * name or a wide counter leaves no blank after the colon.
 */
export function parseNetDev(text: string): { rows: DevStats[]; malformed: MalformedTally } {
  const malformed = new MalformedTally();
  const rows: DevStats[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    if (i < 2 && line.includes('|')) continue; // the two header lines
    const c = line.lastIndexOf(':');
    const head = c > 0 ? blankFields(line.slice(0, c)) : [];
    const f = blankFields(line.slice(c + 1));
    const values = f.map(parseCounter);
    if (head.length !== 1 || f.length !== 16 || values.some((v) => v === null)) {
      malformed.add(line);
      continue;
    }
    const name = head[0]!;
    const counters: [string, CounterValue][] = [];
    RX.forEach((k, j) => counters.push([`rx.${NAME[k] ?? k}`, values[j]!]));
    TX.forEach((k, j) => counters.push([`tx.${NAME[k] ?? k}`, values[8 + j]!]));
    rows.push({ name, counters });
  }
  return { rows, malformed };
}

export interface Inet6Address {
  ip: string;
  ifindex: number;
  prefix_length: number;
  /** netstat -ie's scopeid name: global, host, link, site, compat, or the hex value. */
  scope: string;
  iface: string;
}

const SCOPES: Record<number, string> = { 0x00: 'global', 0x10: 'host', 0x20: 'link', 0x40: 'site', 0x80: 'compat' };

/** /proc/net/if_inet6: `address ifindex prefixlen scope flags name` (hex fields, `%pi6 %02x %02x %02x %02x %8s`). */
export function parseIfInet6(text: string): { rows: Inet6Address[]; malformed: MalformedTally } {
  const malformed = new MalformedTally();
  const rows: Inet6Address[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const f = blankFields(line);
    const ip = f.length === 6 ? hexToIPv6(f[0]!) : null;
    if (ip === null || !f.slice(1, 5).every((h) => /^[0-9a-fA-F]+$/.test(h))) {
      malformed.add(line);
      continue;
    }
    const scope = parseInt(f[3]!, 16);
    rows.push({
      ip,
      ifindex: parseInt(f[1]!, 16),
      prefix_length: parseInt(f[2]!, 16),
      scope: SCOPES[scope & 0xf0] ?? `0x${scope.toString(16)}`,
      iface: f[5]!,
    });
  }
  return { rows, malformed };
}

// <linux/if.h>
export const IFF = {
  UP: 0x1, BROADCAST: 0x2, DEBUG: 0x4, LOOPBACK: 0x8, POINTOPOINT: 0x10, NOTRAILERS: 0x20,
  RUNNING: 0x40, NOARP: 0x80, PROMISC: 0x100, ALLMULTI: 0x200, MASTER: 0x400, SLAVE: 0x800,
  MULTICAST: 0x1000, PORTSEL: 0x2000, AUTOMEDIA: 0x4000, DYNAMIC: 0x8000,
} as const;

/** The Flg column of `netstat -i` (net-tools lib/interface.c, ife_print_short) for SIOCGIFFLAGS flags. */
export function flagLetters(flags: number): string {
  if (flags === 0) return '[NO FLAGS]';
  const order: [number, string][] = [
    [IFF.ALLMULTI, 'A'], [IFF.BROADCAST, 'B'], [IFF.DEBUG, 'D'], [IFF.LOOPBACK, 'L'], [IFF.MULTICAST, 'M'],
    [IFF.DYNAMIC, 'd'], [IFF.PROMISC, 'P'], [IFF.NOTRAILERS, 'N'], [IFF.NOARP, 'O'], [IFF.POINTOPOINT, 'P'],
    [IFF.SLAVE, 's'], [IFF.MASTER, 'm'], [IFF.RUNNING, 'R'], [IFF.UP, 'U'],
  ];
  let s = '';
  for (const [bit, c] of order) if (flags & bit) s += c;
  return s;
}

/**
 * The flags SIOCGIFFLAGS reports (what netstat prints), from sysfs: `flags` is dev->flags, where
 * IFF_RUNNING is not kept; the kernel (dev_get_flags) sets it when the device is up and its
 * operational state is up or unknown. So R comes from `operstate`, not from the flags file.
 */
export function ioctlFlags(sysfsFlags: number, operstate: string): number {
  let f = sysfsFlags & ~IFF.RUNNING;
  if (f & IFF.UP && (operstate === 'up' || operstate === 'unknown')) f |= IFF.RUNNING;
  return f;
}

/** netstat -ie's link encapsulation names for the common ARPHRD_ types of /sys/class/net/<if>/type. */
export const LINK_ENCAP: Record<number, string> = {
  1: 'Ethernet', 32: 'InfiniBand', 512: 'Point-to-Point Protocol', 768: 'IPIP Tunnel',
  772: 'Local Loopback', 776: 'IPv6-in-IPv4', 65534: 'UNSPEC',
};

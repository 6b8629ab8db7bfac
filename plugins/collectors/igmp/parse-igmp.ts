/**
 * /proc/net/igmp and /proc/net/igmp6: multicast group memberships as `netstat -gn` prints them.
 * Pure functions over the file text.
 */
import { hexToIPv4, hexToIPv6 } from '../../../src/collect/inet-address.js';
import { MalformedTally } from '../../../src/collect/malformed.js';

export interface Membership {
  family: 'ipv4' | 'ipv6';
  ifindex: number;
  iface: string;
  group: string;
  users: number;
  /** IPv4: the querier version the interface runs (`V1`, `V2`, `V3`). */
  querier?: string;
}

export interface ParsedMemberships {
  rows: Membership[];
  malformed: MalformedTally;
}

// Blanks are the kernel's (spaces, tabs): an interface name may hold other Unicode whitespace.
const DEVICE = /^(\d+)[ \t]+([^ \t]+?)[ \t]*:[ \t]+(\d+)[ \t]+(V\d)[ \t]*$/;
const GROUP = /^[ \t]+([0-9A-Fa-f]{8})[ \t]+(\d+)[ \t]+[0-9A-Fa-f]+:[0-9A-Fa-f]+[ \t]+\d+[ \t]*$/;

/**
 * /proc/net/igmp: a header line, then per interface a device line (`Idx Device : Count Querier`)
 * followed by one indented line per group (`Group Users Timer Reporter`). A group line before any
 * valid device line is malformed.
 */
export function parseIgmp(text: string, littleEndian?: boolean): ParsedMemberships {
  const malformed = new MalformedTally();
  const rows: Membership[] = [];
  let dev: { ifindex: number; iface: string; querier: string } | null = null;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    if (i === 0 && line.startsWith('Idx')) continue;
    const d = DEVICE.exec(line);
    if (d) {
      dev = { ifindex: Number(d[1]), iface: d[2]!, querier: d[4]! };
      continue;
    }
    const g = GROUP.exec(line);
    const group = g ? hexToIPv4(g[1]!, littleEndian) : null;
    if (!g || group === null || dev === null) {
      malformed.add(line);
      // a broken device line makes its group lines unattributable: skip them too
      if (!/^[ \t]/.test(line)) dev = null;
      continue;
    }
    rows.push({ family: 'ipv4', ifindex: dev.ifindex, iface: dev.iface, group, users: Number(g[2]), querier: dev.querier });
  }
  return { rows, malformed };
}

const GROUP6 = /^(\d+)[ \t]+([^ \t]+)[ \t]+([0-9A-Fa-f]{32})[ \t]+(\d+)[ \t]+[0-9A-Fa-f]+[ \t]+\d+[ \t]*$/;

/** /proc/net/igmp6: `Idx Device Group(hex) Users Flags Timer` per line, no header. */
export function parseIgmp6(text: string): ParsedMemberships {
  const malformed = new MalformedTally();
  const rows: Membership[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const m = GROUP6.exec(line);
    if (!m) {
      malformed.add(line);
      continue;
    }
    rows.push({ family: 'ipv6', ifindex: Number(m[1]), iface: m[2]!, group: hexToIPv6(m[3]!)!, users: Number(m[4]) });
  }
  return { rows, malformed };
}

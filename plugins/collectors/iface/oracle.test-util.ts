/** Parsers of `netstat -i` and `netstat -ie` output: the oracles of the iface tests. */
import { tableRows } from '../../../test/helpers/netstat-oracle.js';

export interface NetstatIface {
  name: string;
  mtu: number;
  rx: { ok: number; err: number; drp: number; ovr: number };
  tx: { ok: number; err: number; drp: number; ovr: number };
  flags: string;
}

export function netstatInterfaces(out: string): NetstatIface[] {
  return tableRows(out, 'Iface', 'netstat -i').map((f) => {
    const n = f.slice(2, 10).map(Number);
    return {
      name: f[0]!, mtu: Number(f[1]),
      rx: { ok: n[0]!, err: n[1]!, drp: n[2]!, ovr: n[3]! },
      tx: { ok: n[4]!, err: n[5]!, drp: n[6]!, ovr: n[7]! },
      flags: f[10] ?? '',
    };
  });
}

export interface NetstatIfaceLong {
  name: string;
  flags: number;
  mtu: number;
  mac?: string;
  encap?: string;
  txqueuelen?: number;
  /** The primary IPv4 address (`inet A  netmask M`), as SIOCGIFADDR/SIOCGIFNETMASK give it. */
  inet?: { ip: string; prefix_length: number };
  inet6: { ip: string; prefix_length: number; scope: string }[];
  rx: { packets: number; bytes: number; frame: number };
  tx: { packets: number; bytes: number; carrier: number; collisions: number };
}

/** `netstat -ie` blocks (ifconfig style). */
export function netstatInterfacesLong(out: string): NetstatIfaceLong[] {
  const res: NetstatIfaceLong[] = [];
  let cur: NetstatIfaceLong | null = null;
  for (const line of out.split('\n')) {
    let m = /^(\S+): flags=(\d+)<.*>\s+mtu (\d+)/.exec(line);
    if (m) {
      cur = { name: m[1]!, flags: Number(m[2]), mtu: Number(m[3]), inet6: [], rx: { packets: 0, bytes: 0, frame: 0 }, tx: { packets: 0, bytes: 0, carrier: 0, collisions: 0 } };
      res.push(cur);
      continue;
    }
    if (!cur) continue;
    if ((m = /^\s+inet (\S+)\s+netmask (\S+)/.exec(line))) {
      const bits = m[2]!.split('.').map((o) => Number(o).toString(2).padStart(8, '0')).join('');
      cur.inet = { ip: m[1]!, prefix_length: bits.indexOf('0') < 0 ? 32 : bits.indexOf('0') };
    } else if ((m = /^\s+inet6 (\S+)\s+prefixlen (\d+)\s+scopeid 0x[0-9a-f]+<(\w+)>/.exec(line))) {
      cur.inet6.push({ ip: m[1]!, prefix_length: Number(m[2]), scope: m[3]! });
    } else if ((m = /^\s+ether (\S+)\s+txqueuelen (\d+)\s+\((.*)\)/.exec(line))) {
      cur.mac = m[1]!;
      cur.txqueuelen = Number(m[2]);
      cur.encap = m[3]!;
    } else if ((m = /^\s+loop\s+txqueuelen (\d+)\s+\((.*)\)/.exec(line))) {
      cur.txqueuelen = Number(m[1]);
      cur.encap = m[2]!;
    } else if ((m = /^\s+RX packets (\d+)\s+bytes (\d+)/.exec(line))) {
      cur.rx.packets = Number(m[1]);
      cur.rx.bytes = Number(m[2]);
    } else if ((m = /^\s+RX errors .* frame (\d+)/.exec(line))) {
      cur.rx.frame = Number(m[1]);
    } else if ((m = /^\s+TX packets (\d+)\s+bytes (\d+)/.exec(line))) {
      cur.tx.packets = Number(m[1]);
      cur.tx.bytes = Number(m[2]);
    } else if ((m = /^\s+TX errors .* carrier (\d+)\s+collisions (\d+)/.exec(line))) {
      cur.tx.carrier = Number(m[1]);
      cur.tx.collisions = Number(m[2]);
    }
  }
  return res;
}

export interface IpAddr { iface: string; ip: string; len: number; noprefixroute: boolean }

/** `ip -4 -o addr` lines: `3: va    inet 10.51.0.1/24 scope global va\ …` (peer addresses left out). */
export function ipAddrs(out: string): IpAddr[] {
  const rows: IpAddr[] = [];
  for (const line of out.split('\n')) {
    const m = /^\d+: (\S+) +inet ([\d.]+)\/(\d+) (.*)$/.exec(line);
    if (m) rows.push({ iface: m[1]!, ip: m[2]!, len: Number(m[3]), noprefixroute: / noprefixroute /.test(m[4]!) });
  }
  return rows;
}

/**
 * The addresses of `ip -4 -o addr` that /proc cannot place, by the kernel's rules (independent of
 * the code under test): no prefix route (a /32, noprefixroute, an interface in `down`), or one
 * subnet on two devices.
 */
export function unplaceable(addrs: IpAddr[], down: ReadonlySet<string>): Set<string> {
  const subnet = (a: IpAddr) => {
    const n = a.ip.split('.').reduce((v, o) => v * 256 + Number(o), 0);
    return `${Math.floor(n / 2 ** (32 - a.len))}/${a.len}`;
  };
  const devices = new Map<string, Set<string>>();
  for (const a of addrs) {
    if (!devices.has(subnet(a))) devices.set(subnet(a), new Set());
    devices.get(subnet(a))!.add(a.iface);
  }
  return new Set(
    addrs.filter((a) => a.len === 32 || a.noprefixroute || down.has(a.iface) || devices.get(subnet(a))!.size > 1).map((a) => a.ip),
  );
}

/**
 * /proc/net/sockstat and sockstat6: the kernel's socket totals per protocol, for the snmp collector's
 * sockstat.totals and for the tcp/udp collectors, which skip reading a family's socket table when
 * the totals say it is empty. A pure function over the file text.
 */
import { MalformedTally } from './malformed.js';

export type SockstatTotals = Record<string, Record<string, number>>;

/**
 * /proc/net/sockstat and sockstat6: `PROTO: key value key value…` per line, e.g.
 * `TCP: inuse 7 orphan 0 tw 2 alloc 14 mem 61` → { tcp: { inuse: 7, orphan: 0, tw: 2, alloc: 14, mem: 61 } }.
 */
export function parseSockstat(text: string, into: SockstatTotals = {}): { totals: SockstatTotals; malformed: MalformedTally } {
  const malformed = new MalformedTally();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const c = line.indexOf(':');
    const proto = c > 0 ? line.slice(0, c).trim().toLowerCase() : '';
    const f = line.slice(c + 1).trim().split(/\s+/).filter(Boolean);
    if (!/^[a-z0-9_]+$/.test(proto) || f.length === 0 || f.length % 2 !== 0) {
      malformed.add(line);
      continue;
    }
    const entry: Record<string, number> = {};
    let ok = true;
    for (let k = 0; k < f.length; k += 2) {
      if (!/^[a-z_]+$/i.test(f[k]!) || !/^-?\d+$/.test(f[k + 1]!)) ok = false;
      else entry[f[k]!.toLowerCase()] = Number(f[k + 1]);
    }
    if (!ok) {
      malformed.add(line);
      continue;
    }
    into[proto] = { ...(into[proto] ?? {}), ...entry };
  }
  return { totals: into, malformed };
}

/**
 * The kernel's SNMP-style counters under the names `nstat` (iproute2) gives them. Pure functions over
 * the file text. (The socket totals of /proc/net/sockstat{,6} are parsed in src/collect/sockstat.ts.)
 */
import { parseSigned, type CounterValue } from '../../../src/collect/counter-delta.js';
import { MalformedTally } from '../../../src/collect/malformed.js';

/**
 * Values nstat leaves out because they are settings or gauges, not counters (its
 * `useless_numbers`). Emitted only with the `non_counters` option, as `snmp.gauges`.
 */
export const NSTAT_NON_COUNTERS: ReadonlySet<string> = new Set([
  'IpForwarding', 'IpDefaultTTL', 'TcpRtoAlgorithm', 'TcpRtoMin', 'TcpRtoMax', 'TcpMaxConn', 'TcpCurrEstab',
]);

/** Listed among the counters by nstat, but gauges: their change is signed, never a reset. */
export const GAUGE_COUNTERS: ReadonlySet<string> = new Set(['MPTcpExtMPCurrEstab']);

export interface ParsedCounters {
  counters: [string, CounterValue][];
  malformed: MalformedTally;
}

/**
 * /proc/net/snmp and /proc/net/netstat: pairs of lines `Prefix: Name1 Name2…` and
 * `Prefix: v1 v2…`; nstat names each value Prefix+Name (IpInReceives, TcpExtTW, IcmpMsgInType3).
 * A pair whose prefixes or lengths disagree is malformed (both lines counted); a value that is not
 * a number drops just that counter.
 */
export function parseSnmpTable(text: string): ParsedCounters {
  const malformed = new MalformedTally();
  const counters: [string, CounterValue][] = [];
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  for (let i = 0; i < lines.length; i += 2) {
    const head = lines[i]!;
    const vals = lines[i + 1];
    const hc = head.indexOf(':');
    const vc = vals === undefined ? -1 : vals.indexOf(':');
    const isHeader = (line: string, c: number) => /^\s*[A-Za-z]/.test(line.slice(c + 1));
    if (hc <= 0 || !isHeader(head, hc) || vc <= 0 || isHeader(vals!, vc) || head.slice(0, hc) !== vals!.slice(0, vc)) {
      malformed.add(head);
      // resynchronise: the next line may start a good pair
      i -= 1;
      continue;
    }
    const prefix = head.slice(0, hc);
    const names = head.slice(hc + 1).trim().split(/\s+/).filter(Boolean);
    const values = vals!.slice(vc + 1).trim().split(/\s+/).filter(Boolean);
    if (names.length !== values.length) {
      malformed.add(vals!);
      continue;
    }
    for (let k = 0; k < names.length; k++) {
      const v = parseSigned(values[k]!);
      if (v === null || !/^[A-Za-z0-9_]+$/.test(names[k]!)) {
        malformed.add(`${prefix}: ${names[k]} ${values[k]}`);
        continue;
      }
      counters.push([prefix + names[k], v]);
    }
  }
  return { counters, malformed };
}

/** /proc/net/snmp6 and /proc/net/sctp/snmp: one `Name value` per line, names used as they are. */
export function parseNameValue(text: string): ParsedCounters {
  const malformed = new MalformedTally();
  const counters: [string, CounterValue][] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const f = line.trim().split(/\s+/);
    const v = f.length === 2 && /^[A-Za-z0-9_]+$/.test(f[0]!) ? parseSigned(f[1]!) : null;
    if (v === null) {
      malformed.add(line);
      continue;
    }
    counters.push([f[0]!, v]);
  }
  return { counters, malformed };
}

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { collectOnce } from '../../../test/helpers/collect.js';
import { fixtureProcFs, silentLogger } from '../../../test/helpers/view-procfs.js';
import { SnmpCollector } from './collector.js';
import type { SnmpOptions } from './index.js';
import { netstatSKeyValues, nstatCounters } from './oracle.test-util.js';
import { parseSockstat } from '../../../src/collect/sockstat.js';
import { NSTAT_NON_COUNTERS, parseNameValue, parseSnmpTable } from './parse-snmp.js';

const td = (f: string) => fileURLToPath(new URL(`./testdata/${f}`, import.meta.url));
const text = (f: string) => readFileSync(td(f), 'latin1');
const opts = (o: Partial<SnmpOptions> = {}): SnmpOptions => ({
  include: [], exclude: [], zeros: true, non_counters: false, counter_bits: 'auto', sockstat: true, ...o,
});
type Snmp = { counters: Record<string, number>; delta?: Record<string, number>; rate?: Record<string, number>; interval_ms?: number; resets?: string[]; gauges?: Record<string, number> };
const snmpOf = (events: { dataset: string; fields: Record<string, unknown> }[]) =>
  events.find((e) => e.dataset === 'snmp.counters')!.fields.snmp as Snmp;

describe('snmp on the captured namespace', () => {
  it('names every counter as nstat -az does (its IcmpMsg types appeared after the copy)', async () => {
    const { events, malformed } = await collectOnce(new SnmpCollector(opts(), fixtureProcFs(td('')), silentLogger()));
    expect(malformed).toEqual([]);
    const ours = snmpOf(events).counters;
    const tool = nstatCounters(text('nstat-az.txt'));
    expect(tool.size).toBeGreaterThan(300);
    // every name of ours is nstat's, and nstat's extra names are only ICMP message types, which the
    // kernel lists once non-zero: the tools ran a moment after the copy, when ICMP had been sent.
    expect(Object.keys(ours).filter((n) => !tool.has(n))).toEqual([]);
    const extra = [...tool.keys()].filter((n) => !(n in ours));
    expect(extra.every((n) => /^Icmp6?Msg|^Icmp6(In|Out)Type\d+$/.test(n))).toBe(true);
    // and counters only grew between the copy and nstat
    for (const [n, v] of Object.entries(ours)) expect(BigInt(v) <= tool.get(n)!, n).toBe(true);
  });

  it('equals the Key: value lines of netstat -s, taken at the same moment as the copy', async () => {
    const { events } = await collectOnce(new SnmpCollector(opts({ non_counters: true }), fixtureProcFs(td('')), silentLogger()));
    const s = snmpOf(events);
    const all = { ...s.counters, ...s.gauges };
    const kv = netstatSKeyValues(text('netstat-s.txt'));
    expect(kv.size).toBeGreaterThan(5);
    for (const [name, v] of kv) expect(all[name], name).toBe(v);
    // nstat's hidden values are gauges, never counters
    for (const n of NSTAT_NON_COUNTERS) expect(n in s.counters).toBe(false);
    expect(Object.keys(s.gauges!).sort()).toEqual([...NSTAT_NON_COUNTERS].sort());
  });

  it('include/exclude as nstat patterns, zeros off like plain nstat -a', async () => {
    const { events } = await collectOnce(
      new SnmpCollector(opts({ include: ['Tcp*', 'Ip6In*'], exclude: ['TcpExt*'], zeros: false, sockstat: false }), fixtureProcFs(td('')), silentLogger()),
    );
    expect(events.map((e) => e.dataset)).toEqual(['snmp.counters']);
    const names = Object.keys(snmpOf(events).counters);
    expect(names.length).toBeGreaterThan(3);
    expect(names.every((n) => (n.startsWith('Tcp') && !n.startsWith('TcpExt')) || n.startsWith('Ip6In'))).toBe(true);
    expect(Object.values(snmpOf(events).counters).every((v) => v !== 0)).toBe(true);
    expect(names).toContain('TcpActiveOpens');
  });

  it('sockstat.totals carries every number of sockstat and sockstat6', async () => {
    const { events } = await collectOnce(new SnmpCollector(opts(), fixtureProcFs(td('')), silentLogger()));
    const ev = events.find((e) => e.dataset === 'sockstat.totals')!;
    expect(ev.kind).toBe('metric');
    const totals = ev.fields.sockstat as Record<string, Record<string, number>>;
    for (const f of ['sockstat', 'sockstat6']) {
      for (const line of text(f).trim().split('\n')) {
        const [proto, ...rest] = line.split(/:?\s+/);
        for (let i = 0; i < rest.length; i += 2) expect(totals[proto!.toLowerCase()]![rest[i]!]).toBe(Number(rest[i + 1]));
      }
    }
  });
});

describe('snmp deltas and rates', () => {
  function dirWith(snmp: string, netstat = '', snmp6 = ''): string {
    const dir = mkdtempSync(join(tmpdir(), 'snmp-'));
    writeFileSync(join(dir, 'snmp'), snmp);
    if (netstat) writeFileSync(join(dir, 'netstat'), netstat);
    if (snmp6) writeFileSync(join(dir, 'snmp6'), snmp6);
    return dir;
  }
  const table = (vals: number[]) =>
    `Tcp: RtoAlgorithm ActiveOpens InSegs OutSegs\nTcp: 1 ${vals.join(' ')}\n`;

  it('first cycle has none; then change and per-second rate; then wrap and reset', async () => {
    const dir = dirWith(table([10, 100, 4294967290]), 'MPTcpExt: MPCurrEstab\nMPTcpExt: 5\n', 'Ip6InReceives 7\n');
    const c = new SnmpCollector(opts(), fixtureProcFs(dir), silentLogger());
    const first = snmpOf((await collectOnce(c, 10_000)).events);
    expect(first.delta).toBeUndefined();
    expect(first.counters).toEqual({ TcpActiveOpens: 10, TcpInSegs: 100, TcpOutSegs: 4294967290, MPTcpExtMPCurrEstab: 5, Ip6InReceives: 7 });

    writeFileSync(join(dir, 'snmp'), table([30, 400, 4294967293]));
    writeFileSync(join(dir, 'netstat'), 'MPTcpExt: MPCurrEstab\nMPTcpExt: 2\n');
    writeFileSync(join(dir, 'snmp6'), 'Ip6InReceives 7\nIcmp6OutType143 3\n');
    const second = snmpOf((await collectOnce(c, 12_000)).events);
    expect(second.interval_ms).toBe(2000);
    expect(second.delta).toEqual({ TcpActiveOpens: 20, TcpInSegs: 300, TcpOutSegs: 3, MPTcpExtMPCurrEstab: -3, Ip6InReceives: 0, Icmp6OutType143: 3 });
    expect(second.rate).toEqual({ TcpActiveOpens: 10, TcpInSegs: 150, TcpOutSegs: 1.5, MPTcpExtMPCurrEstab: -1.5, Ip6InReceives: 0, Icmp6OutType143: 1.5 });
    expect(second.resets).toBeUndefined();

    // TcpOutSegs wraps at 32 bits (a 32-bit kernel), TcpInSegs is reset (namespace re-created)
    writeFileSync(join(dir, 'snmp'), table([31, 5, 6]));
    const third = snmpOf((await collectOnce(c, 13_000)).events);
    expect(third.counters.TcpOutSegs).toBe(6);
    expect(third.delta!.TcpOutSegs).toBe(2 ** 32 - 4294967293 + 6);
    expect(third.delta!.TcpInSegs).toBe(5);
    expect(third.resets).toEqual(['TcpInSegs']);
    expect(third.rate!.TcpActiveOpens).toBe(1);
  });

  it('with counter_bits: 64 a drop of a small counter is a reset, not a wrap', async () => {
    const dir = dirWith(table([10, 100, 4294967290]));
    const c = new SnmpCollector(opts({ counter_bits: 64 }), fixtureProcFs(dir), silentLogger());
    await collectOnce(c, 0);
    writeFileSync(join(dir, 'snmp'), table([10, 100, 6]));
    const s = snmpOf((await collectOnce(c, 1000)).events);
    expect(s.delta!.TcpOutSegs).toBe(6);
    expect(s.resets).toEqual(['TcpOutSegs']);
  });
});

describe('malformed and missing snmp files', () => {
  it('skips malformed pairs and values, keeps the rest', () => {
    const p = parseSnmpTable('Ip: A B\nIp: 1 2\nUdp: X Y\nTcp: 1 2\nTcp: C D\nTcp: 3 x\nIcmp: E\nIcmp: 1 2\n');
    expect(p.counters).toEqual([['IpA', 1], ['IpB', 2], ['TcpC', 3]]);
    expect(p.malformed.count).toBe(4);
    expect(p.malformed.example).toBe('Udp: X Y');
    const q = parseNameValue('Ip6InReceives 25\nbroken\nIp6X 1 2\nIp6Y -\n');
    expect(q.counters).toEqual([['Ip6InReceives', 25]]);
    expect(q.malformed.count).toBe(3);
    const s = parseSockstat('TCP: inuse 7 orphan\nUDP: inuse 2 mem 0\nno colon here x\n');
    expect(s.totals).toEqual({ udp: { inuse: 2, mem: 0 } });
    expect(s.malformed.count).toBe(2);
  });

  it('parses the real files without complaint, 64-bit values exactly', () => {
    expect(parseSnmpTable(text('snmp')).malformed.count).toBe(0);
    expect(parseSnmpTable(text('netstat')).malformed.count).toBe(0);
    expect(parseNameValue(text('snmp6')).malformed.count).toBe(0);
    expect(parseNameValue('IpExtInOctets 18446744073709551615\n').counters).toEqual([['IpExtInOctets', 18446744073709551615n]]);
  });

  it('missing files (no IPv6, no SCTP) are no error; malformed lines reach ctx.malformed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'snmp-'));
    writeFileSync(join(dir, 'snmp'), `${text('snmp')}Bogus: line\n`);
    const { events, malformed } = await collectOnce(new SnmpCollector(opts(), fixtureProcFs(dir), silentLogger()));
    expect(events.map((e) => e.dataset)).toEqual(['snmp.counters']);
    expect(malformed).toEqual([{ source: `${dir}/fixture/net/snmp`, count: 1, example: 'Bogus: line' }]);
    expect(Object.keys(snmpOf(events).counters)).toContain('IpInReceives');
    const empty = mkdtempSync(join(tmpdir(), 'snmp-'));
    expect((await collectOnce(new SnmpCollector(opts(), fixtureProcFs(empty), silentLogger()))).events).toEqual([]);
  });
});

import { randomBytes, randomInt } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireNetnsTools } from '../../../test/helpers/netns.js';
import { collectOnce } from '../../../test/helpers/collect.js';
import { createTestNet, type TestNet } from '../../../test/helpers/host-testnet.js';
import { namespaceProcFs, silentLogger } from '../../../test/helpers/view-procfs.js';
import { SnmpCollector } from './collector.js';
import type { SnmpOptions } from './index.js';
import { nstatCounters } from './oracle.test-util.js';

const traffic = fileURLToPath(new URL('../../../test/helpers/udp-traffic.py', import.meta.url));
const opts: SnmpOptions = { include: [], exclude: [], zeros: true, non_counters: false, counter_bits: 'auto', sockstat: true };
type Snmp = { counters: Record<string, number>; delta?: Record<string, number>; rate?: Record<string, number>; interval_ms?: number };

describe('snmp in a network namespace equals nstat -az', () => {
  let net: TestNet;
  // -a: absolute values (ignore history), -s: do not update it, -z: zeros too; history in a temp file
  const nstat = () =>
    nstatCounters(net.ns.exec('env', [`NSTAT_HISTORY=${join(tmpdir(), `nstat-${randomBytes(4).toString('hex')}`)}`, 'nstat', '-asz']));

  beforeAll(async () => {
    requireNetnsTools(['ip', 'nstat', 'python3']);
    net = await createTestNet('nasnmp');
    net.ns.exec('python3', [traffic, '20']);
  });
  afterAll(() => net?.ns.destroy());

  it('every counter name, each value between a reading before and one after', async () => {
    const c = new SnmpCollector(opts, namespaceProcFs(net.pid), silentLogger());
    const before = nstat();
    const { events, malformed } = await collectOnce(c);
    const after = nstat();
    expect(malformed).toEqual([]);
    const ours = (events.find((e) => e.dataset === 'snmp.counters')!.fields.snmp as Snmp).counters;
    expect(Object.keys(ours).length).toBeGreaterThan(300);
    // none extra, none missing (a counter may only appear between the readings: ICMP types)
    expect(Object.keys(ours).filter((n) => !after.has(n))).toEqual([]);
    expect([...before.keys()].filter((n) => !(n in ours))).toEqual([]);
    for (const [name, v] of Object.entries(ours)) {
      expect(BigInt(v) >= (before.get(name) ?? 0n) && BigInt(v) <= after.get(name)!, `${name}=${v} before=${before.get(name)} after=${after.get(name)}`).toBe(true);
    }
    expect(ours.UdpOutDatagrams).toBeGreaterThanOrEqual(20);
  });

  it('delta and rate between two cycles follow the traffic in between', async () => {
    const c = new SnmpCollector({ ...opts, include: ['Udp*', 'IpExt*'] }, namespaceProcFs(net.pid), silentLogger());
    const t0 = Date.now();
    const first = (await collectOnce(c, t0)).events.find((e) => e.dataset === 'snmp.counters')!.fields.snmp as Snmp;
    const n = randomInt(5, 50);
    net.ns.exec('python3', [traffic, String(n)]);
    const second = (await collectOnce(c, t0 + 2000)).events.find((e) => e.dataset === 'snmp.counters')!.fields.snmp as Snmp;
    expect(first.delta).toBeUndefined();
    expect(second.interval_ms).toBe(2000);
    for (const name of Object.keys(second.counters)) {
      expect(second.delta![name]).toBe(second.counters[name]! - first.counters[name]!);
      expect(second.rate![name]).toBeCloseTo(second.delta![name]! / 2, 3);
    }
    expect(second.delta!.UdpOutDatagrams).toBe(n);
    expect(second.delta!.UdpInDatagrams).toBe(n);
  });

  it('sockstat.totals equals the namespace sockstat', async () => {
    const c = new SnmpCollector(opts, namespaceProcFs(net.pid), silentLogger());
    const { events } = await collectOnce(c);
    const totals = events.find((e) => e.dataset === 'sockstat.totals')!.fields.sockstat as Record<string, Record<string, number>>;
    const file = net.ns.exec('cat', ['/proc/net/sockstat', '/proc/net/sockstat6']);
    for (const line of file.trim().split('\n')) {
      const [proto, ...rest] = line.split(/:?\s+/);
      for (let i = 0; i < rest.length; i += 2) {
        if (rest[i] === 'mem' || rest[i] === 'memory' || rest[i] === 'used') continue; // may move in between
        expect(totals[proto!.toLowerCase()]![rest[i]!], `${proto} ${rest[i]}`).toBe(Number(rest[i + 1]));
      }
    }
  });
});

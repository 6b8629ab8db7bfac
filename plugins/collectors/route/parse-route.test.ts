import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseIpv4Routes, parseIpv6Routes, ipv4RouteFlags, ipv6RouteFlags } from './parse-route.js';
import { RouteCollector } from './collector.js';
import { fixtureProcFs, silentLogger } from '../../../test/helpers/view-procfs.js';
import { collectOnce } from '../../../test/helpers/collect.js';
import { netstatRoutes4, netstatRoutes6, routeTuples4, routeTuples6 } from './oracle.test-util.js';

const td = (f: string) => fileURLToPath(new URL(`./testdata/${f}`, import.meta.url));
const text = (f: string) => readFileSync(td(f), 'latin1');

describe('route parsers on the captured namespace', () => {
  it('IPv4 equals netstat -rn (captured at the same moment)', () => {
    const { rows, malformed } = parseIpv4Routes(text('route'), true);
    expect(malformed.count).toBe(0);
    const tool = netstatRoutes4(text('netstat-rn.txt'));
    expect(tool.length).toBeGreaterThan(0);
    const ours = rows.map((r) =>
      [r.destination.split('/')[0], r.gateway, r.genmask, r.flags, r.mss, r.window, r.irtt, r.iface ?? '-'].join(' '),
    );
    expect(ours.sort()).toEqual(tool.map((t) => [t.destination, t.gateway, t.genmask, t.flags, t.mss, t.window, t.irtt, t.iface].join(' ')).sort());
  });

  // The tools ran a moment after the /proc copy: in between, veth-a's link-local address finished
  // DAD and got its local /128 route, and reference counts moved. So on this capture, every route
  // we read must be one netstat printed (destination, gateway, flags, metric, interface), and
  // netstat may show at most that one extra local route. The namespace tests check exact equality.
  it('IPv6 matches netstat -rn -A inet6 (up to the capture gap)', () => {
    const { rows, malformed } = parseIpv6Routes(text('ipv6_route'));
    expect(malformed.count).toBe(0);
    const tool = netstatRoutes6(text('netstat-rn6.txt'));
    expect(tool.length).toBeGreaterThan(0);
    const key = (t: { destination: string; gateway: string; flags: string; metric: number; iface: string }) =>
      [t.destination, t.gateway, t.flags, t.metric, t.iface].join(' ');
    const toolKeys = tool.map(key);
    const ours = rows.map(key);
    expect(ours.filter((k) => !toolKeys.includes(k))).toEqual([]);
    const extra = tool.filter((t) => !ours.includes(key(t)));
    expect(extra.length).toBeLessThanOrEqual(1);
    for (const t of extra) expect([t.flags, t.destination.endsWith('/128')]).toEqual(['Un', true]);
  });

  it('the collector emits route.entry events matching both tools', async () => {
    const c = new RouteCollector({ ipv4: true, ipv6: true, include: [], exclude: [] }, fixtureProcFs(td('')), silentLogger());
    const { events, malformed } = await collectOnce(c);
    expect(malformed).toEqual([]);
    expect(events.every((e) => e.dataset === 'route.entry' && e.kind === 'state')).toBe(true);
    const v4 = events.filter((e) => (e.fields.network as { type: string }).type === 'ipv4');
    const v6 = events.filter((e) => (e.fields.network as { type: string }).type === 'ipv6');
    expect(routeTuples4(v4.map((e) => e.fields))).toEqual(
      netstatRoutes4(text('netstat-rn.txt')).map((t) => `${t.destination} ${t.gateway} ${t.flags} ${t.iface}`).sort(),
    );
    const tool6 = netstatRoutes6(text('netstat-rn6.txt')).map((t) => `${t.destination} ${t.gateway} ${t.flags} ${t.iface}`);
    const ours6 = routeTuples6(v6.map((e) => e.fields));
    expect(ours6.filter((k) => !tool6.includes(k))).toEqual([]);
    expect(ours6.length).toBe(parseIpv6Routes(text('ipv6_route')).rows.length);
    const dflt = v4.find((e) => (e.fields.route as { destination: string }).destination === '0.0.0.0/0');
    expect(dflt?.fields.route).toMatchObject({ genmask: '0.0.0.0', flags: 'UG' });
  });

  it('include/exclude filter on interface names, and view fields are merged in', async () => {
    const c = new RouteCollector(
      { ipv4: false, ipv6: true, include: ['veth*', 'lo'], exclude: ['veth-a'] },
      fixtureProcFs(td(''), { network: { namespace: 'ns1' } }),
      silentLogger(),
    );
    const { events } = await collectOnce(c);
    const names = new Set(events.map((e) => (e.fields.interface as { name: string }).name));
    expect([...names].sort()).toEqual(['lo', 'veth-b']);
    expect(events[0]!.fields.network).toEqual({ namespace: 'ns1', type: 'ipv6' });
  });
});

describe('route flags', () => {
  it('prints reject routes as netstat does', () => {
    expect(ipv4RouteFlags(0x0001 | 0x0200)).toBe('!');
    expect(ipv4RouteFlags(0x0001 | 0x0200 | 0x0004)).toBe('!H');
    expect(ipv4RouteFlags(0x0007)).toBe('UGH');
    expect(ipv6RouteFlags(0x00200200)).toBe('!n');
    expect(ipv6RouteFlags(0x80200001)).toBe('Un');
    expect(ipv6RouteFlags(0x00040003 | 0x00400000)).toBe('UGAe');
  });
});

describe('malformed and missing route files', () => {
  it('skips and counts malformed lines, keeps the good ones', () => {
    const v4 = text('route').split('\n');
    const bad4 = [v4[0], 'eth0\tZZZZ\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0', 'truncated', v4[1]].join('\n');
    const p4 = parseIpv4Routes(bad4, true);
    expect(p4.rows).toHaveLength(1);
    expect(p4.malformed.count).toBe(2);
    expect(p4.malformed.example).toContain('ZZZZ');

    const v6 = text('ipv6_route').split('\n');
    const p6 = parseIpv6Routes([v6[0], 'garbage line', v6[1]!.replace(/ \S+$/, ''), ''].join('\n'));
    expect(p6.rows).toHaveLength(1);
    expect(p6.malformed.count).toBe(2);
    expect(parseIpv4Routes('nonsense header\n', true).malformed.count).toBe(1);
  });

  it('reports malformed lines through ctx.malformed and treats a missing file as no data', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'route-'));
    writeFileSync(join(dir, 'route'), `${text('route')}junk\n`);
    // no ipv6_route: IPv6 disabled
    // read through a namespace of `agent.netns: all`: the source names its path and namespace
    const procfs = fixtureProcFs(dir, { netns: { inode: 4026532001, host: false } });
    const c = new RouteCollector({ ipv4: true, ipv6: true, include: [], exclude: [] }, procfs, silentLogger());
    const { events, malformed } = await collectOnce(c);
    expect(events).toHaveLength(parseIpv4Routes(text('route'), true).rows.length);
    expect(malformed).toEqual([{ source: `${dir}/fixture/net/route (netns 4026532001)`, count: 1, example: 'junk' }]);
  });
});

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { collectOnce } from '../../../test/helpers/collect.js';
import { fixtureProcFs, silentLogger } from '../../../test/helpers/view-procfs.js';
import { IgmpCollector } from './collector.js';
import type { IgmpOptions } from './index.js';
import { groupKey, netstatGroups } from './oracle.test-util.js';
import { parseIgmp, parseIgmp6 } from './parse-igmp.js';

const td = (f: string) => fileURLToPath(new URL(`./testdata/${f}`, import.meta.url));
const text = (f: string) => readFileSync(td(f), 'latin1');
const opts = (o: Partial<IgmpOptions> = {}): IgmpOptions => ({
  ipv4: true, ipv6: true, names: false, name_cache_ttl: 3600, include: [], exclude: [], ...o,
});
type Ev = { network: { type: string }; interface: { name: string; id: string }; igmp: { group: string; users: number; group_name?: string } };

describe('igmp parsers on the captured namespace', () => {
  it('equal netstat -gn, v4 and v6, none missing, none extra', () => {
    const v4 = parseIgmp(text('igmp'), true);
    const v6 = parseIgmp6(text('igmp6'));
    expect(v4.malformed.count + v6.malformed.count).toBe(0);
    const ours = [...v4.rows, ...v6.rows].map(groupKey).sort();
    const tool = netstatGroups(text('netstat-gn.txt')).map(groupKey).sort();
    expect(tool.length).toBeGreaterThan(0);
    expect(ours).toEqual(tool);
  });

  it('the collector emits igmp.membership events that equal netstat -gn', async () => {
    const { events, malformed } = await collectOnce(new IgmpCollector(opts(), fixtureProcFs(td('')), silentLogger()));
    expect(malformed).toEqual([]);
    const ev = events.map((e) => e.fields as unknown as Ev);
    expect(events.every((e) => e.dataset === 'igmp.membership' && e.kind === 'state')).toBe(true);
    expect(ev.map((e) => groupKey({ iface: e.interface.name, users: e.igmp.users, group: e.igmp.group })).sort()).toEqual(
      netstatGroups(text('netstat-gn.txt')).map(groupKey).sort(),
    );
    for (const e of ev) expect(e.network.type).toBe(e.igmp.group.includes(':') ? 'ipv6' : 'ipv4');
    expect(ev.every((e) => e.igmp.group_name === undefined)).toBe(true);
  });

  it('names: true adds group_name from the resolver, cached, and keeps igmp.group numeric', async () => {
    const c = new IgmpCollector(opts({ names: true, include: ['dummy0'] }), fixtureProcFs(td('')), silentLogger());
    const asked: string[] = [];
    c.resolver = async (a) => {
      asked.push(a);
      return a === '224.0.0.251' ? 'mdns.mcast.net' : null;
    };
    const { events } = await collectOnce(c, 1000);
    const ev = events.map((e) => e.fields as unknown as Ev);
    expect(ev.find((e) => e.igmp.group === '224.0.0.251')?.igmp.group_name).toBe('mdns.mcast.net');
    expect(ev.filter((e) => e.igmp.group_name !== undefined)).toHaveLength(1);
    expect(new Set(ev.map((e) => e.interface.name))).toEqual(new Set(['dummy0']));
    const n = asked.length;
    expect(n).toBe(new Set(ev.map((e) => e.igmp.group)).size);
    await collectOnce(c, 2000);
    expect(asked.length).toBe(n); // cached
    await collectOnce(c, 1000 + 3600_000 + 1);
    expect(asked.length).toBe(2 * n); // expired
  });
});

describe('malformed and missing igmp files', () => {
  it('skips malformed lines and the groups of a broken device line', () => {
    const lines = text('igmp').split('\n');
    const broken = [lines[0], lines[1], lines[2], 'X\tbroken device line', '\t\t\t\tFB0000E0     1 0:00000000\t\t0', '\t\t\t\tnothex', lines[3], lines[4]].join('\n');
    const p = parseIgmp(broken, true);
    expect(p.rows.map((r) => `${r.iface} ${r.group}`)).toEqual(['lo 224.0.0.1', 'peer0 224.0.0.1']);
    expect(p.malformed.count).toBe(3);
    expect(p.malformed.example).toBe('X\tbroken device line');
    const p6 = parseIgmp6(`${text('igmp6').split('\n')[0]}\n1 lo ff02 1 0 0\n`);
    expect(p6.rows).toHaveLength(1);
    expect(p6.malformed.count).toBe(1);
  });

  it('a missing igmp6 (IPv6 disabled) is no error; malformed lines reach ctx.malformed', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'igmp-'));
    writeFileSync(join(dir, 'igmp'), `${text('igmp')}garbage\n`);
    const { events, malformed } = await collectOnce(new IgmpCollector(opts(), fixtureProcFs(dir), silentLogger()));
    expect(events).toHaveLength(parseIgmp(text('igmp'), true).rows.length);
    expect(malformed).toEqual([{ source: `${dir}/fixture/net/igmp`, count: 1, example: 'garbage' }]);
  });
});

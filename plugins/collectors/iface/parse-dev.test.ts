import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { collectOnce } from '../../../test/helpers/collect.js';
import { fixtureProcFs, silentLogger } from '../../../test/helpers/view-procfs.js';
import type { ProcFs } from '../../../src/core/procfs.js';
import { IfaceCollector } from './collector.js';
import type { IfaceOptions } from './index.js';
import { netstatInterfaces, netstatInterfacesLong } from './oracle.test-util.js';
import { flagLetters, IFF, ioctlFlags, parseIfInet6, parseNetDev } from './parse-dev.js';

const td = (f: string) => fileURLToPath(new URL(`./testdata/${f}`, import.meta.url));
const text = (f: string) => readFileSync(td(f), 'latin1');
const opts = (o: Partial<IfaceOptions> = {}): IfaceOptions => ({
  include: [], exclude: [], all: false, sys_root: '/nonexistent', addresses: true, counter_bits: 'auto', fib_max_prefixes: 10000, ...o,
});
type Itf = {
  name: string; id?: string; mtu?: number; flags?: string; mac?: string; txqueuelen?: number; link_encap?: string;
  rx: Record<string, number>; tx: Record<string, number>;
  addresses?: { ip: string; prefix_length: number; scope: string }[];
  interval_ms?: number; delta?: { rx: Record<string, number>; tx: Record<string, number> };
  rate?: { rx: Record<string, number>; tx: Record<string, number> }; resets?: string[];
};
const itfs = (events: { fields: Record<string, unknown> }[]) => events.map((e) => e.fields.interface as Itf);

/** A ProcFs over a fixture dir whose one view is the agent's own namespace (sysfs from sys_root). */
function selfFixture(dir: string): ProcFs {
  const base = fixtureProcFs(dir);
  return { ...base, netViews: async () => [{ pid: 'self', fields: {} }] };
}

/** A collector reading `dir` as its own namespace, whose getifaddrs (the test host's) lists nothing. */
function selfCollector(o: IfaceOptions, dir: string): IfaceCollector {
  const c = new IfaceCollector(o, selfFixture(dir), silentLogger());
  c.ownInterfaces = () => ({});
  return c;
}

/**
 * A sysfs tree built from `netstat -ie` (MTU, SIOCGIFFLAGS flags, MAC, txqueuelen) and if_inet6
 * (ifindex): the input side, so that the collector's letters can be checked against `netstat -i`.
 * The flags file never holds IFF_RUNNING; the operational state says it.
 */
function fakeSysfs(): string {
  const root = mkdtempSync(join(tmpdir(), 'sysfs-'));
  const idx = new Map(parseIfInet6(text('if_inet6')).rows.map((a) => [a.iface, a.ifindex]));
  for (const l of netstatInterfacesLong(text('netstat-ie.txt'))) {
    const d = join(root, 'class', 'net', l.name);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'mtu'), `${l.mtu}\n`);
    writeFileSync(join(d, 'flags'), `0x${(l.flags & ~IFF.RUNNING).toString(16)}\n`);
    writeFileSync(join(d, 'operstate'), l.flags & IFF.RUNNING ? (l.flags & IFF.LOOPBACK ? 'unknown\n' : 'up\n') : 'down\n');
    writeFileSync(join(d, 'address'), `${l.mac ?? '00:00:00:00:00:00'}\n`);
    writeFileSync(join(d, 'type'), l.flags & IFF.LOOPBACK ? '772\n' : '1\n');
    writeFileSync(join(d, 'tx_queue_len'), `${l.txqueuelen}\n`);
    writeFileSync(join(d, 'ifindex'), `${idx.get(l.name)}\n`);
  }
  writeFileSync(join(root, 'class', 'net', 'bonding_masters'), '\n');
  return root;
}

describe('iface parsers on the captured namespace', () => {
  it('/proc/net/dev has netstat -i interfaces; counters no higher than netstat printed a moment later', () => {
    const { rows, malformed } = parseNetDev(text('dev'));
    expect(malformed.count).toBe(0);
    const tool = netstatInterfaces(text('netstat-i.txt'));
    expect(rows.map((r) => r.name).sort()).toEqual(tool.map((t) => t.name).sort());
    const long = new Map(netstatInterfacesLong(text('netstat-ie.txt')).map((l) => [l.name, l]));
    for (const t of tool) {
      const c = Object.fromEntries(rows.find((r) => r.name === t.name)!.counters);
      for (const dir of ['rx', 'tx'] as const) {
        for (const k of ['ok', 'err', 'drp', 'ovr'] as const) {
          expect(Number(c[`${dir}.${k}`]), `${t.name} ${dir}.${k}`).toBeLessThanOrEqual(t[dir][k]);
        }
        expect(Number(c[`${dir}.bytes`])).toBeLessThanOrEqual(long.get(t.name)![dir].bytes);
      }
      // nothing happened on these at all: exactly equal
      if (t.name === 'lo' || t.name === 'dummy0') {
        expect(Number(c['rx.ok'])).toBe(t.rx.ok);
        expect(Number(c['tx.bytes'])).toBe(long.get(t.name)!.tx.bytes);
      }
    }
  });

  it('flag letters equal netstat -i for the SIOCGIFFLAGS flags netstat -ie printed', () => {
    const short = new Map(netstatInterfaces(text('netstat-i.txt')).map((t) => [t.name, t.flags]));
    const long = netstatInterfacesLong(text('netstat-ie.txt'));
    expect(long.length).toBe(short.size);
    for (const l of long) expect(flagLetters(l.flags), l.name).toBe(short.get(l.name));
  });

  it('R comes from the operational state, not from the flags file', () => {
    const up = IFF.UP | IFF.BROADCAST | IFF.MULTICAST;
    expect(flagLetters(ioctlFlags(up, 'up'))).toBe('BMRU');
    expect(flagLetters(ioctlFlags(up, 'lowerlayerdown'))).toBe('BMU'); // no carrier
    expect(flagLetters(ioctlFlags(up, 'dormant'))).toBe('BMU');
    expect(flagLetters(ioctlFlags(IFF.UP | IFF.LOOPBACK, 'unknown'))).toBe('LRU');
    expect(flagLetters(ioctlFlags(IFF.BROADCAST | IFF.MULTICAST | IFF.RUNNING, 'down'))).toBe('BM'); // admin down
    expect(flagLetters(ioctlFlags(up | IFF.PROMISC | IFF.ALLMULTI | IFF.NOARP, 'up'))).toBe('ABMPORU');
    expect(flagLetters(0)).toBe('[NO FLAGS]');
  });

  it('if_inet6 equals the inet6 lines of netstat -ie', () => {
    const { rows, malformed } = parseIfInet6(text('if_inet6'));
    expect(malformed.count).toBe(0);
    const tool = netstatInterfacesLong(text('netstat-ie.txt')).flatMap((l) => l.inet6.map((a) => `${l.name} ${a.ip}/${a.prefix_length} ${a.scope}`));
    expect(rows.map((a) => `${a.iface} ${a.ip}/${a.prefix_length} ${a.scope}`).sort()).toEqual(tool.sort());
  });

  it('the collector emits iface.stats with netstat -i flags and MTU, -ie MAC and addresses', async () => {
    const sys = fakeSysfs();
    const { events, malformed } = await collectOnce(selfCollector(opts({ sys_root: sys }), td('')));
    expect(malformed).toEqual([]);
    expect(events.every((e) => e.dataset === 'iface.stats' && e.kind === 'metric')).toBe(true);
    const ours = itfs(events);
    const tool = netstatInterfaces(text('netstat-i.txt'));
    expect(ours.map((i) => `${i.name} ${i.mtu} ${i.flags}`).sort()).toEqual(tool.map((t) => `${t.name} ${t.mtu} ${t.flags}`).sort());
    for (const l of netstatInterfacesLong(text('netstat-ie.txt'))) {
      const i = ours.find((o) => o.name === l.name)!;
      expect(i.mac).toBe(l.mac);
      expect(i.link_encap).toBe(l.encap);
      expect(i.txqueuelen).toBe(l.txqueuelen);
      expect((i.addresses ?? []).map((a) => `${a.ip}/${a.prefix_length} ${a.scope}`).sort()).toEqual(
        l.inet6.map((a) => `${a.ip}/${a.prefix_length} ${a.scope}`).sort(),
      );
    }
    expect(Object.keys(ours[0]!.rx).sort()).toEqual(['bytes', 'compressed', 'drp', 'err', 'frame', 'multicast', 'ok', 'ovr']);
    expect(Object.keys(ours[0]!.tx).sort()).toEqual(['bytes', 'carrier', 'colls', 'compressed', 'drp', 'err', 'ok', 'ovr']);
    expect(ours[0]!.delta).toBeUndefined();
  });

  it('without a matching sysfs, MTU and flags are left out rather than taken from another namespace', async () => {
    const { events } = await collectOnce(selfCollector(opts({ sys_root: '/sys' }), td('')));
    // the host's /sys does not list this capture's interfaces
    expect(itfs(events).every((i) => i.mtu === undefined && i.flags === undefined)).toBe(true);
    expect(itfs(events).map((i) => i.name).sort()).toEqual(parseNetDev(text('dev')).rows.map((r) => r.name).sort());
  });

  it("the no-sysfs warning names the view beside pino's own numeric pid, once per namespace", async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'warn' }, { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) });
    const c = new IfaceCollector(opts({ sys_root: '/sys' }), fixtureProcFs(td(''), { netns: { inode: 4026532003 } }), logger);
    await collectOnce(c);
    await collectOnce(c);
    const warned = lines.filter((l) => String(l.msg).startsWith('no sysfs'));
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ pid: process.pid, net_pid: 'fixture', netns_inode: 4026532003 });
  });

  it('include/exclude globs on names', async () => {
    const { events } = await collectOnce(
      new IfaceCollector(opts({ include: ['veth*', 'lo'], exclude: ['veth-a'] }), fixtureProcFs(td('')), silentLogger()),
    );
    expect(itfs(events).map((i) => i.name).sort()).toEqual(['lo', 'veth-b']);
  });
});

describe('/proc/net/dev as other kernels write it', () => {
  // testdata/alias/dev is written the way older kernels wrote alias-style names (`eth0:0:`,
  // `ibr10:30:`) and 32-bit-era wide counters glued to the colon, plus a UTF-8 name; the netstat
  // outputs are net-tools reading exactly that file (bind-mounted over /proc in a private mount
  // namespace, in a network namespace holding eth0, ibr10 and 💩0, which its ioctls ask).
  const alias = (f: string) => readFileSync(td(`alias/${f}`), 'utf8');

  it('splits alias-style names at the last colon, as netstat -i does; UTF-8 names stay whole', () => {
    const { rows, malformed } = parseNetDev(alias('dev'));
    expect(malformed.count).toBe(0);
    const tool = netstatInterfaces(alias('netstat-i.txt'));
    expect(rows.map((r) => r.name).sort()).toEqual(tool.map((t) => t.name).sort());
    expect(rows.map((r) => r.name)).toEqual(expect.arrayContaining(['eth0:0', 'ibr10:30', '💩0']));
    const long = new Map(netstatInterfacesLong(alias('netstat-ie.txt')).map((l) => [l.name, l]));
    for (const t of tool) {
      const c = Object.fromEntries(rows.find((r) => r.name === t.name)!.counters);
      for (const dir of ['rx', 'tx'] as const) {
        for (const k of ['ok', 'err', 'drp', 'ovr'] as const) expect(c[`${dir}.${k}`], `${t.name} ${dir}.${k}`).toBe(t[dir][k]);
        expect(c[`${dir}.bytes`], `${t.name} ${dir}.bytes`).toBe(long.get(t.name)![dir].bytes);
      }
    }
  });

  it('a name holding Unicode whitespace (U+3000) or a tab-separated file is one name, not two fields', () => {
    const header = alias('dev').split('\n').slice(0, 2).join('\n');
    const { rows, malformed } = parseNetDev(`${header}\n a\u3000b:\t1\t2\t3\t4\t5\t6\t7\t8\t9\t10\t11\t12\t13\t14\t15\t16\n`);
    expect(malformed.count).toBe(0);
    expect(rows.map((r) => r.name)).toEqual(['a\u3000b']);
    expect(Object.fromEntries(rows[0]!.counters)['tx.compressed']).toBe(16);
  });
});

describe('iface deltas and rates', () => {
  const devLine = (name: string, rxBytes: number | string, rxPkts: number, txBytes: number | string) =>
    `${name.padStart(6)}: ${rxBytes} ${rxPkts} 0 0 0 0 0 0 ${txBytes} 1 0 0 0 0 0 0`;
  const header = text('dev').split('\n').slice(0, 2).join('\n');

  it('change and rate per counter; interface re-created (new ifindex) is a reset; 32-bit wrap', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iface-'));
    const sys = mkdtempSync(join(tmpdir(), 'sys-'));
    const setIf = (name: string, ifindex: number) => {
      mkdirSync(join(sys, 'class', 'net', name), { recursive: true });
      writeFileSync(join(sys, 'class', 'net', name, 'ifindex'), `${ifindex}\n`);
    };
    setIf('eth0', 2);
    setIf('veth9', 7);
    const write = (lines: string[]) => writeFileSync(join(dir, 'dev'), `${header}\n${lines.join('\n')}\n`);
    const c = selfCollector(opts({ sys_root: sys }), dir);

    write([devLine('eth0', 1000, 10, 4294967000), devLine('veth9', 500, 5, 0)]);
    expect(itfs((await collectOnce(c, 0)).events).every((i) => i.delta === undefined)).toBe(true);

    write([devLine('eth0', 3000, 30, 4294967200), devLine('veth9', 900, 9, 0)]);
    const second = itfs((await collectOnce(c, 4000)).events);
    const eth0 = second.find((i) => i.name === 'eth0')!;
    expect(eth0.interval_ms).toBe(4000);
    expect(eth0.delta!.rx).toMatchObject({ bytes: 2000, ok: 20, err: 0 });
    expect(eth0.rate!.rx).toMatchObject({ bytes: 500, ok: 5 });
    expect(eth0.delta!.tx.bytes).toBe(200);

    // veth9 deleted and re-created (ifindex 7 → 8) with counters that happen to be higher: a reset
    setIf('veth9', 8);
    write([devLine('eth0', 3500, 31, 104), devLine('veth9', 950, 10, 0)]);
    const third = itfs((await collectOnce(c, 5000)).events);
    const v = third.find((i) => i.name === 'veth9')!;
    expect(v.delta!.rx).toMatchObject({ bytes: 950, ok: 10 });
    expect(v.resets).toContain('rx.bytes');
    expect(v.id).toBe('8');
    // eth0 tx.bytes wrapped at 32 bits: 4294967200 → 104
    const e = third.find((i) => i.name === 'eth0')!;
    expect(e.delta!.tx.bytes).toBe(2 ** 32 - 4294967200 + 104);
    expect(e.resets).toBeUndefined();

    // an interface gone and back is new: no delta on its return
    write([devLine('eth0', 3600, 32, 105)]);
    await collectOnce(c, 6000);
    write([devLine('eth0', 3700, 33, 106), devLine('veth9', 10, 1, 0)]);
    const fifth = itfs((await collectOnce(c, 7000)).events);
    expect(fifth.find((i) => i.name === 'veth9')!.delta).toBeUndefined();
  });
});

describe('malformed and missing iface files', () => {
  it('skips malformed net/dev lines, keeps the rest, reports them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iface-'));
    const lines = text('dev').split('\n');
    writeFileSync(
      join(dir, 'dev'),
      [...lines.slice(0, 3), 'bogus line without colon', '  eth1: 1 2 3', 'eth2: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 x', 'two names: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16', ...lines.slice(3)].join('\n'),
    );
    writeFileSync(join(dir, 'if_inet6'), `${text('if_inet6')}zz 01 40 20 80 lo\n`);
    const procfs = fixtureProcFs(dir, { netns: { inode: 4026532002 } });
    const { events, malformed } = await collectOnce(new IfaceCollector(opts(), procfs, silentLogger()));
    expect(events).toHaveLength(parseNetDev(text('dev')).rows.length);
    expect(malformed).toEqual([
      { source: `${dir}/fixture/net/dev (netns 4026532002)`, count: 4, example: 'bogus line without colon' },
      { source: `${dir}/fixture/net/if_inet6 (netns 4026532002)`, count: 1, example: 'zz 01 40 20 80 lo' },
    ]);
  });

  it('no net/dev emits nothing; no if_inet6 (IPv6 disabled) only drops addresses', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'iface-'));
    expect((await collectOnce(new IfaceCollector(opts(), fixtureProcFs(empty), silentLogger()))).events).toEqual([]);
    writeFileSync(join(empty, 'dev'), text('dev'));
    const { events, malformed } = await collectOnce(new IfaceCollector(opts(), fixtureProcFs(empty), silentLogger()));
    expect(malformed).toEqual([]);
    expect(itfs(events).every((i) => i.addresses === undefined)).toBe(true);
  });
});

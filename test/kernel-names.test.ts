/**
 * Names the kernel hands out as bytes, in a namespace made for it: interfaces named `💩0`, `é1`
 * and `a　b` (an ideographic space, U+3000, which the kernel allows in a name), a process whose
 * comm is `py💩`, unix sockets bound at non-ASCII paths. Every collector reading such a name must
 * give what `ip`, `netstat` and `ss` print there, and the iface collector must still find the
 * namespace's sysfs (MTU, flags, MAC) by those names.
 * (The kernel of the test machines has no dummy driver: the interfaces are veth pairs.)
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { optionsWithDefaults } from '../src/collect/options-defaults.js';
import { SocketOwners } from '../src/core/socket-owners.js';
import { IfaceCollector } from '../plugins/collectors/iface/collector.js';
import { ifaceCollector } from '../plugins/collectors/iface/index.js';
import { netstatInterfaces } from '../plugins/collectors/iface/oracle.test-util.js';
import { IgmpCollector } from '../plugins/collectors/igmp/collector.js';
import { igmpCollector } from '../plugins/collectors/igmp/index.js';
import { groupKey, netstatGroups } from '../plugins/collectors/igmp/oracle.test-util.js';
import { RouteCollector } from '../plugins/collectors/route/collector.js';
import { routeCollector } from '../plugins/collectors/route/index.js';
import { netstatRoutes4, netstatRoutes6, routeTuples4, routeTuples6 } from '../plugins/collectors/route/oracle.test-util.js';
import { UdpCollector } from '../plugins/collectors/udp/collector.js';
import { udpCollector } from '../plugins/collectors/udp/index.js';
import { UnixCollector } from '../plugins/collectors/unix/collector.js';
import { unixCollector } from '../plugins/collectors/unix/index.js';
import { collectOnce } from './helpers/collect.js';
import { NetNamespace, requireNetnsTools } from './helpers/netns.js';
import { namespaceProcFs, silentLogger } from './helpers/view-procfs.js';

const POO = '💩0';
const ACUTE = 'é1';
const WIDE = 'a\u3000b';
const COMM = 'py💩';

type Itf = { name: string; mtu?: number; flags?: string; mac?: string };

/** `ip -o link`: name → MAC, names as ip prints them (before `@peer`). */
function ipLinks(out: string): Map<string, string | undefined> {
  const links = new Map<string, string | undefined>();
  for (const line of out.split('\n')) {
    const m = /^\d+: (.+?)(?:@[^:]*)?: <.*?link\/\w+ ([0-9a-f:]{17})?/.exec(line);
    if (m) links.set(m[1]!, m[2]);
  }
  return links;
}

describe('UTF-8 names from the kernel, in a network namespace', () => {
  let ns: NetNamespace;
  let pid: string;
  let sockDir: string;

  beforeAll(async () => {
    requireNetnsTools(['ip', 'netstat', 'ss', 'python3']);
    ns = NetNamespace.create('nanames');
    const ip = (...a: string[]) => ns.exec('ip', a);
    ip('link', 'add', 'name', POO, 'type', 'veth', 'peer', 'name', ACUTE);
    ip('link', 'add', 'name', WIDE, 'type', 'veth', 'peer', 'name', 'plain0');
    for (const name of [POO, ACUTE, WIDE]) ip('link', 'set', name, 'up');
    ip('addr', 'add', '10.77.0.1/24', 'dev', POO);
    ip('addr', 'add', '10.78.0.1/24', 'dev', WIDE);
    ip('-6', 'addr', 'add', 'fd00:77::1/64', 'dev', POO, 'nodad');
    ip('-6', 'route', 'add', '2001:db8:77::/48', 'dev', WIDE, 'metric', '77');
    sockDir = mkdtempSync(join(tmpdir(), 'ünïx-'));
    const holder = await ns.spawnReady('python3', [
      '-c',
      `
import ctypes, socket, struct, time
ctypes.CDLL(None).prctl(15, ${JSON.stringify(COMM)}.encode(), 0, 0, 0)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("10.77.0.1", 0))
m = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
m.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton("239.77.0.1") + socket.inet_aton("0.0.0.0") + struct.pack("@i", socket.if_nametoindex(${JSON.stringify(POO)})))
m6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
m6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, socket.inet_pton(socket.AF_INET6, "ff05::77") + struct.pack("@I", socket.if_nametoindex(${JSON.stringify(WIDE)})))
p = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); p.bind(${JSON.stringify(join(sockDir, 'sock-💩'))}); p.listen(1)
a = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); a.bind("\\0名前-${process.pid}")
print("ready", flush=True)
time.sleep(3600)
`,
    ]);
    pid = String(holder.pid);
  });
  afterAll(() => ns?.destroy());

  it('iface: the names of ip -o link, with MTU, flags and MAC from the namespace sysfs as netstat -ia shows them', async () => {
    const options = optionsWithDefaults(ifaceCollector.options, { all: true }) as never;
    const { events, malformed } = await collectOnce(new IfaceCollector(options, namespaceProcFs(pid), silentLogger()));
    expect(malformed).toEqual([]);
    const ours = events.map((e) => e.fields.interface as Itf);
    const links = ipLinks(ns.exec('ip', ['-o', 'link']));
    expect([...links.keys()]).toEqual(expect.arrayContaining([POO, ACUTE, WIDE]));
    expect(ours.map((i) => i.name).sort()).toEqual([...links.keys()].sort());
    const tool = netstatInterfaces(ns.exec('netstat', ['-ia']));
    expect(ours.map((i) => `${i.name} ${i.mtu} ${i.flags}`).sort()).toEqual(tool.map((t) => `${t.name} ${t.mtu} ${t.flags}`).sort());
    for (const i of ours) if (i.name !== 'lo') expect(i.mac, i.name).toBe(links.get(i.name));
    expect(ours.find((i) => i.name === POO)!.flags).toBe('BMRU');
  });

  it('iface: include globs match non-ASCII names', async () => {
    const options = optionsWithDefaults(ifaceCollector.options, { include: ['💩*', 'a\u3000?'] }) as never;
    const { events } = await collectOnce(new IfaceCollector(options, namespaceProcFs(pid), silentLogger()));
    expect(events.map((e) => (e.fields.interface as Itf).name).sort()).toEqual([POO, WIDE].sort());
  });

  it('route: the Iface column of netstat -rn and netstat -rn -A inet6', async () => {
    const c = new RouteCollector(optionsWithDefaults(routeCollector.options, {}) as never, namespaceProcFs(pid), silentLogger());
    const { events, malformed } = await collectOnce(c);
    expect(malformed).toEqual([]);
    const v4 = events.filter((e) => (e.fields.network as { type: string }).type === 'ipv4').map((e) => e.fields);
    const v6 = events.filter((e) => (e.fields.network as { type: string }).type === 'ipv6').map((e) => e.fields);
    const tool4 = netstatRoutes4(ns.exec('netstat', ['-rn'])).map((r) => `${r.destination} ${r.gateway} ${r.flags} ${r.iface}`).sort();
    expect(routeTuples4(v4)).toEqual(tool4);
    expect(tool4).toEqual(expect.arrayContaining([`10.77.0.0 0.0.0.0 U ${POO}`, `10.78.0.0 0.0.0.0 U ${WIDE}`]));
    const tool6 = netstatRoutes6(ns.exec('netstat', ['-rn', '-A', 'inet6'])).map((r) => `${r.destination} ${r.gateway} ${r.flags} ${r.iface}`);
    expect(routeTuples6(v6)).toEqual(tool6.sort());
    expect(tool6).toContain(`2001:db8:77::/48 :: U ${WIDE}`);
  });

  it('igmp: the groups of netstat -gn on those interfaces', async () => {
    const c = new IgmpCollector(optionsWithDefaults(igmpCollector.options, {}) as never, namespaceProcFs(pid), silentLogger());
    const { events, malformed } = await collectOnce(c);
    expect(malformed).toEqual([]);
    const ours = events.map((e) => {
      const f = e.fields as { interface: { name: string }; igmp: { group: string; users: number } };
      return groupKey({ iface: f.interface.name, users: f.igmp.users, group: f.igmp.group });
    });
    const tool = netstatGroups(ns.exec('netstat', ['-gn'])).map(groupKey);
    expect(ours.sort()).toEqual(tool.sort());
    expect(tool).toEqual(expect.arrayContaining([`${POO} 1 239.77.0.1`, `${WIDE} 1 ff05::77`]));
  });

  it('unix: paths as netstat -xa prints them; udp with processes: the comm ss -p shows', async () => {
    const unix = new UnixCollector(optionsWithDefaults(unixCollector.options, {}) as never, namespaceProcFs(pid), new SocketOwners('/proc'), silentLogger(), { id: 'unix', type: 'unix' });
    const { events, malformed } = await collectOnce(unix);
    expect(malformed).toEqual([]);
    const paths = new Map(events.map((e) => [(e.fields.socket as { inode: number }).inode, (e.fields.unix as { path: string }).path]));
    const tool = new Map<number, string>();
    for (const line of ns.exec('netstat', ['-xan']).split('\n')) {
      const m = /^unix +\d+ +\[[^\]]*\] +\S+ +(?:\S+ +)?(\d+) +(.+)$/.exec(line);
      if (m) tool.set(Number(m[1]), m[2]!);
    }
    const ours = [join(sockDir, 'sock-💩'), `@名前-${process.pid}`];
    for (const path of ours) {
      const inode = [...tool].find(([, p]) => p === path)?.[0];
      expect(inode, `netstat -xan lists ${path}`).toBeDefined();
      expect(paths.get(inode!)).toBe(path);
    }

    const udp = new UdpCollector(optionsWithDefaults(udpCollector.options, { processes: true }) as never, namespaceProcFs(pid), new SocketOwners('/proc'), silentLogger(), { id: 'udp', type: 'udp' });
    const sockets = (await collectOnce(udp)).events.map((e) => e.fields as { source: { ip: string; port: number }; process?: { pid: number; name: string } });
    const bound = sockets.find((s) => s.source.ip === '10.77.0.1')!;
    const ss = ns.exec('ss', ['-uanpH', 'src', '10.77.0.1']);
    const m = /users:\(\("([^"]+)",pid=(\d+),/.exec(ss);
    expect(m, ss).not.toBeNull();
    expect(bound.process).toEqual({ pid: Number(m![2]), name: m![1] });
    expect(m![1]).toBe(COMM);
  });
});

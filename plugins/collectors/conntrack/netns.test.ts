/**
 * The conntrack collector in a namespace whose connections are tracked (an iptables conntrack
 * rule makes the kernel track them there), with flows from a second namespace through a veth
 * pair: a TCP connection held open, UDP datagrams nobody answers, an ICMP echo, and TCP segments
 * conntrack finds invalid. Compared with `conntrack -L`, `-S` and `-C` run in that namespace
 * (netlink: another road to the same table).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { optionsWithDefaults } from '../../../src/collect/options-defaults.js';
import { collectOnce } from '../../../test/helpers/collect.js';
import { NetNamespace, requireConntrack } from '../../../test/helpers/netns.js';
import { namespaceProcFs, silentLogger } from '../../../test/helpers/view-procfs.js';
import { ConntrackCollector } from './collector.js';
import { conntrackCollector } from './index.js';
import { asConntrackLine, conntrackList, conntrackStats, type Entry } from './oracle.test-util.js';

const badTcp = fileURLToPath(new URL('../../../test/helpers/send-invalid-tcp.py', import.meta.url));


describe('conntrack in a namespace with tracked flows equals conntrack -L, -S and -C', () => {
  let a: NetNamespace;
  let b: NetNamespace;
  let pid: string;

  beforeAll(async () => {
    requireConntrack();
    a = NetNamespace.create('nactA');
    b = NetNamespace.create('nactB');
    const veth = `ct${process.pid % 100000}`;
    execFileSync('ip', ['link', 'add', `${veth}a`, 'netns', a.name, 'type', 'veth', 'peer', 'name', `${veth}b`, 'netns', b.name]);
    a.exec('ip', ['addr', 'add', '10.66.0.1/24', 'dev', `${veth}a`]);
    b.exec('ip', ['addr', 'add', '10.66.0.2/24', 'dev', `${veth}b`]);
    a.exec('ip', ['link', 'set', `${veth}a`, 'up']);
    b.exec('ip', ['link', 'set', `${veth}b`, 'up']);
    b.exec('iptables', ['-A', 'INPUT', '-m', 'conntrack', '--ctstate', 'INVALID', '-j', 'DROP']);
    b.exec('sysctl', ['-qw', 'net.netfilter.nf_conntrack_acct=1']);
    const server = await b.spawnReady('python3', ['-c', `
import socket, time
l = socket.socket(); l.bind(("10.66.0.2", 8080)); l.listen(8)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("10.66.0.2", 5000))
print("ready", flush=True)
held = [l.accept()[0] for _ in range(2)]
time.sleep(3600)`]);
    pid = String(server.pid);
    await a.spawnReady('python3', ['-c', `
import socket, struct, time
held = [socket.create_connection(("10.66.0.2", 8080)) for _ in range(2)]
held[0].send(b"hello")
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(3): u.sendto(b"x", ("10.66.0.2", 5000))
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
def cs(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16; return ~s & 0xffff
p = struct.pack("!BBHHH", 8, 0, 0, 0x1234, 1); r.sendto(struct.pack("!BBHHH", 8, 0, cs(p), 0x1234, 1), ("10.66.0.2", 0))
r.recv(100)
time.sleep(0.3)
print("ready", flush=True)
time.sleep(3600)`]);
    a.exec('python3', [badTcp, '10.66.0.2', '10.66.0.1', '3']);
  });
  afterAll(() => {
    a?.destroy();
    b?.destroy();
  });

  const collector = (options: Record<string, unknown>) =>
    new ConntrackCollector(optionsWithDefaults(conntrackCollector.options, options) as never, namespaceProcFs(pid), silentLogger());

  it('entries: list gives the entries of conntrack -L', async () => {
    const { events, malformed } = await collectOnce(collector({ entries: 'list' }));
    expect(malformed).toEqual([]);
    const entries = events.filter((e) => e.dataset === 'conntrack.entry').map((e) => e.fields as unknown as Entry);
    const tool = conntrackList(b.exec('conntrack', ['-L']));
    expect(tool.length).toBe(4);
    expect(entries.map(asConntrackLine).sort()).toEqual(tool.sort());
    expect(tool.some((l) => l.startsWith('icmp 1 src=10.66.0.1 dst=10.66.0.2 type=8 code=0 id=4660'))).toBe(true);
    expect(tool.some((l) => l.startsWith('udp 17 src=10.66.0.1') && l.includes('[UNREPLIED]'))).toBe(true);
    const stats = events.find((e) => e.dataset === 'conntrack.stats')!.fields.conntrack as Record<string, unknown>;
    expect(stats).toMatchObject({ entries_read: 4, entries_truncated: false });
  });

  it('stats: count as conntrack -C, the limit, per-CPU counters as conntrack -S (invalid ones counted)', async () => {
    const { events } = await collectOnce(collector({ per_cpu: true }));
    const tool = conntrackStats(b.exec('conntrack', ['-S']));
    const perCpu = events.filter((e) => (e.fields.conntrack as { cpu?: number }).cpu !== undefined).map((e) => e.fields.conntrack as { cpu: number; stats: Record<string, number> });
    expect(perCpu.map((c) => c.cpu)).toEqual(tool.map((_, i) => i));
    perCpu.forEach((c, i) => {
      for (const [name, value] of Object.entries(tool[i]!)) expect(c.stats[name], `cpu ${i} ${name}`).toBe(value);
    });
    const total = events.at(-1)!.fields.conntrack as { count: number; max: number; cpus: number; stats: Record<string, number> };
    expect(total.count).toBe(Number(b.exec('conntrack', ['-C']).trim()));
    expect(total.max).toBe(Number(b.exec('cat', ['/proc/sys/net/netfilter/nf_conntrack_max']).trim()));
    expect(total.cpus).toBe(tool.length);
    expect(total.stats.invalid).toBe(tool.reduce((n, c) => n + c.invalid!, 0));
    expect(total.stats.invalid).toBeGreaterThanOrEqual(3);
  });

  it('a second cycle carries the change: more invalid segments, counted per second', async () => {
    const c = collector({});
    const first = (await collectOnce(c, 1000)).events.at(-1)!.fields.conntrack as { stats: Record<string, number> };
    a.exec('python3', [badTcp, '10.66.0.2', '10.66.0.1', '5']);
    const second = (await collectOnce(c, 3000)).events.at(-1)!.fields.conntrack as { stats: Record<string, number>; delta: Record<string, number>; rate: Record<string, number>; interval_ms: number };
    expect(second.interval_ms).toBe(2000);
    expect(second.delta.invalid).toBe(second.stats.invalid! - first.stats.invalid!);
    expect(second.delta.invalid).toBeGreaterThanOrEqual(5);
    expect(second.rate.invalid).toBe(second.delta.invalid! / 2);
  });

  it('entries: group counts per protocol and state; max_entries stops the read and says so', async () => {
    const tool = conntrackList(b.exec('conntrack', ['-L']));
    const { events } = await collectOnce(collector({ entries: 'group' }));
    const groups = events.filter((e) => e.dataset === 'conntrack.entry').map((e) => e.fields as { network: { transport: string }; conntrack: { state?: string; entries: number } });
    const count = (transport: string, state?: string) => tool.filter((l) => l.startsWith(`${transport} `) && (state === undefined || l.split(' ')[2] === state)).length;
    expect(groups.find((g) => g.network.transport === 'tcp')!.conntrack).toMatchObject({ state: 'ESTABLISHED', entries: count('tcp', 'ESTABLISHED') });
    expect(groups.reduce((n, g) => n + g.conntrack.entries, 0)).toBe(tool.length);
    const capped = await collectOnce(collector({ entries: 'list', max_entries: 2 }));
    expect(capped.events.filter((e) => e.dataset === 'conntrack.entry')).toHaveLength(2);
    expect(capped.events.at(-1)!.fields.conntrack).toMatchObject({ entries_read: 2, entries_truncated: true, count: tool.length });
  });
});

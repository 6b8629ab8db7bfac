/**
 * The tcp collector skips a family's socket table when the kernel's totals (net/sockstat{,6}) show
 * it empty, and counts the skip (`tables_skipped` in agent.stats). In namespaces made for it:
 * skipping must give what reading gives (netstat as the oracle), a family whose only socket is in
 * TIME_WAIT (which the totals' `inuse` leaves out) is still read, and udp reads both tables always.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { optionsWithDefaults } from '../../../src/collect/options-defaults.js';
import { SelfProcFs } from '../../../src/core/procfs.js';
import { SocketOwners } from '../../../src/core/socket-owners.js';
import { collectOnce } from '../../../test/helpers/collect.js';
import { NetNamespace, requireNetnsTools } from '../../../test/helpers/netns.js';
import { parseNetstatInet } from '../../../test/helpers/netstat-oracle.js';
import { UdpCollector } from '../udp/collector.js';
import { udpCollector } from '../udp/index.js';
import { TcpCollector } from './collector.js';
import { tcpCollector } from './index.js';

requireNetnsTools(['ip', 'netstat', 'python3']);

/** Holds the sockets `setup` makes (Python, in the namespace) until the namespace is destroyed. */
const holder = (setup: string) => `
import socket, time
${setup}
time.sleep(0.3)
print("ready", flush=True)
time.sleep(3600)
`;

/** A summary collector reading the namespace through `pid`, and the net/ files it read. */
function summaryCollector(pid: string, transport: 'tcp' | 'udp' = 'tcp') {
  const read: string[] = [];
  const procfs = new SelfProcFs('/proc');
  procfs.netViews = async () => [{ pid, fields: {} }];
  const readNetLines = procfs.readNetLines.bind(procfs);
  procfs.readNetLines = (view, file, chunkSize) => {
    read.push(file);
    return readNetLines(view, file, chunkSize);
  };
  const [cls, manifest] = transport === 'tcp' ? [TcpCollector, tcpCollector] : [UdpCollector, udpCollector];
  // The /proc source, whose reads are watched here (the netlink source skips the same dumps).
  const options = optionsWithDefaults(manifest.options, { mode: 'summary', source: 'proc' });
  const collector = new cls(options as never, procfs, new SocketOwners('/proc'), pino({ level: 'silent' }), { id: transport, type: transport });
  return { collector, read };
}

/** netstat's counts per state for tcp (ipv4) or tcp6 (ipv6). */
function netstatCounts(ns: NetNamespace, proto: 'tcp' | 'tcp6'): Record<string, number> {
  const want: Record<string, number> = {};
  for (const r of parseNetstatInet(ns.exec('netstat', ['-tanW'])).filter((x) => x.proto === proto)) want[r.state] = (want[r.state] ?? 0) + 1;
  return want;
}

const nonZero = (counts: Record<string, number>) => Object.fromEntries(Object.entries(counts).filter(([, v]) => v > 0));

describe('tcp collector: families the kernel totals show empty', () => {
  let ns: NetNamespace | undefined;
  afterEach(() => ns?.destroy());

  it('IPv4 sockets only: tcp6 is not read, and its counts are the zeros netstat shows', async () => {
    ns = NetNamespace.create('naempty');
    const holderProc = await ns.spawnReady('python3', [
      '-c',
      holder(`
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(4)
c = socket.create_connection(l.getsockname()); s, _ = l.accept()`),
    ]);
    const { collector, read } = summaryCollector(String(holderProc.pid));
    const { events } = await collectOnce(collector);
    const families = (events[0]!.fields as { socket: { families: Record<string, Record<string, number>> } }).socket.families;
    expect(read).toEqual(['tcp']);
    expect(collector.stats()).toEqual({ tables_skipped: 1 });
    expect(nonZero(families.ipv4!)).toEqual(netstatCounts(ns, 'tcp'));
    expect(netstatCounts(ns, 'tcp')).toEqual({ LISTEN: 1, ESTABLISHED: 2 });
    expect(Object.keys(families.ipv6!).length).toBeGreaterThan(0);
    expect(nonZero(families.ipv6!)).toEqual({});
    expect(netstatCounts(ns, 'tcp6')).toEqual({});
  });

  it('an IPv6 socket in TIME_WAIT only: tcp6 is read and the socket counted', async () => {
    ns = NetNamespace.create('natwait');
    const holderProc = await ns.spawnReady('python3', [
      '-c',
      holder(`
l = socket.socket(socket.AF_INET6); l.bind(("::1", 0)); l.listen(1)
c = socket.create_connection(l.getsockname()[:2]); s, _ = l.accept()
c.close(); time.sleep(0.1); s.close(); l.close()`),
    ]);
    const { collector, read } = summaryCollector(String(holderProc.pid));
    const { events } = await collectOnce(collector);
    const families = (events[0]!.fields as { socket: { families: Record<string, Record<string, number>> } }).socket.families;
    expect(read).toContain('tcp6');
    expect(collector.stats()).toEqual({ tables_skipped: 0 });
    expect(netstatCounts(ns, 'tcp6')).toEqual({ TIME_WAIT: 1 });
    expect(nonZero(families.ipv6!)).toEqual({ TIME_WAIT: 1 });
  });

  it('udp: both tables are read even when the totals show one family empty (an empty udp6 costs the kernel ~0.1 ms)', async () => {
    ns = NetNamespace.create('naudpempty');
    const holderProc = await ns.spawnReady('python3', ['-c', holder('u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))')]);
    const { collector, read } = summaryCollector(String(holderProc.pid), 'udp');
    const { events } = await collectOnce(collector);
    const families = (events[0]!.fields as { socket: { families: Record<string, Record<string, number>> } }).socket.families;
    expect(ns.exec('cat', ['/proc/net/sockstat6'])).toMatch(/^UDP6: inuse 0$/m);
    expect(read).toEqual(['udp', 'udp6']);
    expect(collector.stats()).toEqual({ tables_skipped: 0 });
    expect(nonZero(families.ipv4!)).toEqual({ CLOSE: 1 });
    expect(nonZero(families.ipv6!)).toEqual({});
  });
});

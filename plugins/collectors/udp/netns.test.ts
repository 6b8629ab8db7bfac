/**
 * In a fresh namespace holding every kind of socket (test/helpers/socket-zoo.ts), the udp
 * collector reading /proc/<pid>/net through a pid inside it gives exactly the udp rows that
 * `netstat -tanuepW` prints there: addresses, ports, state, queues, user, inode, pid.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { optionsWithDefaults } from '../../../src/collect/options-defaults.js';
import { SocketOwners } from '../../../src/collect/process-sockets.js';
import { SelfProcFs } from '../../../src/core/procfs.js';
import { collectOnce } from '../../../test/helpers/collect.js';
import { NetNamespace, requireNetnsTools } from '../../../test/helpers/netns.js';
import { inetEventRow, parseNetstatInet, rowKey, type InetToolRow } from '../../../test/helpers/netstat-oracle.js';
import { startSocketZoo, type SocketZoo } from '../../../test/helpers/socket-zoo.js';
import { UdpCollector } from './collector.js';
import { udpCollector } from './index.js';

requireNetnsTools(['ip', 'netstat', 'ss', 'python3']);

let ns: NetNamespace;
let zoo: SocketZoo;
let viewPid: string;

beforeAll(async () => {
  ns = NetNamespace.create('naudp');
  zoo = await startSocketZoo(ns);
  viewPid = await ns.viewPid();
});
afterAll(() => {
  ns?.destroy();
  zoo?.cleanup();
});

function collector(options: Record<string, unknown>) {
  const procfs = new SelfProcFs('/proc');
  procfs.netViews = async () => [{ pid: viewPid, fields: {} }];
  return new UdpCollector(optionsWithDefaults(udpCollector.options, options), procfs, new SocketOwners('/proc'), pino({ level: 'silent' }), {
    id: 'udp',
    type: 'udp',
  });
}

const sorted = (rows: InetToolRow[]) => [...rows].sort((a, b) => rowKey(a).localeCompare(rowKey(b)) || (a.inode ?? 0) - (b.inode ?? 0));
const comparable = ({ proto, recvQ, sendQ, local, foreign, state, user, inode, pid }: InetToolRow) => ({
  proto, recvQ, sendQ, local, foreign, state, user, inode, pid,
});

describe('udp collector in a namespace, netstat as the oracle', () => {
  it('gives exactly the rows of netstat -tanuepW, pids included', async () => {
    const { events, malformed } = await collectOnce(collector({ processes: true }));
    const expected = parseNetstatInet(ns.exec('netstat', ['-tanuepW']), { e: true, p: true }).filter((r) =>
      r.proto.startsWith('udp'),
    );
    expect(malformed).toEqual([]);
    expect(expected.length).toBeGreaterThanOrEqual(4);
    const got = events.map(inetEventRow);
    expect(sorted(got).map(comparable)).toEqual(sorted(expected).map(comparable));
    // Names: netstat shows argv[0]'s base name cut to its column; we show the comm.
    const progs = new Map(expected.filter((r) => r.pid).map((r) => [r.pid, r.program!]));
    for (const r of got.filter((g) => g.pid !== undefined)) {
      const theirs = progs.get(r.pid)!;
      expect(r.program!.startsWith(theirs) || theirs.startsWith(r.program!)).toBe(true);
      expect(r.pid).toBe(zoo.pid);
    }
    expect(got.some((r) => r.pid === zoo.pid)).toBe(true);
  });

  it('summary counts match netstat per state and family', async () => {
    const { events } = await collectOnce(collector({ mode: 'summary' }));
    const rows = parseNetstatInet(ns.exec('netstat', ['-tanuW']));
    const f = events[0]!.fields as any;
    for (const [family, proto] of [['ipv4', 'udp'], ['ipv6', 'udp6']] as const) {
      const want: Record<string, number> = {};
      for (const r of rows.filter((x) => x.proto === proto)) {
        const s = r.state === '' ? 'CLOSE' : r.state;
        want[s] = (want[s] ?? 0) + 1;
      }
      const nonZero = Object.fromEntries(Object.entries(f.socket.families[family] as Record<string, number>).filter(([, v]) => v > 0));
      expect(nonZero).toEqual(want);
    }
  });

  it('the second cycle reuses the process cache and still attributes every socket', async () => {
    const c = collector({ processes: true });
    const first = await collectOnce(c);
    const second = await collectOnce(c);
    const pids = (r: typeof first) => r.events.map((e) => (e.fields as any).process?.pid ?? null).sort();
    expect(pids(second)).toEqual(pids(first));
    const owners = (c as any).owners;
    expect(owners.fullScans).toBe(1);
  });
});

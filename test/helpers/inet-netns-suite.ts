/**
 * The tests the tcp, udp, udplite and raw collectors share: in a namespace holding a socket zoo,
 * the collector reading /proc/<pid>/net through a pid inside it gives exactly the rows that
 * `netstat -{t,u,U,w}anepW` prints there (addresses, ports, state, queues, user, inode, pid), and
 * summary counts per state and family match netstat's.
 */
import { describe, expect, it } from 'vitest';
import { NETSTAT_FLAG, type Transport } from '../../src/collect/inet-options.js';
import type { CollectorManifest } from '../../src/core/plugin.js';
import { collectOnce } from './collect.js';
import { inetEventRow, netstatState, parseNetstatInet, rowKey, type InetToolRow } from './netstat-oracle.js';
import { useSocketZoo, type SocketCollectorClass } from './socket-zoo.js';

export interface InetSuite {
  readonly transport: Transport;
  readonly cls: SocketCollectorClass;
  readonly manifest: CollectorManifest;
  /** At least this many rows of the transport in the zoo (the oracle must have something to say). */
  readonly minRows: number;
}

const sorted = (rows: InetToolRow[]) => [...rows].sort((a, b) => rowKey(a).localeCompare(rowKey(b)) || (a.inode ?? 0) - (b.inode ?? 0));
const comparable = ({ proto, recvQ, sendQ, local, foreign, state, user, inode, pid }: InetToolRow) => ({
  proto, recvQ, sendQ, local, foreign, state, user, inode, pid,
});

export function inetCollectorMatchesNetstat({ transport, cls, manifest, minRows }: InetSuite): void {
  const zooNs = useSocketZoo(`na${transport}`);
  const flag = NETSTAT_FLAG[transport];
  const collector = (options: Record<string, unknown>) => zooNs.collector(cls, manifest, options);

  describe(`${transport} collector in a namespace, netstat as the oracle`, () => {
    it(`gives exactly the rows of netstat -${flag}anepW, pids included`, async () => {
      const { ns, zoo } = zooNs;
      const { events, malformed } = await collectOnce(collector({ processes: true }));
      const expected = parseNetstatInet(ns.exec('netstat', [`-${flag}anepW`]), { e: true, p: true });
      expect(malformed).toEqual([]);
      expect(expected.length).toBeGreaterThanOrEqual(minRows);
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

    it('ECS: network.type is the network layer (ipv4 for a v4-mapped peer), no destination without a peer', async () => {
      const { events } = await collectOnce(collector({}));
      const fields = events.map((e) => e.fields as any);
      // The zoo's v4 client of its dual-stack listener: an ::ffff:127.0.0.1 socket in the v6 table.
      const mapped = fields.filter((f) => f.socket.family === 'ipv6' && f.source.ip.includes('.'));
      if (transport === 'tcp') expect(mapped.length).toBeGreaterThan(0);
      for (const f of mapped) expect(f.network.type).toBe('ipv4');
      for (const f of fields.filter((x) => !x.source.ip.includes('.'))) expect([f.network.type, f.socket.family]).toEqual(['ipv6', 'ipv6']);
      for (const f of fields.filter((x) => x.socket.family === 'ipv4')) expect(f.network.type).toBe('ipv4');
      const unconnected = fields.filter((f) => f.socket.state === (transport === 'tcp' ? 'LISTEN' : 'CLOSE'));
      expect(unconnected.length).toBeGreaterThan(0);
      for (const f of unconnected) expect(f.destination).toBeUndefined();
      // A connected raw socket has a peer address and no ports (its source.port is the protocol).
      for (const f of fields.filter((x) => x.socket.state === 'ESTABLISHED')) {
        if (transport === 'raw') expect(f.destination.ip).not.toMatch(/^(0\.0\.0\.0|::)$/);
        else expect(f.destination.port).toBeGreaterThan(0);
      }
    });

    it('summary counts match netstat per state and family', async () => {
      const { events } = await collectOnce(collector({ mode: 'summary' }));
      const rows = parseNetstatInet(zooNs.ns.exec('netstat', [`-${flag}anW`]));
      const f = events[0]!.fields as any;
      const stateNames = [...new Set([...(f.socket.states ? Object.keys(f.socket.states) : []), 'UNKNOWN'])];
      for (const [family, v6] of [['ipv4', false], ['ipv6', true]] as const) {
        const want: Record<string, number> = {};
        for (const r of rows.filter((x) => x.proto.endsWith('6') === v6)) {
          const s = stateNames.find((n) => netstatState(transport, n) === r.state) ?? r.state;
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
}

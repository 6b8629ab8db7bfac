/**
 * The tests the tcp, udp, udplite and raw collectors share: in a namespace holding a socket zoo,
 * the collector reading the namespace through a pid inside it gives exactly the rows that
 * `netstat -{t,u,U,w}anepW` prints there (addresses, ports, state, queues, user, inode, pid), and
 * summary counts per state and family match netstat's. For tcp and udp, in a second namespace
 * holding a randomized crowd of sockets, the netlink source gives the events the /proc source
 * gives, byte for byte but for the timers' countdowns, and both give netstat's rows.
 */
import { describe, expect, it } from 'vitest';
import { NETSTAT_FLAG, type Transport } from '../../src/collect/inet-options.js';
import type { CollectorManifest } from '../../src/core/plugin.js';
import { SockDiag } from '../../src/core/sock-diag.js';
import { collectOnce, type CollectedEvent } from './collect.js';
import { parseSsInfo, tcpInfoMismatches } from './ss-oracle.js';
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

/** The JSON text of a socket event without what only one source has or what moves between two reads. */
function comparableJson(ev: CollectedEvent): string {
  return ev.json!.replace(/"expires_s":[0-9.e+-]+/, '"expires_s":_').replace(/,"backlog_max":\d+/, '');
}

/** A socket's identity across two reads: table, addresses, state, inode. */
function socketKey(ev: CollectedEvent): string {
  const r = inetEventRow(ev);
  return `${rowKey(r)} ${r.inode}`;
}

function byKey(events: CollectedEvent[]): Map<string, CollectedEvent> {
  const map = new Map<string, CollectedEvent>();
  for (const ev of events) {
    const key = socketKey(ev);
    expect(map.has(key), `two sockets read as ${key}`).toBe(false);
    map.set(key, ev);
  }
  return map;
}

export function netlinkMatchesProc({ transport, cls, manifest }: InetSuite): void {
  const crowdNs = useSocketZoo(`na${transport}nl`, { crowd: true });
  const collector = (options: Record<string, unknown>) => crowdNs.collector(cls, manifest, options);

  describe(`${transport}: source netlink against source proc and netstat, on a randomized socket set`, () => {
    it('auto chooses netlink here', async () => {
      const c = collector({ source: 'auto' });
      await collectOnce(c);
      expect((c as any).diag).toBeInstanceOf(SockDiag);
    });

    it('netlink gives the events proc gives, byte for byte but for the timers counting down', async () => {
      const proc = await collectOnce(collector({ source: 'proc', processes: true }));
      const netlink = await collectOnce(collector({ source: 'netlink', processes: true }));
      expect(proc.malformed).toEqual([]);
      expect(netlink.malformed).toEqual([]);
      const fromProc = byKey(proc.events);
      const fromNetlink = byKey(netlink.events);
      expect([...fromNetlink.keys()].sort()).toEqual([...fromProc.keys()].sort());
      expect(fromProc.size).toBeGreaterThan(transport === 'tcp' ? 40 : 8);
      for (const [key, p] of fromProc) {
        const n = fromNetlink.get(key)!;
        const [tp, tn] = [(p.fields as any).socket.timer, (n.fields as any).socket.timer];
        // A SYN still retransmitted (the crowd's SYN_SENT) may time out once more between the reads.
        const retrying = tp.name === 'on' && tn.name === 'on';
        const masked = (ev: CollectedEvent) => (retrying ? comparableJson(ev).replace(/"retransmits":\d+/, '"retransmits":_') : comparableJson(ev));
        expect(masked(n), key).toBe(masked(p));
        if (retrying) expect(tn.retransmits - tp.retransmits, key).toBeGreaterThanOrEqual(0);
        if (retrying) expect(tn.retransmits - tp.retransmits, key).toBeLessThanOrEqual(1);
        // The same countdown read a few ms apart, in the same 1/100 s ticks (a retransmission rearms it).
        if (!retrying || tn.retransmits === tp.retransmits) expect(Math.abs(tp.expires_s - tn.expires_s), key).toBeLessThanOrEqual(1);
      }
    });

    it('netlink gives exactly the rows of netstat -tanuepW', async () => {
      const { events } = await collectOnce(collector({ source: 'netlink', processes: true }));
      const expected = parseNetstatInet(crowdNs.ns.exec('netstat', ['-tanuepW']), { e: true, p: true }).filter((r) =>
        r.proto.startsWith(transport),
      );
      expect(sorted(events.map(inetEventRow)).map(comparable)).toEqual(sorted(expected).map(comparable));
    });

    it('summary counts of both sources agree with netstat per state and family', async () => {
      const rows = parseNetstatInet(crowdNs.ns.exec('netstat', ['-tanuW']));
      for (const source of ['proc', 'netlink']) {
        const { events } = await collectOnce(collector({ source, mode: 'summary' }));
        const f = events[0]!.fields as any;
        for (const [family, proto] of [['ipv4', transport], ['ipv6', `${transport}6`]] as const) {
          const want: Record<string, number> = {};
          for (const r of rows.filter((x) => x.proto === proto)) {
            const st = r.state === '' ? 'CLOSE' : r.state;
            want[st] = (want[st] ?? 0) + 1;
          }
          const nonZero = Object.fromEntries(Object.entries(f.socket.families[family] as Record<string, number>).filter(([, v]) => v > 0));
          expect(nonZero, `${source} ${family}`).toEqual(want);
        }
      }
    });

    const unconnected = transport === 'tcp' ? 'LISTEN' : 'CLOSE';
    it(`states: [${unconnected}] through the kernel's filter gives netstat -${transport[0]}lnW's rows`, async () => {
      const { events } = await collectOnce(collector({ source: 'netlink', states: [unconnected] }));
      const expected = parseNetstatInet(crowdNs.ns.exec('netstat', [`-${transport[0]}lnW`])).filter((r) => r.proto.startsWith(transport));
      expect(expected.length).toBeGreaterThan(2);
      const rows = (list: InetToolRow[]) => list.map((r) => `${rowKey(r)} ${r.recvQ} ${r.sendQ}`).sort();
      expect(rows(events.map(inetEventRow))).toEqual(rows(expected));
    });

    if (transport === 'tcp') {
      it("a listener's socket.backlog_max (netlink only) is the Send-Q ss shows for it", async () => {
        const { events } = await collectOnce(collector({ source: 'netlink', states: ['LISTEN'] }));
        const listeners = new Map(parseSsInfo(crowdNs.ns.exec('ss', ['-tlnH'])).map((r) => [r.local, r]));
        expect(events.length).toBe(listeners.size);
        for (const ev of events) {
          const r = inetEventRow(ev);
          expect((ev.fields as any).socket.backlog_max, r.local).toBe(listeners.get(r.local)?.sendQ);
        }
      });

      it('info: true: tcp.info is what ss -tain shows in the namespace, equal on idle connections', async () => {
        const { events } = await collectOnce(collector({ source: 'netlink', info: true }));
        const ss = new Map(parseSsInfo(crowdNs.ns.exec('ss', ['-tainH'])).map((r) => [`${r.local} ${r.peer}`, r]));
        const withInfo = events.filter((e) => (e.fields as any).tcp?.info !== undefined);
        expect(withInfo.length).toBeGreaterThan(40);
        for (const ev of withInfo) {
          const f = ev.fields as any;
          const r = inetEventRow(ev);
          const theirs = ss.get(`${r.local} ${r.foreign}`);
          expect(theirs, rowKey(r)).toBeDefined();
          // A SYN_SENT connection retransmits its SYN meanwhile, and its RTO backs off.
          const moving = f.socket.state === 'SYN_SENT' ? new Set(['rto', 'retrans', 'total_retrans', 'segs_out']) : new Set<string>();
          expect(tcpInfoMismatches(f.tcp.info, theirs!, moving), rowKey(r)).toEqual([]);
          // With TCP_INFO the timer's count is TCP_INFO's (what /proc prints), whichever timer runs.
          expect(f.socket.timer.retransmits, rowKey(r)).toBe(f.tcp.info.retransmits);
        }
        // Without info: no tcp.info, and the request asks for none.
        const plain = await collectOnce(collector({ source: 'netlink' }));
        expect(plain.events.some((e) => (e.fields as any).tcp !== undefined)).toBe(false);
      });
    }
  });
}

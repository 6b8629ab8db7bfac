/**
 * The tcp collector over a captured namespace (testdata/netns-basic: /proc/<pid>/net files and
 * what netstat printed for the same moment). netstat's text is the oracle.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { optionsWithDefaults } from '../../../src/collect/options-defaults.js';
import { SocketOwners } from '../../../src/core/socket-owners.js';
import { SelfProcFs } from '../../../src/core/procfs.js';
import { collectOnce } from '../../../test/helpers/collect.js';
import { inetEventRow, parseNetstatInet, rowKey } from '../../../test/helpers/netstat-oracle.js';
import { TcpCollector } from './collector.js';
import { tcpCollector } from './index.js';

const data = fileURLToPath(new URL('./testdata/netns-basic/', import.meta.url));
const tool = (name: string) => readFileSync(`${data}${name}`, 'utf8');
const logger = pino({ level: 'silent' });
const instance = { id: 'tcp', type: 'tcp' };

function collector(options: Record<string, unknown> = {}, root = data) {
  return new TcpCollector(optionsWithDefaults(tcpCollector.options, options), new SelfProcFs(root), new SocketOwners(root), logger, instance);
}

const byKey = <T extends { proto: string; local: string; foreign: string; state: string }>(rows: T[]) =>
  [...rows].sort((a, b) => rowKey(a).localeCompare(rowKey(b)));

describe('tcp collector on the netns-basic capture', () => {
  it('lists exactly the rows of netstat -tanu (addresses, ports, state, queues)', async () => {
    const { events, malformed } = await collectOnce(collector());
    expect(malformed).toEqual([]);
    const expected = parseNetstatInet(tool('netstat-tanu.txt')).filter((r) => r.proto.startsWith('tcp'));
    expect(expected.length).toBeGreaterThan(10);
    const got = events.map(inetEventRow).map(({ proto, recvQ, sendQ, local, foreign, state }) => ({
      proto, recvQ, sendQ, local, foreign, state,
    }));
    expect(byKey(got)).toEqual(byKey(expected));
    for (const e of events) {
      expect(e.dataset).toBe('tcp.socket');
      expect(e.kind).toBe('state');
    }
  });

  it('has the user and inode of netstat -tanue', async () => {
    const { events } = await collectOnce(collector());
    const expected = parseNetstatInet(tool('netstat-tanue.txt'), { e: true }).filter((r) => r.proto.startsWith('tcp'));
    const got = events.map(inetEventRow).map(({ proto, local, foreign, state, user, inode }) => ({
      proto, local, foreign, state, user, inode,
    }));
    expect(byKey(got)).toEqual(byKey(expected.map(({ proto, local, foreign, state, user, inode }) => ({
      proto, local, foreign, state, user, inode,
    }))));
  });

  it('has the timers of netstat -tanuo (expiry within the moment between the two captures)', async () => {
    const { events } = await collectOnce(collector());
    const expected = byKey(parseNetstatInet(tool('netstat-tanuo.txt'), { o: true }).filter((r) => r.proto.startsWith('tcp')));
    const got = byKey(events.map(inetEventRow));
    expect(got.length).toBe(expected.length);
    got.forEach((g, i) => {
      const x = expected[i]!;
      expect(rowKey(g)).toBe(rowKey(x));
      expect(g.timer!.name).toBe(x.timer!.name);
      expect(g.timer!.retransmits).toBe(x.timer!.retransmits);
      expect(g.timer!.probes).toBe(x.timer!.probes);
      expect(Math.abs(g.timer!.expires - x.timer!.expires)).toBeLessThan(1);
    });
  });

  it('summary counts per state and family agree with the netstat rows', async () => {
    const { events } = await collectOnce(collector({ mode: 'summary' }));
    expect(events).toHaveLength(1);
    const ev = events[0]!;
    expect(ev.dataset).toBe('tcp.summary');
    expect(ev.kind).toBe('metric');
    const rows = parseNetstatInet(tool('netstat-tanu.txt'));
    const fam = (proto: string) => {
      const out: Record<string, number> = {};
      for (const r of rows.filter((x) => x.proto === proto)) out[r.state] = (out[r.state] ?? 0) + 1;
      return out;
    };
    const f = ev.fields as any;
    expect(f.network).toEqual({ transport: 'tcp' });
    const nonZero = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v > 0));
    expect(nonZero(f.socket.families.ipv4)).toEqual(fam('tcp'));
    expect(nonZero(f.socket.families.ipv6)).toEqual(fam('tcp6'));
    expect(f.socket.count).toBe(rows.filter((r) => r.proto.startsWith('tcp')).length);
    expect(Object.keys(f.socket.states)).toHaveLength(11); // every state, zeros included
    expect(f.socket.states.ESTABLISHED).toBe(fam('tcp').ESTABLISHED! + fam('tcp6').ESTABLISHED!);
  });

  it('mode both: the summary equals the counted socket events', async () => {
    const { events } = await collectOnce(collector({ mode: 'both' }));
    const sockets = events.filter((e) => e.dataset === 'tcp.socket');
    const summary = events.find((e) => e.dataset === 'tcp.summary')!.fields as any;
    const counts: Record<string, number> = {};
    for (const e of sockets) {
      const s = (e.fields as any).socket.state;
      counts[s] = (counts[s] ?? 0) + 1;
    }
    for (const [s, n] of Object.entries(summary.socket.states)) expect(n).toBe(counts[s] ?? 0);
  });

  it('filters like netstat -l (states), by family and by ports', async () => {
    const rows = parseNetstatInet(tool('netstat-tanu.txt')).filter((r) => r.proto.startsWith('tcp'));
    const listen = await collectOnce(collector({ states: ['LISTEN'] }));
    expect(byKey(listen.events.map(inetEventRow)).map(rowKey)).toEqual(
      byKey(rows.filter((r) => r.state === 'LISTEN')).map(rowKey),
    );
    const v6 = await collectOnce(collector({ families: ['ipv6'] }));
    expect(v6.events.length).toBe(rows.filter((r) => r.proto === 'tcp6').length);
    const port = await collectOnce(collector({ local_ports: [8080], remote_ports: ['0-10000'] }));
    const want = rows.filter((r) => r.local.endsWith(':8080') && Number(r.foreign.split(':').pop()!.replace('*', '0')) <= 10000);
    expect(byKey(port.events.map(inetEventRow)).map(rowKey)).toEqual(byKey(want).map(rowKey));
    expect(want.length).toBeGreaterThan(0);
    const sum = await collectOnce(collector({ mode: 'summary', states: ['LISTEN', 'ESTABLISHED'] }));
    const f = sum.events[0]!.fields as any;
    expect(Object.keys(f.socket.states).sort()).toEqual(['ESTABLISHED', 'LISTEN']);
    expect(f.socket.states.LISTEN).toBe(rows.filter((r) => r.state === 'LISTEN').length);
  });

  it('writes each socket event straight to JSON text, in the documented key order', async () => {
    for (const options of [{}, { timers: false, users: false }, { processes: true }]) {
      const { events } = await collectOnce(collector(options));
      expect(events.length).toBeGreaterThan(0);
      for (const e of events) {
        expect(typeof e.json).toBe('string');
        expect(e.json).toBe(JSON.stringify(e.fields)); // valid JSON, no duplicate keys
        const peer = (e.fields as any).socket.state !== 'LISTEN';
        expect(Object.keys(e.fields).slice(0, peer ? 5 : 4)).toEqual(['network', 'source', ...(peer ? ['destination'] : []), 'socket', 'user']);
      }
    }
  });

  it('adds the view fields to every event, merging them where they share a top-level key', async () => {
    const procfs = new SelfProcFs(data);
    procfs.netViews = async () => [{ pid: 'self', fields: { netns: { inode: 4026531840 } } }];
    const c = new TcpCollector(optionsWithDefaults(tcpCollector.options, { mode: 'both' }), procfs, new SocketOwners(data), logger, instance);
    const { events } = await collectOnce(c);
    for (const e of events) expect((e.fields as any).netns).toEqual({ inode: 4026531840 });
    procfs.netViews = async () => [{ pid: 'self', fields: { network: { namespace: 'ns1' } } }];
    const merged = await collectOnce(new TcpCollector(optionsWithDefaults(tcpCollector.options, {}), procfs, new SocketOwners(data), logger, instance));
    expect(merged.events.length).toBeGreaterThan(0);
    for (const e of merged.events) {
      expect((e.fields as any).network).toEqual({ transport: 'tcp', type: (e.fields as any).network.type, namespace: 'ns1' });
      expect(['ipv4', 'ipv6']).toContain((e.fields as any).network.type);
    }
  });

  it('skips malformed lines, one malformed() report per file with the count', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tcp-bad-'));
    mkdirSync(join(dir, 'self/net'), { recursive: true });
    const lines = readFileSync(`${data}self/net/tcp`, 'latin1').split('\n');
    writeFileSync(join(dir, 'self/net/tcp'), [...lines.slice(0, 3), 'junk', lines[3]!.slice(0, 50), ...lines.slice(4)].join('\n'));
    writeFileSync(join(dir, 'self/net/tcp6'), readFileSync(`${data}self/net/tcp6`, 'latin1').slice(0, -40)); // cut short
    for (const mode of ['sockets', 'summary']) {
      const { events, malformed } = await collectOnce(collector({ mode }, dir));
      expect(malformed.map((m) => [m.source.replace(dir, ''), m.count])).toEqual([
        ['/self/net/tcp', 2],
        ['/self/net/tcp6', 1],
      ]);
      expect(malformed[0]!.example).toBe('junk');
      const n = mode === 'sockets' ? events.length : (events[0]!.fields as any).socket.count;
      expect(n).toBe(lines.filter((l) => /^\s*\d+:/.test(l)).length - 1 + 6 - 1);
    }
    rmSync(dir, { recursive: true });
  });

  it('a missing file (IPv6 disabled) is no error', async () => {
    const { events, malformed } = await collectOnce(collector({}, '/nonexistent'));
    expect(events).toEqual([]);
    expect(malformed).toEqual([]);
  });

  it('info: true needs the netlink source: with source proc it is refused at construction', () => {
    expect(() => collector({ source: 'proc', info: true })).toThrow(/info: true needs the netlink source/);
    expect(() => collector({ source: 'auto', info: true })).not.toThrow();
  });

  it('a fixture proc root is read as files with source auto (no namespace to dump)', async () => {
    const { events } = await collectOnce(collector({ info: true }));
    expect(events.length).toBeGreaterThan(10);
    expect(events.some((e) => (e.fields as any).tcp !== undefined || (e.fields as any).socket.backlog_max !== undefined)).toBe(false);
  });
});

/** The udp collector over the captured namespace; netstat's text is the oracle. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { optionsWithDefaults } from '../../../src/collect/options-defaults.js';
import { SocketOwners } from '../../../src/core/socket-owners.js';
import { SelfProcFs } from '../../../src/core/procfs.js';
import { collectOnce } from '../../../test/helpers/collect.js';
import { inetEventRow, parseNetstatInet, rowKey, type InetToolRow } from '../../../test/helpers/netstat-oracle.js';
import { UdpCollector } from './collector.js';
import { udpCollector } from './index.js';

const data = fileURLToPath(new URL('./testdata/netns-basic/', import.meta.url));
const tool = (name: string) => readFileSync(`${data}${name}`, 'utf8');

function collector(options: Record<string, unknown> = {}, root = data) {
  return new UdpCollector(optionsWithDefaults(udpCollector.options, options), new SelfProcFs(root), new SocketOwners(root), pino({ level: 'silent' }), {
    id: 'udp',
    type: 'udp',
  });
}
const sorted = (rows: InetToolRow[]) => [...rows].sort((a, b) => rowKey(a).localeCompare(rowKey(b)));

describe('udp collector on the netns-basic capture', () => {
  it('lists exactly the udp rows of netstat -tanue, states ESTABLISHED or CLOSE', async () => {
    const { events, malformed } = await collectOnce(collector());
    expect(malformed).toEqual([]);
    const expected = parseNetstatInet(tool('netstat-tanue.txt'), { e: true }).filter((r) => r.proto.startsWith('udp'));
    expect(expected.length).toBeGreaterThanOrEqual(3);
    const got = events.map(inetEventRow).map(({ timer: _t, ...r }) => r);
    expect(sorted(got)).toEqual(sorted(expected));
    for (const e of events) {
      expect(e.dataset).toBe('udp.socket');
      expect(['ESTABLISHED', 'CLOSE']).toContain((e.fields as any).socket.state);
      expect((e.fields as any).network.transport).toBe('udp');
    }
  });

  it('has the timers of netstat -tanuo', async () => {
    const { events } = await collectOnce(collector());
    const expected = sorted(parseNetstatInet(tool('netstat-tanuo.txt'), { o: true }).filter((r) => r.proto.startsWith('udp')));
    expect(sorted(events.map(inetEventRow)).map((r) => r.timer)).toEqual(expected.map((r) => r.timer));
  });

  it('summary: counts per family, CLOSE for bound-only sockets (netstat -lu)', async () => {
    const { events } = await collectOnce(collector({ mode: 'summary' }));
    const rows = parseNetstatInet(tool('netstat-tanu.txt')).filter((r) => r.proto.startsWith('udp'));
    const f = events[0]!.fields as any;
    expect(events[0]!.dataset).toBe('udp.summary');
    expect(f.socket.states).toEqual({
      ESTABLISHED: rows.filter((r) => r.state === 'ESTABLISHED').length,
      CLOSE: rows.filter((r) => r.state === '').length,
    });
    expect(f.socket.families.ipv6.CLOSE).toBe(rows.filter((r) => r.proto === 'udp6' && r.state === '').length);
    const bound = await collectOnce(collector({ states: ['CLOSE'] }));
    expect(bound.events.length).toBe(rows.filter((r) => r.foreign.endsWith(':*')).length);
  });
});

describe('udp collector on a table with states netstat does not know for UDP', () => {
  // testdata/odd-states: sockets in TCP's LISTEN (0A) and SYN_SENT (02) numbers, which no UDP code
  // path of ours sets but a kernel may print; netstat-uanWe.txt is net-tools reading exactly
  // these files (bind-mounted over /proc in a private mount namespace).
  const odd = fileURLToPath(new URL('./testdata/odd-states/', import.meta.url));
  const oddTool = readFileSync(`${odd}netstat-uanWe.txt`, 'utf8');

  it('reports them as UNKNOWN, as netstat prints them, not as TCP state names', async () => {
    const { events, malformed } = await collectOnce(collector({}, odd));
    expect(malformed).toEqual([]);
    const expected = parseNetstatInet(oddTool, { e: true });
    expect(expected.filter((r) => r.state === 'UNKNOWN').length).toBe(3);
    const got = events.map(inetEventRow).map(({ timer: _t, ...r }) => r);
    expect(sorted(got)).toEqual(sorted(expected));
  });

  it('summary counts them under UNKNOWN beside the two UDP states', async () => {
    const { events } = await collectOnce(collector({ mode: 'summary' }, odd));
    const rows = parseNetstatInet(oddTool, { e: true });
    const f = events[0]!.fields as any;
    expect(f.socket.states).toEqual({
      ESTABLISHED: rows.filter((r) => r.state === 'ESTABLISHED').length,
      CLOSE: rows.filter((r) => r.state === '').length,
      UNKNOWN: rows.filter((r) => r.state === 'UNKNOWN').length,
    });
    expect(f.socket.families.ipv6).toEqual({ ESTABLISHED: 0, CLOSE: 1, UNKNOWN: 1 });
  });
});

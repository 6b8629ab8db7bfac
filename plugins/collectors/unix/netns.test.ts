/**
 * In a fresh namespace holding stream/dgram/seqpacket/abstract/unnamed unix sockets, the unix
 * collector gives exactly the rows `netstat -xap` prints there (type, state, flags, refcnt,
 * inode, path, pid).
 */
import { describe, expect, it } from 'vitest';
import { collectOnce } from '../../../test/helpers/collect.js';
import { requireNetnsTools } from '../../../test/helpers/netns.js';
import { parseNetstatUnix, unixEventRow, type UnixToolRow } from '../../../test/helpers/netstat-oracle.js';
import { useSocketZoo } from '../../../test/helpers/socket-zoo.js';
import { UnixCollector } from './collector.js';
import { unixCollector } from './index.js';

requireNetnsTools(['ip', 'netstat', 'ss', 'python3']);

const zooNs = useSocketZoo('naunix');
const collector = (options: Record<string, unknown>) => zooNs.collector(UnixCollector, unixCollector, options);

const sorted = (rows: UnixToolRow[]) => [...rows].sort((a, b) => a.inode - b.inode);

describe('unix collector in a namespace, netstat -xap as the oracle', () => {
  it('gives exactly the rows of netstat -xap', async () => {
    const { ns, zoo } = zooNs;
    const { events, malformed } = await collectOnce(collector({ processes: true }));
    const expected = parseNetstatUnix(ns.exec('netstat', ['-xap']), { p: true });
    expect(malformed).toEqual([]);
    const kinds = new Set(expected.map((r) => r.type));
    expect(kinds).toEqual(new Set(['STREAM', 'DGRAM', 'SEQPACKET']));
    expect(expected.some((r) => r.path.startsWith('@zoo-abstract'))).toBe(true);
    const got = events.map((e) => unixEventRow(e.fields));
    const strip = ({ program: _p, ...r }: UnixToolRow) => r;
    expect(sorted(got).map(strip)).toEqual(sorted(expected).map(strip));
    expect(got.filter((r) => r.pid === zoo.pid).length).toBeGreaterThanOrEqual(8);
  });
});

/** Counts of rows by a column, the blank state named UNCONNECTED as the collector's filter does. */
function countBy(rows: UnixToolRow[], column: 'type' | 'state'): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) {
    const name = r[column] === '' ? 'UNCONNECTED' : r[column];
    out[name] = (out[name] ?? 0) + 1;
  }
  return out;
}
const nonZero = (counts: Record<string, number>) => Object.fromEntries(Object.entries(counts).filter(([, n]) => n !== 0));

describe('unix collector, mode summary, netstat -xa and ss -xa as the oracles', () => {
  it('counts per type and state what netstat -xa lists, and as many sockets as ss -xa', async () => {
    const { ns } = zooNs;
    const { events, malformed } = await collectOnce(collector({ mode: 'summary' }));
    const expected = parseNetstatUnix(ns.exec('netstat', ['-xa']));
    const ssRows = ns.exec('ss', ['-xaH']).split('\n').filter((l) => l.trim() !== '');
    expect(malformed).toEqual([]);
    expect(events.map((e) => e.dataset)).toEqual(['unix.summary']);
    const socket = events[0]!.fields.socket as { types: Record<string, number>; states: Record<string, number>; count: number };
    expect(nonZero(socket.types)).toEqual(countBy(expected, 'type'));
    expect(nonZero(socket.states)).toEqual(countBy(expected, 'state'));
    expect(socket.count).toBe(expected.length);
    expect(socket.count).toBe(ssRows.length);
    expect(Object.keys(socket.types)).toEqual(['STREAM', 'DGRAM', 'RAW', 'RDM', 'SEQPACKET', 'UNKNOWN']);
  });

  it('counts only the types and states the filters name', async () => {
    const { ns } = zooNs;
    const { events } = await collectOnce(collector({ mode: 'summary', types: ['STREAM'], states: ['LISTENING', 'CONNECTED'] }));
    const expected = parseNetstatUnix(ns.exec('netstat', ['-xa'])).filter(
      (r) => r.type === 'STREAM' && (r.state === 'LISTENING' || r.state === 'CONNECTED'),
    );
    const socket = events[0]!.fields.socket as { types: Record<string, number>; states: Record<string, number>; count: number };
    expect(socket.types).toEqual({ STREAM: expected.length });
    expect(socket.states).toEqual({ LISTENING: 0, CONNECTED: 0, ...countBy(expected, 'state') });
    expect(socket.count).toBe(expected.length);
  });
});

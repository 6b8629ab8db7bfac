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

requireNetnsTools(['ip', 'netstat', 'python3']);

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

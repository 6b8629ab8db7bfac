/**
 * In a fresh namespace holding stream/dgram/seqpacket/abstract/unnamed unix sockets, the unix
 * collector gives exactly the rows `netstat -xap` prints there (type, state, flags, refcnt,
 * inode, path, pid).
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { optionsWithDefaults } from '../../../src/collect/options-defaults.js';
import { SocketOwners } from '../../../src/collect/process-sockets.js';
import { SelfProcFs } from '../../../src/core/procfs.js';
import { collectOnce } from '../../../test/helpers/collect.js';
import { NetNamespace, requireNetnsTools } from '../../../test/helpers/netns.js';
import { parseNetstatUnix, unixEventRow, type UnixToolRow } from '../../../test/helpers/netstat-oracle.js';
import { startSocketZoo, type SocketZoo } from '../../../test/helpers/socket-zoo.js';
import { UnixCollector } from './collector.js';
import { unixCollector } from './index.js';

requireNetnsTools(['ip', 'netstat', 'python3']);

let ns: NetNamespace;
let zoo: SocketZoo;
let viewPid: string;

beforeAll(async () => {
  ns = NetNamespace.create('naunix');
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
  return new UnixCollector(optionsWithDefaults(unixCollector.options, options), procfs, new SocketOwners('/proc'), pino({ level: 'silent' }), {
    id: 'unix',
    type: 'unix',
  });
}

const sorted = (rows: UnixToolRow[]) => [...rows].sort((a, b) => a.inode - b.inode);

describe('unix collector in a namespace, netstat -xap as the oracle', () => {
  it('gives exactly the rows of netstat -xap', async () => {
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

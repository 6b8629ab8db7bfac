/**
 * End to end, as issue 3 is checked: in a fresh namespace holding every kind of socket,
 * `netagent once` run inside it prints exactly the rows of `netstat -tanuepW` (addresses, ports,
 * state, queues, user, inode, pid) and `netstat -xap` (type, state, flags, refcnt, inode, path).
 * Runs the built CLI (`npm test` builds first).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { CollectedEvent } from './helpers/collect.js';
import { requireNetnsTools } from './helpers/netns.js';
import {
  inetEventRow,
  parseNetstatInet,
  parseNetstatUnix,
  rowKey,
  unixEventRow,
  type InetToolRow,
  type UnixToolRow,
} from './helpers/netstat-oracle.js';
import { useCliZoo } from './helpers/socket-zoo.js';

const bin = fileURLToPath(new URL('../bin/netagent', import.meta.url));
requireNetnsTools(['ip', 'netstat', 'python3']);

const cli = useCliZoo('nae2e');

function once(config: string): CollectedEvent[] {
  const path = join(cli.dir, 'agent.yaml');
  writeFileSync(path, config);
  const out = cli.ns.exec('node', [bin, 'once', '-c', path]);
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const ev = JSON.parse(l);
      const { '@timestamp': _t, event, host: _h, agent: _a, labels: _l, ...fields } = ev;
      return { dataset: event.dataset, kind: event.kind, fields };
    });
}

const sortInet = (rows: InetToolRow[]) =>
  [...rows].sort((a, b) => rowKey(a).localeCompare(rowKey(b)) || (a.inode ?? 0) - (b.inode ?? 0));
const inetComparable = ({ proto, recvQ, sendQ, local, foreign, state, user, inode, pid }: InetToolRow) => ({
  proto, recvQ, sendQ, local, foreign, state, user, inode, pid,
});
const sortUnix = (rows: UnixToolRow[]) => [...rows].sort((a, b) => a.inode - b.inode);

describe('netagent once in a namespace equals netstat', () => {
  it('tcp, udp (processes: true) and unix rows', async () => {
    const events = once(
      [
        'collectors:',
        '  - {type: tcp, options: {mode: both, processes: true}}',
        '  - {type: udp, options: {processes: true}}',
        '  - {type: unix, options: {processes: true}}',
        'sinks:',
        '  - type: stdout',
      ].join('\n'),
    );
    const netstat = parseNetstatInet(cli.ns.exec('netstat', ['-tanuepW']), { e: true, p: true });
    const inet = events.filter((e) => e.dataset === 'tcp.socket' || e.dataset === 'udp.socket').map(inetEventRow);
    expect(netstat.length).toBeGreaterThanOrEqual(20);
    expect(sortInet(inet).map(inetComparable)).toEqual(sortInet(netstat).map(inetComparable));
    expect(inet.filter((r) => r.pid === cli.zoo.pid).length).toBeGreaterThan(10);

    const summary = events.find((e) => e.dataset === 'tcp.summary')!.fields as any;
    expect(summary.socket.count).toBe(netstat.filter((r) => r.proto.startsWith('tcp')).length);

    const unixNetstat = parseNetstatUnix(cli.ns.exec('netstat', ['-xap']), { p: true });
    const unix = events.filter((e) => e.dataset === 'unix.socket').map((e) => unixEventRow(e.fields));
    const strip = ({ program: _p, ...r }: UnixToolRow) => r;
    expect(sortUnix(unix).map(strip)).toEqual(sortUnix(unixNetstat).map(strip));
  });
});

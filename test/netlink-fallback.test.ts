/**
 * `source: auto` where netlink is refused, as issue 13 is checked: `netagent once` (the built CLI)
 * in a namespace holding a socket zoo, under a seccomp filter that fails
 * socket(AF_NETLINK, NETLINK_SOCK_DIAG) with EPERM (test/helpers/deny-sock-diag.py, what a sandbox
 * does), still gives exactly netstat's rows, read from /proc, and says once why; `source: netlink`
 * fails the run naming the reason. Without CAP_SYS_ADMIN (no setns), `agent.netns: all` reads the
 * other namespaces through /proc, also said once.
 */
import { spawnSync } from 'node:child_process';
import { readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nsInode } from '../src/core/netns.js';
import { requireNetnsTools } from './helpers/netns.js';
import { inetEventRow, parseNetstatInet, rowKey, type InetToolRow } from './helpers/netstat-oracle.js';
import { useCliZoo } from './helpers/socket-zoo.js';
import type { CollectedEvent } from './helpers/collect.js';

const bin = fileURLToPath(new URL('../bin/netagent', import.meta.url));
const deny = fileURLToPath(new URL('./helpers/deny-sock-diag.py', import.meta.url));
const EPERM = 1;
requireNetnsTools(['ip', 'netstat', 'python3', 'setpriv']);

const cli = useCliZoo('nafallback');

interface Run {
  status: number | null;
  events: CollectedEvent[];
  logs: Record<string, any>[];
}

function once(name: string, config: string, wrapper: string[]): Run {
  const path = join(cli.dir, `${name}.yaml`);
  writeFileSync(path, config);
  const r = spawnSync('ip', ['netns', 'exec', cli.ns.name, ...wrapper, 'node', bin, 'once', '-c', path], { encoding: 'utf8', timeout: 60_000 });
  const events = r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const { event, '@timestamp': _t, host: _h, agent: _a, labels: _l, ...fields } = JSON.parse(l);
      return { dataset: event.dataset, kind: event.kind, fields };
    });
  const logs = r.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, any>);
  return { status: r.status, events, logs };
}

const config = (source: string) =>
  `agent: {stats_interval: 0s, state_dir: ${cli.dir}/state}\n` +
  `collectors:\n  - {type: tcp, options: {source: ${source}, processes: true}}\n  - {type: udp, options: {source: ${source}, processes: true}}\n` +
  `sinks:\n  - type: stdout\n`;

const comparable = ({ proto, recvQ, sendQ, local, foreign, state, user, inode, pid }: InetToolRow) =>
  `${rowKey({ proto, local, foreign, state })} ${recvQ} ${sendQ} ${user} ${inode} ${pid}`;

const refusals = (logs: Record<string, any>[]) => logs.filter((l) => /netlink sock_diag unavailable/.test(l.msg ?? ''));

describe('source auto where the sandbox refuses sock_diag', () => {
  it('control: without the filter, netlink is used and nothing is said', () => {
    const run = once('control', config('auto'), []);
    expect(run.status).toBe(0);
    expect(refusals(run.logs)).toEqual([]);
    expect(run.events.length).toBeGreaterThan(10);
  });

  it('gives exactly the rows of netstat -tanuepW, from /proc, and says once per collector why', () => {
    const run = once('auto', config('auto'), ['python3', deny, String(EPERM)]);
    expect(run.status).toBe(0);
    const expected = parseNetstatInet(cli.ns.exec('netstat', ['-tanuepW']), { e: true, p: true });
    const got = run.events.filter((e) => e.dataset.endsWith('.socket')).map(inetEventRow);
    expect(got.map(comparable).sort()).toEqual(expected.map(comparable).sort());
    const told = refusals(run.logs);
    expect(told.map((l) => l.collector).sort()).toEqual(['tcp', 'udp']);
    for (const l of told) expect(l.reason).toMatch(/EPERM/);
    // A /proc listener's Send-Q as netstat prints it, and no backlog_max (only netlink knows it).
    expect(run.events.some((e) => (e.fields as any).socket.backlog_max !== undefined)).toBe(false);
  });

  it('source netlink fails the run, naming the reason', () => {
    const run = once('netlink', config('netlink'), ['python3', deny, String(EPERM)]);
    expect(run.status).toBe(0); // `once` exits 0; the failed collectors are logged
    expect(run.events.filter((e) => e.dataset.endsWith('.socket'))).toEqual([]);
    const failures = run.logs.filter((l) => JSON.stringify(l).includes('source netlink') && JSON.stringify(l).includes('EPERM'));
    expect(failures.length).toBeGreaterThanOrEqual(2);
  });
});

describe('agent.netns: all without CAP_SYS_ADMIN (no setns)', () => {
  it("reads the other namespaces' sockets through /proc and says once why", () => {
    const path = join(cli.dir, 'all.yaml');
    writeFileSync(
      path,
      `agent: {netns: all, stats_interval: 0s, state_dir: ${cli.dir}/state}\n` +
        `collectors:\n  - {type: tcp, options: {states: [LISTEN]}}\nsinks:\n  - type: stdout\n`,
    );
    // Root without CAP_SYS_ADMIN: /proc/<pid>/ns links still readable (CAP_SYS_PTRACE), setns refused.
    const r = spawnSync('setpriv', ['--bounding-set=-sys_admin', '--inh-caps=-sys_admin', 'node', bin, 'once', '-c', path], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    const zooInode = nsInode(readlinkSync(`/proc/${cli.zoo.pid}/ns/net`));
    const expected = parseNetstatInet(cli.ns.exec('netstat', ['-tlnW']));
    const fromZoo = events.filter((e) => e.netns?.inode === zooInode).map((e) => `${e.source.ip}:${e.source.port}`).sort();
    expect(fromZoo.length).toBeGreaterThan(3);
    expect(fromZoo).toEqual(expected.map((x) => x.local).sort());
    const told = r.stderr.split('\n').filter((l) => l.includes('cannot open a sock_diag socket in another network namespace'));
    expect(told.length).toBe(1);
    expect(told[0]).toMatch(/EPERM/);
  });
});

/** SocketOwners over a fake proc root: fd symlinks `socket:[N]`, comm files, pids coming and going. */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { collectOnce } from '../../test/helpers/collect.js';
import { createRootContainer } from '../composition-root.js';
import { Agent } from '../core/agent.js';
import { planFromText } from '../core/config/load.js';
import { EventStamper } from '../core/envelope.js';
import { InstanceCounters } from '../core/instance-counters.js';
import { SocketOwners } from './socket-owners.js';
import { parsePasswd, UserNames } from '../collect/users.js';

let root: string;
afterEach(() => rmSync(root, { recursive: true, force: true }));

function proc(pid: number, comm: string, fds: Record<number, string>): void {
  mkdirSync(join(root, String(pid), 'fd'), { recursive: true });
  writeFileSync(join(root, String(pid), 'comm'), `${comm}\n`);
  for (const [fd, target] of Object.entries(fds)) symlinkSync(target, join(root, String(pid), 'fd', fd));
}

describe('SocketOwners', () => {
  it('maps inodes to the lowest pid, caches, rescans once on a miss, remembers ownerless sockets', async () => {
    root = mkdtempSync(join(tmpdir(), 'owners-'));
    mkdirSync(join(root, 'net'));
    proc(300, 'nginx', { 0: '/dev/null', 3: 'socket:[1001]', 4: 'socket:[1002]', 5: 'pipe:[77]' });
    proc(200, 'nginx-master', { 3: 'socket:[1001]' }); // shared: lowest pid wins
    const warn: unknown[] = [];
    const log = { warn: (...a: unknown[]) => warn.push(a) };
    const owners = new SocketOwners(root, { reuseMs: 0 });

    await owners.beginCycle(log);
    expect(owners.fullScans).toBe(1);
    expect(owners.get(1001)).toEqual({ pid: 200, name: 'nginx-master' });
    expect(owners.get(1002)).toEqual({ pid: 300, name: 'nginx' });
    expect(owners.get(77)).toBeUndefined();

    // A new process is scanned on its own; nothing else is.
    proc(400, 'sshd', { 7: 'socket:[2001]' });
    const scansBefore = owners.pidScans;
    await owners.beginCycle(log);
    expect(owners.pidScans - scansBefore).toBe(1);
    expect(owners.get(2001)).toEqual({ pid: 400, name: 'sshd' });
    expect(owners.fullScans).toBe(1);

    // A known process opens a socket at a reused fd number: a miss asks for one full rescan.
    unlinkSync(join(root, '300', 'fd', '4'));
    symlinkSync('socket:[1003]', join(root, '300', 'fd', '4'));
    expect(owners.get(1003)).toBeUndefined();
    expect(owners.needsRescan(1003)).toBe(true);
    await owners.rescan();
    expect(owners.get(1003)).toEqual({ pid: 300, name: 'nginx' });
    // A socket nobody holds (kernel socket): no second rescan in this cycle, none in the next.
    expect(owners.needsRescan(9999)).toBe(false);
    await owners.beginCycle(log);
    expect(owners.needsRescan(9999)).toBe(false);
    expect(owners.needsRescan(0)).toBe(false);

    // A vanished process takes its sockets with it.
    rmSync(join(root, '400'), { recursive: true });
    await owners.beginCycle(log);
    expect(owners.get(2001)).toBeUndefined();
    expect(warn).toEqual([]);
  });
});

describe('one SocketOwners per agent', () => {
  const testdata = (plugin: string, file: string) =>
    fileURLToPath(new URL(`../../plugins/collectors/${plugin}/testdata/netns-basic/self/net/${file}`, import.meta.url));

  /** An agent with tcp, udp and unix collectors over the fake proc root, on a clock the test moves. */
  async function socketAgent(processes: boolean, clock: { now: number }): Promise<Agent> {
    const container = createRootContainer({ logger: pino({ level: 'silent' }) });
    const yaml =
      `agent: {proc_root: ${JSON.stringify(root)}, stats_interval: 0s}\n` +
      `collectors:\n${['tcp', 'udp', 'unix'].map((t) => `  - {type: ${t}, options: {processes: ${processes}}}\n`).join('')}` +
      `sinks: [{type: stdout}]\n`;
    const plan = await planFromText('test.yaml', yaml, container, {});
    const logger = pino({ level: 'silent' });
    return Agent.build(plan, container, {
      logger,
      stamper: new EventStamper({ hostName: 'h', agentVersion: '0', agentId: '', ephemeralId: 'e', labels: {} }),
      ephemeralId: 'e',
      now: () => clock.now,
      counters: new InstanceCounters(() => clock.now),
    });
  }
  /** Runs every collector of the agent at once, as one tick does; the events by dataset. */
  async function tick(agent: Agent): Promise<Map<string, Record<string, any>[]>> {
    const results = await Promise.all(agent.collectors.map((c) => collectOnce(c.collector)));
    const out = new Map<string, Record<string, any>[]>();
    for (const e of results.flatMap((r) => r.events)) out.set(e.dataset, [...(out.get(e.dataset) ?? []), e.fields]);
    return out;
  }
  const ownersOf = (agent: Agent) => agent.collectors.map((c) => (c.collector as any).owners as SocketOwners | null);

  function fakeProc(): void {
    root = mkdtempSync(join(tmpdir(), 'owners-agent-'));
    mkdirSync(join(root, 'self', 'net'), { recursive: true });
    for (const [plugin, files] of [['tcp', ['tcp', 'tcp6']], ['udp', ['udp', 'udp6']], ['unix', ['unix']]] as const) {
      for (const f of files) copyFileSync(testdata(plugin, f), join(root, 'self', 'net', f));
    }
    // Inodes of the captured files: a tcp listener, a udp socket, a unix stream socket.
    proc(100, 'demo', { 3: 'socket:[448915]', 4: 'socket:[448930]', 5: 'socket:[448934]' });
    proc(200, 'idle', { 0: '/dev/null' });
  }

  it('tcp, udp and unix in one tick share one scan; the next tick one incremental scan', async () => {
    fakeProc();
    const clock = { now: 1_000_000 };
    const agent = await socketAgent(true, clock);
    const [tcpOwners, udpOwners, unixOwners] = ownersOf(agent);
    expect(tcpOwners).toBeInstanceOf(SocketOwners);
    expect(udpOwners).toBe(tcpOwners);
    expect(unixOwners).toBe(tcpOwners);
    const owners = tcpOwners!;

    const first = await tick(agent);
    expect(owners.fullScans).toBe(1);
    expect(owners.pidScans).toBe(2); // each process once, not once per collector
    const pidOf = (dataset: string, inode: number) =>
      first.get(dataset)!.find((f) => f.socket.inode === inode)?.process;
    expect(pidOf('tcp.socket', 448915)).toEqual({ pid: 100, name: 'demo' });
    expect(pidOf('udp.socket', 448930)).toEqual({ pid: 100, name: 'demo' });
    expect(pidOf('unix.socket', 448934)).toEqual({ pid: 100, name: 'demo' });

    // The next tick: a new process, scanned once for the three collectors.
    clock.now += 10_000;
    proc(300, 'late', { 7: 'socket:[448916]' });
    const second = await tick(agent);
    expect(owners.fullScans).toBe(1);
    expect(owners.pidScans).toBe(3);
    expect(second.get('tcp.socket')!.find((f) => f.socket.inode === 448916)?.process).toEqual({ pid: 300, name: 'late' });

    // Another agent (a reload) has its own.
    const other = await socketAgent(true, clock);
    expect(ownersOf(other)[0]).not.toBe(owners);
  });

  it('without processes: true no collector holds it and nothing is scanned', async () => {
    fakeProc();
    const agent = await socketAgent(false, { now: 0 });
    expect(ownersOf(agent)).toEqual([null, null, null]);
    const events = await tick(agent);
    expect(events.get('tcp.socket')!.every((f) => f.process === undefined)).toBe(true);
  });
});

describe('user names', () => {
  it('parses passwd, first entry wins', () => {
    const m = parsePasswd('root:x:0:0:root:/root:/bin/bash\n# comment\nbad line\nalice:x:1000:1000::/home/a:/bin/sh\ntoor:x:0:0::/:/bin/sh\n');
    expect([...m]).toEqual([
      [0, 'root'],
      [1000, 'alice'],
    ]);
  });
  it('reads the passwd file beside the proc root (/host/proc → /host/etc/passwd)', () => {
    root = mkdtempSync(join(tmpdir(), 'users-'));
    mkdirSync(join(root, 'proc'));
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'etc', 'passwd'), 'svc:x:4242:4242::/:/bin/false\n');
    const users = new UserNames(join(root, 'proc'));
    users.refresh();
    expect(users.name(4242)).toBe('svc');
    expect(users.name(0)).toBeUndefined();
  });
});

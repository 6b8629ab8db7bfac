/**
 * Lifecycle events in a real namespace (issue 13): `tcp.connection` from the kernel's destroy
 * notifications (netlink) and from cycle-to-cycle diffs (/proc), with
 * the byte counts a python3 driver sent; `tcp.listener` / `udp.listener` against `ss -tln` /
 * `ss -uln` in the namespace. The socket zoo beside them is the background every cycle reads.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Collector } from '../../../src/core/plugin.js';
import { BIN, tempDir, writeConfig } from '../../../test/helpers/cli.js';
import { collectOnce, type CollectedEvent } from '../../../test/helpers/collect.js';
import { requireNetnsTools } from '../../../test/helpers/netns.js';
import { inetEventRow } from '../../../test/helpers/netstat-oracle.js';
import { parseSsInfo } from '../../../test/helpers/ss-oracle.js';
import { useSocketZoo } from '../../../test/helpers/socket-zoo.js';
import { UdpCollector } from '../udp/collector.js';
import { udpCollector } from '../udp/index.js';
import { TcpCollector } from './collector.js';
import { tcpCollector } from './index.js';

requireNetnsTools(['ip', 'ss', 'python3']);

const DENY = fileURLToPath(new URL('../../../test/helpers/deny-sock-diag.py', import.meta.url));

/**
 * Commands on stdin, one JSON answer line each. `open N`: N connections to the driver's listener,
 * each side sending a random byte count that the other reads whole; `close`: closes them, clients
 * first; `flash N [v6]`: opens, exchanges and closes N at once (over ::1 with v6; the listeners
 * share the port); `listen tcp|udp` / `unlisten PORT`.
 */
const DRIVER = String.raw`
import json, random, resource, socket, sys
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]; resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
lst = socket.socket(); lst.bind(("127.0.0.1", 0)); lst.listen(4096)
port = lst.getsockname()[1]
lst6 = socket.socket(socket.AF_INET6); lst6.bind(("::1", port)); lst6.listen(4096)
conns = []; extra = {}
def read(s, n):
    while n > 0: n -= len(s.recv(min(n, 65536)))
def pair(v6=False):
    c = socket.create_connection(("::1" if v6 else "127.0.0.1", port)); a, _ = (lst6 if v6 else lst).accept()
    cs, ss = random.randint(1, 5000), random.randint(1, 5000)
    c.sendall(b"x" * cs); a.sendall(b"y" * ss); read(a, cs); read(c, ss)
    return c, a, {"client_port": c.getsockname()[1], "client_sent": cs, "server_sent": ss}
def close(items):
    for c, a, _ in items: c.close()
    for c, a, _ in items: a.close()
print("ready", flush=True)
for line in sys.stdin:
    cmd, *args = line.split()
    if cmd == "port":
        out = port
    elif cmd == "open":
        new = [pair() for _ in range(int(args[0]))]; conns.extend(new); out = [m for _, _, m in new]
    elif cmd == "close":
        close(conns); out = len(conns); conns = []
    elif cmd == "flash":
        new = [pair(len(args) > 1) for _ in range(int(args[0]))]; close(new); out = [m for _, _, m in new]
    elif cmd == "listen":
        s = socket.socket(type=socket.SOCK_STREAM if args[0] == "tcp" else socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        if args[0] == "tcp": s.listen(8)
        out = s.getsockname()[1]; extra[out] = s
    elif cmd == "unlisten":
        extra.pop(int(args[0])).close(); out = int(args[0])
    print(json.dumps(out), flush=True)
`;

interface Sent {
  client_port: number;
  client_sent: number;
  server_sent: number;
}

/** The driver process: one command at a time, its answer parsed. */
class Driver {
  private readonly waiting: ((line: string) => void)[] = [];
  port = 0;
  constructor(private readonly child: ChildProcess) {
    // spawnReady() saw `ready`; the rest of its line may still come here.
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line !== '' && line !== 'ready') this.waiting.shift()?.(line);
    });
  }
  async ask<T>(command: string): Promise<T> {
    const answer = new Promise<string>((resolve) => this.waiting.push(resolve));
    this.child.stdin!.write(`${command}\n`);
    return JSON.parse(await answer) as T;
  }
}

const zooNs = useSocketZoo('nalife');
let driver: Driver;
beforeAll(async () => {
  const child = await zooNs.ns.spawnReady('python3', ['-c', DRIVER]);
  driver = new Driver(child);
  driver.port = await driver.ask<number>('port');
});
afterAll(() => driver?.ask('close').catch(() => {}));

const tcp = (options: Record<string, unknown>) => zooNs.collector(TcpCollector, tcpCollector, options);
const f = (e: CollectedEvent) => e.fields as any;
/** The driver's connections among the events: one side's local port or the other's peer port is its listener's. */
const ofDriver = (events: CollectedEvent[], dataset: string) =>
  events.filter((e) => e.dataset === dataset && (f(e).source.port === driver.port || f(e).destination?.port === driver.port));
const settle = (ms = 300) => new Promise((r) => setTimeout(r, ms));
/** `<local port> <peer port>`: a socket's identity here (all on 127.0.0.1). */
const tuple = (e: CollectedEvent) => `${f(e).source.port} ${f(e).destination.port}`;

/** What each socket of `sent` must report at its end: the data plus one for the FIN each way and one for the client's SYN. */
function expectedBytes(sent: Sent[], port: number): Map<string, { bytes_acked: number; bytes_received: number }> {
  const want = new Map<string, { bytes_acked: number; bytes_received: number }>();
  for (const s of sent) {
    want.set(`${s.client_port} ${port}`, { bytes_acked: s.client_sent + 2, bytes_received: s.server_sent + 1 });
    want.set(`${port} ${s.client_port}`, { bytes_acked: s.server_sent + 1, bytes_received: s.client_sent + 1 });
  }
  return want;
}

describe('tcp.connection with netlink and destroy notifications', () => {
  let c: Collector;
  beforeAll(async () => {
    c = tcp({ source: 'netlink', connections: true, info: true, mode: 'summary', processes: true });
    const first = await collectOnce(c);
    // The first cycle: what is open already is reported once, as info.
    const zooConnections = first.events.filter((e) => e.dataset === 'tcp.connection');
    expect(zooConnections.length).toBeGreaterThan(0);
    expect(new Set(zooConnections.map((e) => e.detail?.type))).toEqual(new Set(['info']));
    expect(c.stats!()).toMatchObject({ destroy_listeners: 1, destroy_notifications_lost: 0 });
  });
  afterAll(() => c.close?.());

  it('1000 connections opened and closed between cycles: one start and one end each, the end with the final byte counts', async () => {
    const sent = await driver.ask<Sent[]>('open 1000');
    const opened = await collectOnce(c);
    const starts = ofDriver(opened.events, 'tcp.connection');
    expect(starts.length).toBe(2000);
    expect(starts.every((e) => e.kind === 'event' && e.detail?.type === 'start' && e.detail.durationNs === undefined)).toBe(true);
    expect(new Set(starts.map(tuple)).size).toBe(2000);
    // The summary is there too, as mode asks.
    expect(opened.events.filter((e) => e.dataset === 'tcp.summary').length).toBe(1);

    await driver.ask('close');
    await settle();
    const closed = await collectOnce(c);
    const ends = ofDriver(closed.events, 'tcp.connection');
    expect(ends.map((e) => e.detail?.type).filter((t) => t !== 'end')).toEqual([]);
    expect(ends.length).toBe(2000);
    const want = expectedBytes(sent, driver.port);
    const mismatches: string[] = [];
    for (const e of ends) {
      const info = f(e).tcp?.info;
      const expected = want.get(tuple(e));
      if (!expected || info?.bytes_acked !== expected.bytes_acked || info?.bytes_received !== expected.bytes_received) {
        mismatches.push(`${tuple(e)}: ${JSON.stringify(info && { a: info.bytes_acked, r: info.bytes_received })} want ${JSON.stringify(expected)}`);
      }
      want.delete(tuple(e));
      // Seen opening a cycle before: the duration is from then on, in ns.
      expect(e.detail!.durationNs).toBeGreaterThan(0);
      // The inode and process the table showed, though the kernel reports neither once closed.
      expect(f(e).socket.inode).toBeGreaterThan(0);
      expect(f(e).process?.name).toBe('python3');
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
    expect(want.size).toBe(0);
    expect(c.stats!()).toMatchObject({ destroy_notifications_lost: 0, lifecycle_dropped: 0 });

    // Their TIME_WAIT remains start nothing, and nothing ends twice.
    const after = await collectOnce(c);
    expect(ofDriver(after.events, 'tcp.connection')).toEqual([]);
  });

  it('connections shorter than a cycle, IPv4 and IPv6: a start and an end each, no duration, with the byte counts', async () => {
    const sent = [...(await driver.ask<Sent[]>('flash 150')), ...(await driver.ask<Sent[]>('flash 50 v6'))];
    await settle();
    const { events } = await collectOnce(c);
    const mine = ofDriver(events, 'tcp.connection');
    const starts = mine.filter((e) => e.detail?.type === 'start');
    const ends = mine.filter((e) => e.detail?.type === 'end');
    expect([starts.length, ends.length]).toEqual([400, 400]);
    expect(new Set(starts.map(tuple))).toEqual(new Set(ends.map(tuple)));
    expect(ends.filter((e) => f(e).network.type === 'ipv6').length).toBe(100);
    const want = expectedBytes(sent, driver.port);
    for (const e of ends) {
      expect(e.detail!.durationNs).toBeUndefined();
      const { bytes_acked, bytes_received } = f(e).tcp.info;
      expect({ bytes_acked, bytes_received }, tuple(e)).toEqual(want.get(tuple(e)));
    }
    expect(ofDriver((await collectOnce(c)).events, 'tcp.connection')).toEqual([]);
  });
});

describe('tcp.connection from diffs alone (source proc)', () => {
  it('connections that lived across a cycle: start, then end with the last fields seen and the duration', async () => {
    const c = tcp({ source: 'proc', connections: true, mode: 'summary', processes: true });
    await collectOnce(c);
    await driver.ask<Sent[]>('open 300');
    const opened = ofDriver((await collectOnce(c)).events, 'tcp.connection');
    expect(opened.length).toBe(600);
    expect(opened.every((e) => e.detail?.type === 'start' && f(e).socket.state === 'ESTABLISHED')).toBe(true);
    // processes: true attributes both sides to the driver.
    expect(new Set(opened.map((e) => f(e).process?.name))).toEqual(new Set(['python3']));
    await settle(50);
    await driver.ask('close');
    const ended = ofDriver((await collectOnce(c)).events, 'tcp.connection');
    expect(ended.length).toBe(600);
    expect(new Set(ended.map(tuple))).toEqual(new Set(opened.map(tuple)));
    for (const e of ended) {
      expect(e.detail!.type).toBe('end');
      expect(e.detail!.durationNs).toBeGreaterThanOrEqual(50e6);
      expect(f(e).socket.state).toBe('ESTABLISHED');
      expect(f(e).process.name).toBe('python3');
    }
    expect(c.stats!()).toMatchObject({ destroy_listeners: 0 });
    await c.close?.();
  });
});

describe('tcp.connection: bounds and fallback', () => {
  it('max_tracked: connections beyond it get no events and are counted as lifecycle_dropped', async () => {
    const c = tcp({ source: 'netlink', connections: true, mode: 'summary', max_tracked: 50 });
    const first = (await collectOnce(c)).events.filter((e) => e.dataset === 'tcp.connection');
    expect(first.length).toBeLessThanOrEqual(50);
    await driver.ask('open 100');
    const { events } = await collectOnce(c);
    expect(events.filter((e) => e.dataset === 'tcp.connection').length).toBe(50 - first.length);
    expect((c.stats!() as Record<string, number>).lifecycle_dropped).toBeGreaterThanOrEqual(200 - (50 - first.length));
    await c.close?.();
    await driver.ask('close');
  });

  it('where the groups cannot be joined (a sandbox): diffs alone, said once, the events still there (built CLI)', () => {
    if (!existsSync(new URL('../../../dist/bundle/main.cjs', import.meta.url))) throw new Error('netagent is not built: run `npm run build`');
    const dir = tempDir('netagent-lifecycle-');
    try {
      const config = writeConfig(dir, `agent: {state_dir: ${dir}/state}\ncollectors:\n  - {type: tcp, options: {mode: summary, connections: true, source: netlink}}\nsinks:\n  - type: stdout\n`);
      // The dump works, joining the destroy groups is refused (EPERM, from a seccomp filter).
      const r = spawnSync('ip', ['netns', 'exec', zooNs.ns.name, 'python3', DENY, '--groups', '1', 'node', BIN, 'once', '-l', 'info', '-c', config], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(r.status, r.stderr).toBe(0);
      const told = r.stderr.split('\n').filter((l) => l.includes('no destroy notifications'));
      expect(told.length).toBe(1);
      expect(JSON.parse(told[0]!).reason).toMatch(/EPERM/);
      const datasets = r.stdout.trim().split('\n').map((l) => JSON.parse(l).event);
      expect(datasets.filter((e) => e.dataset === 'tcp.connection').length).toBeGreaterThan(0);
      expect(datasets.filter((e) => e.dataset === 'tcp.connection').every((e) => e.type.join() === 'connection,info')).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('tcp.listener and udp.listener against ss', () => {
  /** ss's listeners in the namespace, as `ip:port`. */
  const ssListeners = (flags: string) => new Set(parseSsInfo(zooNs.ns.exec('ss', [flags])).map((r) => r.local));
  const local = (e: CollectedEvent) => inetEventRow(e).local;

  for (const [transport, flags, collector] of [
    ['tcp', '-tlnH', () => tcp({ listeners: true, states: ['LISTEN'], mode: 'summary' })],
    ['udp', '-ulnH', () => zooNs.collector(UdpCollector, udpCollector, { listeners: true, mode: 'summary' })],
  ] as const) {
    it(`${transport}: the first cycle lists ss's listeners once (info); a new one starts, a closed one ends`, async () => {
      const c = collector();
      const dataset = `${transport}.listener`;
      const first = (await collectOnce(c)).events.filter((e) => e.dataset === dataset);
      expect(first.every((e) => e.kind === 'event' && e.detail?.type === 'info')).toBe(true);
      const inventory = new Set(first.map(local));
      expect(inventory).toEqual(ssListeners(flags));
      expect((await collectOnce(c)).events.filter((e) => e.dataset === dataset)).toEqual([]);

      const port = await driver.ask<number>(`listen ${transport}`);
      const started = (await collectOnce(c)).events.filter((e) => e.dataset === dataset);
      expect(started.map((e) => [e.detail?.type, f(e).source.port])).toEqual([['start', port]]);
      expect(new Set([...inventory, ...started.map(local)])).toEqual(ssListeners(flags));

      await driver.ask(`unlisten ${port}`);
      const ended = (await collectOnce(c)).events.filter((e) => e.dataset === dataset);
      expect(ended.map((e) => [e.detail?.type, f(e).source.port])).toEqual([['end', port]]);
      expect(ended[0]!.detail!.durationNs).toBeGreaterThan(0);
      expect(inventory).toEqual(ssListeners(flags));
      await c.close?.();
    });
  }
});

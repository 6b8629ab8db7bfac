/**
 * A python3 process holding one of every kind of socket the socket collectors must report, in a
 * test network namespace, on random ports: TCP v4/v6 listeners (one dual-stack with a v4-mapped
 * peer), established pairs with unread bytes both ways, a connection waiting in a backlog,
 * TIME_WAIT, CLOSE_WAIT/FIN_WAIT2, UDP and UDP-Lite bound and connected v4/v6 with queued
 * datagrams, raw sockets (ICMP with queued packets, IPPROTO_RAW, a connected one, ICMPv6), and
 * unix stream/dgram/seqpacket/abstract/unnamed sockets.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { optionsWithDefaults } from '../../src/collect/options-defaults.js';
import { SocketOwners } from '../../src/core/socket-owners.js';
import type { Collector, CollectorManifest, PluginInstance } from '../../src/core/plugin.js';
import { SelfProcFs, type ProcFs } from '../../src/core/procfs.js';
import { NetNamespace } from './netns.js';

const ZOO = String.raw`
import os, random, socket, sys, time
d = sys.argv[1]
keep = []
def tcp(fam, addr, backlog=16):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(addr); s.listen(backlog); keep.append(s); return s
def connect(fam, addr):
    c = socket.socket(fam, socket.SOCK_STREAM); c.connect(addr); keep.append(c); return c
ports = random.sample(range(20000, 60000), 12)
l4 = tcp(socket.AF_INET, ("127.0.0.1", ports[0]))
l4any = tcp(socket.AF_INET, ("0.0.0.0", ports[1]))
l6 = tcp(socket.AF_INET6, ("::1", ports[2]))
l6any = tcp(socket.AF_INET6, ("::", ports[3]))          # dual stack
backlog = tcp(socket.AF_INET, ("127.0.0.1", ports[4]), 1)
# established pairs with unread bytes both ways
for fam, lst, host in ((socket.AF_INET, l4, "127.0.0.1"), (socket.AF_INET6, l6, "::1"), (socket.AF_INET, l4any, "127.0.0.1")):
    c = connect(fam, (host, lst.getsockname()[1])); a, _ = lst.accept(); keep.append(a)
    c.send(b"x" * random.randint(1, 3000)); a.send(b"y" * random.randint(1, 3000))
# a v4 client of the dual-stack listener: the accepted socket is ::ffff:127.0.0.1 in tcp6
c = connect(socket.AF_INET, ("127.0.0.1", ports[3])); a, _ = l6any.accept(); keep.append(a); c.send(b"z" * 10)
# a connection left in the backlog (never accepted)
connect(socket.AF_INET, ("127.0.0.1", ports[4]))
# TIME_WAIT: the client closes first
c = socket.socket(); c.connect(("127.0.0.1", ports[0])); a, _ = l4.accept(); c.close(); time.sleep(0.05); a.close()
# CLOSE_WAIT / FIN_WAIT2: the server closes, the client does not
c = connect(socket.AF_INET, ("127.0.0.1", ports[0])); a, _ = l4.accept(); a.close()
c6 = connect(socket.AF_INET6, ("::1", ports[2])); a, _ = l6.accept(); a.close()
# UDP: bound v4/v6, connected v4/v6, datagrams waiting
u4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u4.bind(("0.0.0.0", ports[5])); keep.append(u4)
u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u6.bind(("::", ports[6])); keep.append(u6)
cu4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); cu4.connect(("127.0.0.1", ports[5])); keep.append(cu4)
cu6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); cu6.connect(("::1", ports[6])); keep.append(cu6)
for _ in range(random.randint(1, 4)): cu4.send(b"d" * 100); cu6.send(b"e" * 50)
# UDP-Lite: the same, protocol 136
def lite(fam):
    s = socket.socket(fam, socket.SOCK_DGRAM, socket.IPPROTO_UDPLITE); keep.append(s); return s
l4u = lite(socket.AF_INET); l4u.bind(("127.0.0.1", ports[8]))
l6u = lite(socket.AF_INET6); l6u.bind(("::", ports[9]))
lc4 = lite(socket.AF_INET); lc4.connect(("127.0.0.1", ports[8]))
lc6 = lite(socket.AF_INET6); lc6.connect(("::1", ports[9]))
for _ in range(random.randint(1, 3)): lc4.send(b"l" * 70); lc6.send(b"m" * 30)
# raw: ICMP (an echo to itself queues the request and the reply), IPPROTO_RAW, GRE connected, ICMPv6
def raw(fam, proto):
    s = socket.socket(fam, socket.SOCK_RAW, proto); keep.append(s); return s
icmp = raw(socket.AF_INET, socket.IPPROTO_ICMP)
icmp.sendto(b"\x08\x00\xf7\xff\x00\x00\x00\x00", ("127.0.0.1", 0))
raw(socket.AF_INET, 255)
gre = raw(socket.AF_INET, 47); gre.bind(("127.0.0.1", 0)); gre.connect(("127.0.0.2", 0))
raw(socket.AF_INET6, socket.IPPROTO_ICMPV6)
# unix
def ux(kind, path):
    s = socket.socket(socket.AF_UNIX, kind); s.bind(path); keep.append(s); return s
us = ux(socket.SOCK_STREAM, os.path.join(d, "stream.sock")); us.listen(4)
uc = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); uc.connect(os.path.join(d, "stream.sock")); keep.append(uc)
ua, _ = us.accept(); keep.append(ua)
ux(socket.SOCK_DGRAM, os.path.join(d, "dgram.sock"))
ux(socket.SOCK_SEQPACKET, os.path.join(d, "seq.sock")).listen(2)
ux(socket.SOCK_STREAM, "\0zoo-abstract-%d" % ports[7]).listen(1)
keep.extend(socket.socketpair())
print("ready", flush=True)
time.sleep(3600)
`;

/**
 * A randomized crowd beside the zoo (its own random seed, printed with `ready`): listeners with
 * random backlogs, v4 and v6, some with connections waiting in them; established pairs with
 * random unread bytes, some with keepalive timers, some half-closed (CLOSE_WAIT / FIN_WAIT2) or
 * closed (TIME_WAIT); connections stuck in SYN_SENT behind a full backlog (a running timer);
 * UDP sockets bound to either family's loopback or wildcard, some connected with datagrams queued.
 */
const CROWD = String.raw`
import errno, random, socket, sys, time
seed = random.randrange(1 << 30)
rng = random.Random(seed)
keep = []
FAMS = [(socket.AF_INET, "127.0.0.1", "0.0.0.0"), (socket.AF_INET6, "::1", "::")]
listeners = []
for _ in range(rng.randint(3, 8)):
    fam, host, _any = rng.choice(FAMS)
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, 0)); s.listen(rng.randint(8, 512)); keep.append(s)
    listeners.append((s, fam, host))
for _ in range(rng.randint(20, 150)):
    s, fam, host = rng.choice(listeners)
    c = socket.socket(fam, socket.SOCK_STREAM); c.connect((host, s.getsockname()[1]))
    a, _ = s.accept()
    if rng.random() < 0.3: c.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    # Closing a socket with unread bytes resets the connection: only a side kept open gets any.
    r = rng.random()
    if r < 0.1:                                   # c: CLOSE_WAIT, a: FIN_WAIT2 (orphaned)
        if rng.random() < 0.5: a.send(b"y" * rng.randint(1, 5000))
        a.close(); keep.append(c)
    elif r < 0.2:                                 # c: TIME_WAIT
        c.close(); time.sleep(0.01); a.close()
    else:
        if rng.random() < 0.7: c.send(b"x" * rng.randint(1, 5000))
        if rng.random() < 0.7: a.send(b"y" * rng.randint(1, 5000))
        keep.extend((c, a))
for s, fam, host in listeners[:2]:
    for _ in range(rng.randint(1, 3)):          # waiting in the accept queue
        c = socket.socket(fam, socket.SOCK_STREAM); c.connect((host, s.getsockname()[1])); keep.append(c)
# A backlog of 0 holds one connection; the SYNs after it are dropped and retransmitted.
fam, host, _any = rng.choice(FAMS)
full = socket.socket(fam, socket.SOCK_STREAM); full.bind((host, 0)); full.listen(0); keep.append(full)
c = socket.socket(fam, socket.SOCK_STREAM); c.connect((host, full.getsockname()[1])); keep.append(c)
for _ in range(rng.randint(1, 3)):
    c = socket.socket(fam, socket.SOCK_STREAM); c.setblocking(False)
    err = c.connect_ex((host, full.getsockname()[1])); keep.append(c)
udp = []
for _ in range(rng.randint(5, 40)):
    fam, host, anyaddr = rng.choice(FAMS)
    u = socket.socket(fam, socket.SOCK_DGRAM); u.bind((host if rng.random() < 0.5 else anyaddr, 0)); keep.append(u)
    udp.append((u, fam, host))
for _ in range(rng.randint(3, 15)):
    u, fam, host = rng.choice(udp)
    c = socket.socket(fam, socket.SOCK_DGRAM); c.connect((host, u.getsockname()[1])); keep.append(c)
    for _ in range(rng.randint(0, 4)): c.send(b"d" * rng.randint(1, 1200))
print("crowd seed", seed, file=sys.stderr)
print("ready", flush=True)
time.sleep(3600)
`;

export interface SocketZoo {
  /** The pid of the python process holding the sockets (`ip netns exec` execs in place). */
  readonly pid: number;
  /** Removes the unix socket directory (the namespace's destroy() kills the process). */
  cleanup(): void;
}

export interface ZooOptions {
  /** Also start the randomized crowd (CROWD) in the namespace. */
  readonly crowd?: boolean;
}

export async function startSocketZoo(ns: NetNamespace, options: ZooOptions = {}): Promise<SocketZoo> {
  const dir = mkdtempSync(join(tmpdir(), 'netagent-zoo-'));
  const child = await ns.spawnReady('python3', ['-c', ZOO, dir]);
  if (options.crowd) await ns.spawnReady('python3', ['-c', CROWD]);
  // Let the TIME_WAIT / FIN_WAIT2 transitions settle.
  await new Promise((r) => setTimeout(r, 200));
  return { pid: child.pid!, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A collector class of the socket collectors (tcp, udp, unix): how their tests construct one. */
export type SocketCollectorClass = new (
  options: never,
  procfs: ProcFs,
  owners: SocketOwners,
  logger: Logger,
  instance: PluginInstance,
) => Collector;

export interface ZooNamespace {
  readonly ns: NetNamespace;
  readonly zoo: SocketZoo;
  /**
   * A collector reading the namespace through a pid inside it, with its own process cache
   * (SocketOwners); `manifest` gives the option defaults and the instance id.
   */
  collector(cls: SocketCollectorClass, manifest: CollectorManifest, options: Record<string, unknown>): Collector;
}

/**
 * For one test file: a fresh namespace holding a socket zoo, made before the file's tests and
 * removed after them.
 */
export function useSocketZoo(prefix: string, options: ZooOptions = {}): ZooNamespace {
  let ns: NetNamespace | undefined;
  let zoo: SocketZoo | undefined;
  let viewPid = '';
  beforeAll(async () => {
    ns = NetNamespace.create(prefix);
    zoo = await startSocketZoo(ns, options);
    viewPid = await ns.viewPid();
  });
  afterAll(() => {
    ns?.destroy();
    zoo?.cleanup();
  });
  return {
    get ns() {
      return ns!;
    },
    get zoo() {
      return zoo!;
    },
    collector: (cls, manifest, options) => collectorInView(viewPid, cls, manifest, options),
  };
}

/**
 * A collector reading one namespace through a pid inside it, with its own process cache
 * (SocketOwners); `manifest` gives the option defaults and the instance id.
 */
export function collectorInView(viewPid: string, cls: SocketCollectorClass, manifest: CollectorManifest, options: Record<string, unknown>): Collector {
  const procfs = new SelfProcFs('/proc');
  procfs.netViews = async () => [{ pid: viewPid, fields: {} }];
  const instance = { id: manifest.type, type: manifest.type };
  // reuseMs 0: every collect() is a cycle of its own, as when the collector runs alone.
  const owners = new SocketOwners('/proc', { reuseMs: 0 });
  return new cls(optionsWithDefaults(manifest.options, options) as never, procfs, owners, pino({ level: 'silent' }), instance);
}

export interface CliZoo {
  readonly ns: NetNamespace;
  readonly zoo: SocketZoo;
  /** A scratch directory for the run's config and state. */
  readonly dir: string;
}

/**
 * For a test file running the built CLI (`bin/netagent`) inside a zoo namespace: checks the build,
 * makes the namespace, its zoo and a scratch directory before the file's tests, removes them after.
 */
export function useCliZoo(prefix: string): CliZoo {
  let ns: NetNamespace | undefined;
  let zoo: SocketZoo | undefined;
  let dir = '';
  beforeAll(async () => {
    if (!existsSync(new URL('../../dist/bundle/main.cjs', import.meta.url))) {
      throw new Error('netagent is not built: run `npm run build` (npm test does it)');
    }
    ns = NetNamespace.create(prefix);
    zoo = await startSocketZoo(ns);
    dir = mkdtempSync(join(tmpdir(), `netagent-${prefix}-`));
  });
  afterAll(() => {
    ns?.destroy();
    zoo?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return {
    get ns() {
      return ns!;
    },
    get zoo() {
      return zoo!;
    },
    get dir() {
      return dir;
    },
  };
}

/**
 * tcp.aggregate in a real network namespace, `ss` as the oracle: a server process and a client
 * process (named by prctl, so that `ss -p` tells them apart) hold connections to four local
 * ports from peers in several /24 and /64 networks (addresses on the namespace's loopback),
 * including v4 clients of a dual-stack listener (v4-mapped in the tcp6 table) and half-closed
 * connections. The counts per group must be what `ss -tan` / `ss -tanp` print there, the
 * percentiles of rtt what `ss -tin` prints.
 */
import { isIPv4 } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectOnce } from '../../../test/helpers/collect.js';
import { declaredBy, declaredLeaves } from '../../../test/helpers/es-templates.js';
import { NetNamespace, requireNetnsTools } from '../../../test/helpers/netns.js';
import { collectorInView } from '../../../test/helpers/socket-zoo.js';
import { parseSsInfo, printfG } from '../../../test/helpers/ss-oracle.js';
import { TcpCollector } from './collector.js';
import { tcpCollector } from './index.js';

requireNetnsTools(['ip', 'ss', 'python3']);

const NAME = `import ctypes, sys; ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)`;

const SERVER = String.raw`
${NAME}
import socket, threading, time
ports = [int(p) for p in sys.argv[2].split(",")]
keep = []
def serve(s):
    while True:
        a, _ = s.accept(); keep.append(a)
def listen(fam, host, port):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port)); s.listen(128); keep.append(s)
    threading.Thread(target=serve, args=(s,), daemon=True).start()
for p in ports[:3]: listen(socket.AF_INET, "10.9.0.1", p)
listen(socket.AF_INET6, "::", ports[3])     # dual stack: v4 clients are ::ffff:… in tcp6
print("ready", flush=True)
time.sleep(3600)
`;

/** Connections as planned in argv[2]: [[source, destination, port, count, closeFirst], …]. */
const CLIENT = String.raw`
${NAME}
import json, socket, time
keep = []
for src, dst, port, n, close in json.loads(sys.argv[2]):
    for _ in range(n):
        c = socket.socket(socket.AF_INET6 if ":" in src else socket.AF_INET, socket.SOCK_STREAM)
        c.bind((src, 0)); c.connect((dst, port))
        if close: c.close()   # FIN_WAIT2 here (orphaned), CLOSE_WAIT at the server
        else: keep.append(c)
time.sleep(0.3)
print("ready", flush=True)
time.sleep(3600)
`;

const V4_PEERS = ['10.1.1.1', '10.1.1.2', '10.1.2.1', '10.2.0.1'];
const V6_PEERS = ['fd00:1:2:3::1', 'fd00:1:2:3::2', 'fd00:1:2:4::1'];
const rand = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo + 1));

/** ss's state names as netstat (and the events) name them. */
function netstatState(ss: string): string {
  return ss === 'ESTAB' ? 'ESTABLISHED' : ss.replace(/-/g, '_').replace(/_(\d)$/, '$1');
}

/** `host:port` (netstat text, port `*` for 0) split. */
function split(hostPort: string): [string, number] {
  const at = hostPort.lastIndexOf(':');
  const port = hostPort.slice(at + 1);
  return [hostPort.slice(0, at), port === '*' ? 0 : Number(port)];
}

/** The eight groups of an IPv6 address, in hex without leading zeros. */
function groups(host: string): string[] {
  const [head, tail = ''] = host.split('::') as [string, string?];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  return [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t].map((g) => parseInt(g, 16).toString(16));
}

/** The test's own reading of a peer's network: the first 3 octets, or the first 4 groups of the IPv6 address. */
function network(host: string): string | undefined {
  if (host === '0.0.0.0' || host === '::') return undefined;
  if (isIPv4(host)) return `${host.split('.').slice(0, 3).join('.')}.0/24`;
  return `${groups(host).slice(0, 4).join(':')}/64`;
}

/** An event's CIDR in network()'s form (an IPv6 one's host part must be zeros). */
function cidr(text: string | undefined): string | undefined {
  if (text === undefined || isIPv4(text.split('/')[0]!)) return text;
  const g = groups(text.split('/')[0]!);
  expect(g.slice(4), text).toEqual(['0', '0', '0', '0']);
  return `${g.slice(0, 4).join(':')}/${text.split('/')[1]}`;
}

interface SsSocket {
  state: string;
  localPort: number;
  network: string | undefined;
  process: string | undefined;
  rtt: string | undefined;
}

describe('tcp.aggregate in a namespace, ss as the oracle', () => {
  let ns: NetNamespace;
  let viewPid = '';
  const ports = [0, 1, 2, 3].map((i) => 20000 + i * 1000 + rand(0, 999));

  beforeAll(async () => {
    ns = NetNamespace.create('naagg');
    for (const a of ['10.9.0.1', ...V4_PEERS]) ns.exec('ip', ['addr', 'add', `${a}/32`, 'dev', 'lo']);
    for (const a of ['fd00:9::1', ...V6_PEERS]) ns.exec('ip', ['-6', 'addr', 'add', `${a}/128`, 'dev', 'lo', 'nodad']);
    await ns.spawnReady('python3', ['-c', SERVER, 'aggsrv', ports.join(',')]);
    const plan: [string, string, number, number, boolean][] = [];
    for (const [i, port] of ports.entries()) {
      for (const src of i === 3 ? [...V6_PEERS, V4_PEERS[1]!] : V4_PEERS.slice(0, 2 + i)) {
        const dst = src.includes(':') ? 'fd00:9::1' : '10.9.0.1';
        plan.push([src, dst, port, rand(1, 6), false]);
        if (Math.random() < 0.5) plan.push([src, dst, port, rand(1, 2), true]);
      }
    }
    await ns.spawnReady('python3', ['-c', CLIENT, 'aggcli', JSON.stringify(plan)]);
    viewPid = await ns.viewPid();
  });
  afterAll(() => ns?.destroy());

  const collector = (options: Record<string, unknown>) => collectorInView(viewPid, TcpCollector, tcpCollector, options);

  /** Every socket `ss -tanp` (with `-i`: and its rtt) prints in the namespace, but listeners. */
  function ssSockets(info = false): SsSocket[] {
    const text = ns.exec('ss', [info ? '-tanpiH' : '-tanpH']);
    const lines = text.split('\n').filter((l) => l.trim() !== '' && !/^\s/.test(l));
    const rows = parseSsInfo(text);
    expect(rows.length).toBe(lines.length);
    return rows
      .map((r, i) => ({
        state: netstatState(r.state),
        localPort: split(r.local)[1],
        network: network(split(r.peer)[0]),
        process: /users:\(\("([^"]+)"/.exec(lines[i]!)?.[1],
        rtt: r.values.get('rtt')?.split('/')[0],
      }))
      .filter((s) => s.state !== 'LISTEN');
  }

  function tally<T>(items: T[], key: (t: T) => string): Map<string, number> {
    const m = new Map<string, number>();
    for (const t of items) m.set(key(t), (m.get(key(t)) ?? 0) + 1);
    return m;
  }

  for (const source of ['proc', 'netlink']) {
    it(`${source}: counts per local port and remote network, per state, are ss -tan's; listeners left out`, async () => {
      const { events } = await collectOnce(collector({ source, mode: 'summary', aggregate: { by: ['local_port', 'remote_network'], top: 10_000 } }));
      const want = new Map<string, Record<string, number>>();
      for (const s of ssSockets()) {
        const states = want.get(`${s.localPort} ${s.network}`) ?? {};
        states[s.state] = (states[s.state] ?? 0) + 1;
        want.set(`${s.localPort} ${s.network}`, states);
      }
      const aggregates = events.filter((e) => e.dataset === 'tcp.aggregate').map((e) => e.fields as any);
      expect(aggregates.some((f) => f.aggregate.other)).toBe(false);
      const got = new Map(
        aggregates.map((f) => [
          `${f.source.port} ${cidr(f.aggregate.remote_network)}`,
          Object.fromEntries(Object.entries(f.socket.states as Record<string, number>).filter(([, n]) => n > 0)),
        ]),
      );
      expect(got).toEqual(want);
      // The server's ports, from several /24 and /64 networks, v4-mapped peers as IPv4 networks.
      expect(got.has(`${ports[0]} 10.1.1.0/24`)).toBe(true);
      expect(got.has(`${ports[3]} fd00:1:2:3/64`)).toBe(true);
      expect(aggregates.map((f) => f.aggregate.remote_network)).toContain('fd00:1:2:3::/64');
      expect(got.has(`${ports[3]} 10.1.1.0/24`)).toBe(true);
      for (const f of aggregates) expect(f.socket.count).toBe(Object.values(f.socket.states as Record<string, number>).reduce((a, b) => a + b, 0));
      expect(events.some((e) => e.dataset === 'tcp.summary')).toBe(true);
    });
  }

  it('by local port and process, top 3: the kept groups and the other sum are ss -tanp\'s; socket events name no process unasked', async () => {
    const c = collector({ mode: 'both', aggregate: { by: ['local_port', 'process'], top: 3 } });
    const { events } = await collectOnce(c);
    const want = tally(ssSockets(), (s) => `${s.localPort} ${s.process}`);
    const aggregates = events.filter((e) => e.dataset === 'tcp.aggregate').map((e) => e.fields as any);
    const kept = aggregates.filter((f) => !f.aggregate.other);
    expect(kept).toHaveLength(3);
    for (const f of kept) expect(f.socket.count, `${f.source.port} ${f.process?.name}`).toBe(want.get(`${f.source.port} ${f.process?.name}`));
    const keptKeys = new Set(kept.map((f) => `${f.source.port} ${f.process?.name}`));
    const folded = [...want].filter(([k]) => !keptKeys.has(k));
    for (const [, n] of folded) expect(n).toBeLessThanOrEqual(Math.min(...kept.map((f) => f.socket.count)));
    const other = aggregates.find((f) => f.aggregate.other);
    expect(other.aggregate).toEqual({ by: ['local_port', 'process'], other: true, folded_groups: folded.length, capped: false });
    expect(other.socket.count).toBe(folded.reduce((n, [, c]) => n + c, 0));
    expect(kept.map((f) => f.process?.name)).toContain('aggsrv');
    const sockets = events.filter((e) => e.dataset === 'tcp.socket');
    expect(sockets.length).toBeGreaterThan(0);
    expect(sockets.some((e) => (e.fields as any).process !== undefined)).toBe(false);
  });

  it('max_groups: a cycle that hits it folds the rest into other, marked capped and counted in stats()', async () => {
    const c = collector({ mode: 'summary', aggregate: { by: ['local_port'], top: 1, max_groups: 2 } });
    const { events } = await collectOnce(c);
    const aggregates = events.filter((e) => e.dataset === 'tcp.aggregate').map((e) => e.fields as any);
    const other = aggregates.find((f) => f.aggregate.other);
    expect(other.aggregate).toMatchObject({ capped: true, folded_groups: 1 });
    expect(aggregates.reduce((n, f) => n + f.socket.count, 0)).toBe(ssSockets().length);
    expect(c.stats?.()).toEqual({ tables_skipped: 0, aggregate_capped: 1 });
  });

  it('every field of the events is one the index templates declare', async () => {
    const { events } = await collectOnce(collector({ source: 'netlink', mode: 'summary', info: true, aggregate: { by: ['local_port', 'remote_port', 'remote_network', 'process'], top: 5 } }));
    const leaves = new Set<string>();
    const walk = (v: unknown, path: string) => {
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k);
      else leaves.add(`${path} ${Array.isArray(v) || typeof v === 'string' ? 'keyword' : typeof v === 'boolean' ? 'boolean' : Number.isInteger(v) ? 'long' : 'double'}`);
    };
    for (const e of events.filter((x) => x.dataset === 'tcp.aggregate')) walk(e.fields, '');
    expect([...leaves].some((l) => l.startsWith('tcp.info_percentiles.rtt.p99'))).toBe(true);
    expect([...leaves].some((l) => l.startsWith('aggregate.folded_groups'))).toBe(true);
    const undeclared = [...leaves].filter((l) => {
      const [path, type] = l.split(' ') as [string, string];
      return !declaredLeaves.has(path) && declaredBy(path, type) === null;
    });
    expect(undeclared).toEqual([]);
  });

  it('info: true: rtt percentiles per server port are the nearest ranks of the rtts ss -tin prints', async () => {
    const { events } = await collectOnce(collector({ source: 'netlink', mode: 'summary', info: true, aggregate: { by: ['local_port'], states: ['ESTABLISHED'], top: 10_000 } }));
    const rtts = new Map<number, number[]>();
    for (const s of ssSockets(true).filter((x) => x.state === 'ESTABLISHED')) rtts.set(s.localPort, [...(rtts.get(s.localPort) ?? []), Number(s.rtt)]);
    for (const port of ports) {
      const f = events.map((e) => e.fields as any).find((x) => x.source?.port === port)!;
      const values = rtts.get(port)!.sort((a, b) => a - b);
      const rank = (p: number) => values[Math.ceil((p / 100) * values.length) - 1];
      const rtt = f.tcp.info_percentiles.rtt;
      expect(rtt.count, String(port)).toBe(values.length);
      expect([rtt.p50, rtt.p90, rtt.p99, rtt.max].map(printfG), String(port)).toEqual([rank(50), rank(90), rank(99), values.at(-1)].map((v) => printfG(v!)));
      expect(f.tcp.info_percentiles.cwnd.count).toBe(values.length);
    }
  });
});

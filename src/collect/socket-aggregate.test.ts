import { isIPv4 } from 'node:net';
import { describe, expect, it } from 'vitest';
import { readU32 } from './host-order.js';
import { inetOptionsSchema } from './inet-options.js';
import { newInetRow, stateName, type InetRow } from './inet-sockets.js';
import { optionsWithDefaults } from './options-defaults.js';
import { percentilesOf, prefixMaskWords, SocketAggregate, socketAggregateFor, type AggregateSpec } from './socket-aggregate.js';
import { TCP_STATES } from './inet-states.js';

const ESTABLISHED = 1;
const TIME_WAIT = 6;
const LISTEN = 10;
const counted = TCP_STATES.filter((s) => s !== 'LISTEN');

/** An address as /proc words: each 4 network-order bytes read in host order (v4: one word, v6: four). */
function words(address: string): number[] {
  const bytes = isIPv4(address) ? Uint8Array.from(address.split('.').map(Number)) : v6Bytes(address);
  return Array.from({ length: bytes.length / 4 }, (_, w) => readU32(bytes, w * 4));
}

function v6Bytes(address: string): Uint8Array {
  const [head, tail] = address.split('::') as [string, string | undefined];
  // A dotted quad at the end (::ffff:10.0.0.1) is two groups.
  const group = (g: string) => (isIPv4(g) ? (([a, b, c, d]) => [(a! << 8) | b!, (c! << 8) | d!])(g.split('.').map(Number)) : [parseInt(g, 16)]);
  const part = (s: string | undefined) => (s ? s.split(':').flatMap(group) : []);
  const h = part(head);
  const t = part(tail);
  const groups = [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  return Uint8Array.from(groups.flatMap((g) => [g >> 8, g & 255]));
}

/** The TCP_INFO bytes of a socket with these values (µs for rtt and min_rtt), as the dump carries them. */
function tcpInfo(v: { rtt: number; min_rtt?: number; cwnd: number; retrans: number }): Buffer {
  const b = Buffer.alloc(232);
  const u32 = (value: number, at: number) => b.set(new Uint8Array(Uint32Array.of(value).buffer), at);
  u32(v.rtt, 68);
  u32(v.min_rtt ?? 0xffffffff, 148);
  u32(v.cwnd, 80);
  u32(v.retrans, 36);
  return b;
}

interface RowSpec {
  local?: string;
  localPort: number;
  remote?: string;
  remotePort?: number;
  state?: number;
  info?: Buffer;
}

/** A row as the parsers fill it; v6 when the local address is IPv6. */
function row(spec: RowSpec): [InetRow, boolean] {
  const r = newInetRow();
  const local = spec.local ?? '10.0.0.1';
  const v6 = !isIPv4(local);
  r.local.set(words(local));
  r.remote.set(words(spec.remote ?? (v6 ? '::' : '0.0.0.0')));
  r.localPort = spec.localPort;
  r.remotePort = spec.remotePort ?? 0;
  r.state = spec.state ?? ESTABLISHED;
  if (spec.info) {
    r.attrs = spec.info;
    r.infoAt = 0;
    r.infoLen = spec.info.length;
  }
  return [r, v6];
}

function aggregate(over: Partial<AggregateSpec> = {}): SocketAggregate {
  return new SocketAggregate({
    transport: 'tcp',
    by: ['local_port'],
    remotePrefix: { ipv4: 24, ipv6: 64 },
    top: 20,
    maxGroups: 10_000,
    states: counted,
    stateName,
    percentiles: false,
    ...over,
  });
}

function run(a: SocketAggregate, rows: RowSpec[], owners: (string | undefined)[] = []) {
  a.begin();
  rows.forEach((spec, i) => {
    const [r, v6] = row(spec);
    a.add(r, v6, owners[i] === undefined ? undefined : { pid: 100 + i, name: owners[i]! });
  });
  return a.finish();
}

const groups = (result: ReturnType<SocketAggregate['finish']>) => result.groups as any[];

describe('SocketAggregate', () => {
  it('groups by local port: counts per state, every counted state present, LISTEN left out by default', () => {
    const result = run(aggregate(), [
      { localPort: 443, remote: '10.1.2.3', remotePort: 50000 },
      { localPort: 443, remote: '10.1.2.4', remotePort: 50001, state: TIME_WAIT },
      { localPort: 443, remote: '10.1.2.5', remotePort: 50002 },
      { localPort: 443, state: LISTEN },
      { localPort: 22, remote: '10.9.9.9', remotePort: 40000 },
    ]);
    const [https, ssh] = groups(result);
    expect(https.network).toEqual({ transport: 'tcp' });
    expect(https.source).toEqual({ port: 443 });
    expect(https.aggregate).toEqual({ by: ['local_port'], other: false });
    expect(https.socket.count).toBe(3);
    expect(https.socket.states).toEqual({ ...Object.fromEntries(counted.map((s) => [s, 0])), ESTABLISHED: 2, TIME_WAIT: 1 });
    expect(ssh.source).toEqual({ port: 22 });
    expect(ssh.socket.count).toBe(1);
    expect(groups(result)).toHaveLength(2);
    expect(result.capped).toBe(false);
  });

  it('the combined key: one group per distinct (local port, remote port, process), no process field for none', () => {
    const result = run(
      aggregate({ by: ['local_port', 'remote_port', 'process'] }),
      [
        { localPort: 80, remote: '10.0.0.2', remotePort: 5432 },
        { localPort: 80, remote: '10.0.0.3', remotePort: 5432 },
        { localPort: 80, remote: '10.0.0.2', remotePort: 5432 },
        { localPort: 80, remote: '10.0.0.2', remotePort: 6379 },
        { localPort: 80, remote: '10.0.0.2', remotePort: 5432, state: TIME_WAIT },
      ],
      ['nginx', 'nginx', 'envoy', 'nginx', undefined],
    );
    const keys = groups(result).map((g) => [g.source.port, g.destination.port, g.process?.name, g.socket.count]);
    expect(keys).toEqual([
      [80, 5432, 'nginx', 2],
      [80, 5432, undefined, 1],
      [80, 5432, 'envoy', 1],
      [80, 6379, 'nginx', 1],
    ]);
  });

  it('masks remote addresses to their network: v4, v6 and v4-mapped (an IPv4 peer); no network without a peer', () => {
    const result = run(aggregate({ by: ['remote_network'], remotePrefix: { ipv4: 20, ipv6: 48 } }), [
      { localPort: 1, remote: '10.1.2.3', remotePort: 9 },
      { localPort: 1, remote: '10.1.15.250', remotePort: 9 },
      { localPort: 1, remote: '10.1.16.1', remotePort: 9 },
      { local: '::ffff:10.0.0.1', localPort: 1, remote: '::ffff:10.1.3.3', remotePort: 9 },
      { local: '2001:db8::1', localPort: 1, remote: '2001:db8:aaaa:bbbb::1', remotePort: 9 },
      { local: '2001:db8::1', localPort: 1, remote: '2001:db8:aaaa:1::7', remotePort: 9 },
      { local: '2001:db8::1', localPort: 1, remote: '2001:db8:aaab::1', remotePort: 9 },
      { local: '2001:db8::1', localPort: 1, state: TIME_WAIT, remote: '::', remotePort: 0 },
    ]);
    const nets = groups(result).map((g) => [g.aggregate.remote_network, g.network?.type, g.socket.count]);
    expect(nets).toEqual([
      ['10.1.0.0/20', 'ipv4', 3],
      ['2001:db8:aaaa::/48', 'ipv6', 2],
      [undefined, undefined, 1],
      ['10.1.16.0/20', 'ipv4', 1],
      ['2001:db8:aaab::/48', 'ipv6', 1],
    ]);
  });

  it('prefix masks at byte and bit boundaries, /0 and full length', () => {
    const text = (prefix: number, bytes: number) => Buffer.from(new Uint32Array(prefixMaskWords(prefix, bytes)).buffer).toString('hex');
    expect(text(24, 4)).toBe('ffffff00');
    expect(text(20, 4)).toBe('fffff000');
    expect(text(0, 4)).toBe('00000000');
    expect(text(32, 4)).toBe('ffffffff');
    expect(text(64, 16)).toBe('ffffffffffffffff0000000000000000');
    expect(text(127, 16)).toBe('fffffffffffffffffffffffffffffffe');
  });

  it('top-N plus other: the other group sums exactly what was folded and says how many groups', () => {
    const rows: RowSpec[] = [];
    // Port p has p sockets (p = 1..30), one of them TIME_WAIT when p is even.
    for (let p = 1; p <= 30; p++) for (let i = 0; i < p; i++) rows.push({ localPort: p, remotePort: 1000 + i, remote: '10.0.0.9', state: p % 2 === 0 && i === 0 ? TIME_WAIT : ESTABLISHED });
    const result = run(aggregate({ top: 5 }), rows);
    const all = groups(result);
    expect(all.map((g) => g.source?.port)).toEqual([30, 29, 28, 27, 26, undefined]);
    const other = all[5]!;
    expect(other.aggregate).toEqual({ by: ['local_port'], other: true, folded_groups: 25, capped: false });
    expect(other.source).toBeUndefined();
    expect(other.socket.count).toBe((25 * 26) / 2);
    expect(other.socket.states.TIME_WAIT).toBe(12);
    expect(other.socket.states.ESTABLISHED).toBe((25 * 26) / 2 - 12);
    expect(all.reduce((n, g) => n + g.socket.count, 0)).toBe(rows.length);
  });

  it('no other group when nothing was folded; ties ordered by key', () => {
    const result = run(aggregate({ top: 3 }), [{ localPort: 9 }, { localPort: 3 }, { localPort: 5 }]);
    expect(groups(result).map((g) => g.source.port)).toEqual([3, 5, 9]);
  });

  it('max_groups: sockets of further groups go to other, and the cycle says it was capped; the next cycle starts afresh', () => {
    const a = aggregate({ top: 2, maxGroups: 4 });
    const rows: RowSpec[] = [];
    for (let p = 1; p <= 10; p++) rows.push({ localPort: p }, { localPort: p });
    const result = run(a, rows);
    expect(result.capped).toBe(true);
    const all = groups(result);
    expect(all.map((g) => g.source?.port)).toEqual([1, 2, undefined]);
    // Groups 3 and 4 were tracked and folded; ports 5..10 were never tracked.
    expect(all[2]!.aggregate).toEqual({ by: ['local_port'], other: true, folded_groups: 2, capped: true });
    expect(all[2]!.socket.count).toBe(16);
    const next = run(a, [{ localPort: 7 }]);
    expect(next.capped).toBe(false);
    expect(groups(next).map((g) => [g.source.port, g.socket.count])).toEqual([[7, 1]]);
  });

  it('many groups through the hash table: every socket in exactly one group', () => {
    const rows: RowSpec[] = [];
    for (let i = 0; i < 20_000; i++) rows.push({ localPort: i % 3000, remote: `10.${(i >> 8) & 255}.${i & 255}.1`, remotePort: 1 });
    const result = run(aggregate({ by: ['local_port', 'remote_network'], top: 100_000, maxGroups: 100_000 }), rows);
    const all = groups(result);
    const want = new Map<string, number>();
    for (const r of rows) {
      const [a, b, c] = r.remote!.split('.');
      const k = `${r.localPort} ${a}.${b}.${c}.0/24`;
      want.set(k, (want.get(k) ?? 0) + 1);
    }
    expect(new Map(all.map((g) => [`${g.source.port} ${g.aggregate.remote_network}`, g.socket.count]))).toEqual(want);
  });

  it('percentiles of tcp.info per group and for other, against a sorted reference (nearest rank)', () => {
    const rows: RowSpec[] = [];
    const values: Record<number, number[]> = { 1: [], 2: [], 3: [] };
    for (let i = 0; i < 3000; i++) {
      const port = 1 + (i % 3);
      const rtt = Math.floor(Math.random() * 200_000);
      values[port]!.push(rtt / 1000);
      // Port 3's min_rtt is absent on every other socket.
      rows.push({ localPort: port, info: tcpInfo({ rtt, cwnd: 10 + (i % 50), retrans: i % 7 === 0 ? 1 : 0, ...(port !== 3 || i % 2 ? { min_rtt: rtt / 2 } : {}) }) });
    }
    rows.push({ localPort: 1, state: TIME_WAIT }); // no TCP_INFO: counted, not sampled
    const result = run(aggregate({ top: 2, percentiles: true }), rows);
    const [first, second, other] = groups(result);
    const reference = (list: number[]) => {
      const s = [...list].sort((a, b) => a - b);
      const at = (p: number) => s[Math.ceil((p / 100) * s.length) - 1];
      return { count: s.length, p50: at(50), p90: at(90), p99: at(99), max: s[s.length - 1] };
    };
    expect(first.source.port).toBe(1);
    expect(first.socket.count).toBe(1001);
    expect(first.tcp.info_percentiles.rtt).toEqual(reference(values[1]!));
    expect(second.tcp.info_percentiles.rtt).toEqual(reference(values[2]!));
    expect(other.aggregate.other).toBe(true);
    expect(other.tcp.info_percentiles.rtt).toEqual(reference(values[3]!));
    expect(other.tcp.info_percentiles.min_rtt.count).toBe(500);
    expect(first.tcp.info_percentiles.cwnd.max).toBe(59);
    expect(Object.keys(first.tcp.info_percentiles)).toEqual(['rtt', 'min_rtt', 'cwnd', 'retrans']);
  });

  it('no tcp field without samples', () => {
    const result = run(aggregate({ percentiles: true }), [{ localPort: 1 }]);
    expect(groups(result)[0].tcp).toBeUndefined();
  });

  it('percentilesOf: nearest rank, NaN not counted, in any order and with many equal values', () => {
    expect(percentilesOf(Float64Array.of(NaN, 4, 2, NaN, 3, 1))).toEqual({ count: 4, p50: 2, p90: 4, p99: 4, max: 4 });
    for (let n = 1; n < 300; n += 7) {
      const values = Array.from({ length: n }, () => Math.floor(Math.random() * 5));
      const s = [...values].sort((a, b) => a - b);
      const at = (p: number) => s[Math.ceil((p / 100) * n) - 1];
      expect(percentilesOf(Float64Array.from(values)), String(n)).toEqual({ count: n, p50: at(50), p90: at(90), p99: at(99), max: s[n - 1] });
    }
    expect(percentilesOf(Float64Array.of(7))).toEqual({ count: 1, p50: 7, p90: 7, p99: 7, max: 7 });
    expect(percentilesOf(Float64Array.of(NaN))).toBeNull();
  });

  it('from the options: off without aggregate; only states the collector reads; udp counts ESTABLISHED and CLOSE', () => {
    const schema = inetOptionsSchema('tcp');
    expect(socketAggregateFor('tcp', optionsWithDefaults(schema, {}))).toBeNull();
    const o = optionsWithDefaults(schema, { states: ['ESTABLISHED', 'LISTEN'], aggregate: {} as never });
    expect(o.aggregate).toEqual({ by: ['local_port'], remote_prefix: { ipv4: 24, ipv6: 64 }, top: 20, max_groups: 10_000, states: counted });
    const tcp = socketAggregateFor('tcp', o)!;
    expect(Object.keys(groups(run(tcp, [{ localPort: 5 }]))[0].socket.states)).toEqual(['ESTABLISHED']);
    const udp = socketAggregateFor('udp', optionsWithDefaults(inetOptionsSchema('udp'), { aggregate: {} as never }))!;
    expect(groups(run(udp, [{ localPort: 53, state: 7 }]))[0].socket.states).toEqual({ ESTABLISHED: 0, CLOSE: 1 });
  });
});

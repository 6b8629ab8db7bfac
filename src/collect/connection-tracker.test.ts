import { describe, expect, it } from 'vitest';
import type { EventDetail } from '../core/plugin.js';
import { SocketTracker, type LifecycleEmit, type TrackerOptions } from './connection-tracker.js';
import { newInetRow, type InetRow } from './inet-sockets.js';

const ESTABLISHED = 1;
const FIN_WAIT2 = 5;
const TIME_WAIT = 6;
const CLOSE = 7;
const LISTEN = 10;

interface Seen {
  text: string;
  detail: EventDetail;
}

/** An emit that records each event's text and detail. */
function recorder(): { emit: LifecycleEmit; events: Seen[]; take(): string[] } {
  const events: Seen[] = [];
  const emit: LifecycleEmit = (bytes, length, detail) => {
    events.push({ text: Buffer.from(bytes.subarray(0, length)).toString(), detail });
    return true;
  };
  return {
    emit,
    events,
    take: () => events.splice(0).map((e) => `${e.detail.type} ${e.text}${e.detail.durationNs === undefined ? '' : ` ${e.detail.durationNs}`}`),
  };
}

function row(fields: Partial<Omit<InetRow, 'local' | 'remote'>> & { local?: number[]; remote?: number[] }): InetRow {
  const r = newInetRow();
  r.local.set(fields.local ?? [0x0100007f]);
  r.remote.set(fields.remote ?? [0x0100007f]);
  const { local: _l, remote: _r, ...rest } = fields;
  Object.assign(r, { state: ESTABLISHED, ...rest });
  return r;
}

/** Runs one cycle over rows (each with its text as its bytes), then the sweep. */
async function cycle(t: SocketTracker, rec: ReturnType<typeof recorder>, rows: [InetRow, string][], nowMs: number, v6 = false): Promise<string[]> {
  t.beginCycle();
  for (const [r, text] of rows) {
    if (!t.tracks(r)) continue;
    const b = Buffer.from(text);
    t.observe(r, v6, b, b.length, nowMs, rec.emit);
  }
  await t.sweep(nowMs, rec.emit, async () => {});
  return rec.take();
}

const connections = (o: Partial<TrackerOptions> = {}) => new SocketTracker({ kind: 'connection', transport: 'tcp', maxTracked: 1000, ...o });

describe('SocketTracker: connections', () => {
  it('first cycle: info; later: start for new ones, end with the last seen fields and the duration in ns', async () => {
    const t = connections();
    const rec = recorder();
    const a = row({ localPort: 1000, remotePort: 80, inode: 11 });
    const b = row({ localPort: 1001, remotePort: 80, inode: 12 });
    expect(await cycle(t, rec, [[a, 'a1']], 1000)).toEqual(['info a1']);
    expect(await cycle(t, rec, [[a, 'a2'], [b, 'b1']], 2000)).toEqual(['start b1']);
    // a was there before the agent: its start time is unknown, so its end has no duration.
    expect(await cycle(t, rec, [[b, 'b-last']], 3000)).toEqual(['end a2']);
    expect(await cycle(t, rec, [], 4500)).toEqual(['end b-last 2500000000']);
    expect(t.size).toBe(0);
  });

  it('keys by the 4-tuple: an inode lost (orphaned) or gained (accepted) is the same connection, another inode a new one', async () => {
    const t = connections();
    const rec = recorder();
    await cycle(t, rec, [], 0);
    const tuple = { localPort: 5000, remotePort: 6000 };
    expect(await cycle(t, rec, [[row({ ...tuple, state: 3, inode: 0 }), 'syn-recv']], 1000)).toEqual(['start syn-recv']);
    expect(await cycle(t, rec, [[row({ ...tuple, inode: 77 }), 'accepted']], 2000)).toEqual([]);
    expect(await cycle(t, rec, [[row({ ...tuple, state: FIN_WAIT2, inode: 0 }), 'orphan']], 3000)).toEqual([]);
    expect(await cycle(t, rec, [[row({ ...tuple, inode: 78 }), 'reused']], 4000)).toEqual(['end orphan 3000000000', 'start reused']);
  });

  it('TIME_WAIT, CLOSE, LISTEN and peerless rows are no connection: entering TIME_WAIT ends one, and a TIME_WAIT row never starts one', async () => {
    const t = connections();
    const rec = recorder();
    await cycle(t, rec, [], 0);
    const c = { localPort: 40000, remotePort: 443 };
    expect(await cycle(t, rec, [[row({ ...c, inode: 5 }), 'open'], [row({ localPort: 8080, remotePort: 0, state: LISTEN, inode: 6 }), 'listener']], 1000)).toEqual(['start open']);
    expect(await cycle(t, rec, [[row({ ...c, state: TIME_WAIT, inode: 0 }), 'tw']], 1500)).toEqual(['end open 500000000']);
    expect(await cycle(t, rec, [[row({ ...c, state: TIME_WAIT, inode: 0 }), 'tw'], [row({ localPort: 1, remotePort: 2, state: CLOSE }), 'closed']], 2000)).toEqual([]);
  });

  it('tells families and addresses apart; a v4 row does not inherit a v6 row’s words', async () => {
    const t = connections();
    const rec = recorder();
    await cycle(t, rec, [], 0);
    const r = newInetRow();
    const v6 = row({ local: [1, 2, 3, 4], remote: [5, 6, 7, 8], localPort: 1, remotePort: 2 });
    t.beginCycle();
    const b = Buffer.from('x');
    t.observe(v6, true, b, 1, 1000, rec.emit);
    // The same InetRow object reused for a v4 row with the same first words and ports.
    Object.assign(r, { state: ESTABLISHED, localPort: 1, remotePort: 2 });
    r.local.set([1, 2, 3, 4]);
    r.remote.set([5, 6, 7, 8]);
    t.observe(r, false, b, 1, 1000, rec.emit);
    t.observe(row({ local: [1], remote: [5], localPort: 1, remotePort: 2 }), false, b, 1, 1000, rec.emit);
    expect(rec.take()).toEqual(['start x', 'start x']);
    expect(t.size).toBe(2);
  });

  it('destroyed: ends a tracked connection with the final fields; one never seen gives start and end without duration', async () => {
    const t = connections();
    const rec = recorder();
    await cycle(t, rec, [], 0);
    const seen = row({ localPort: 1, remotePort: 2, inode: 9 });
    await cycle(t, rec, [[seen, 'seen']], 1000);
    rec.take();
    const final = Buffer.from('final');
    t.destroyed(row({ localPort: 1, remotePort: 2, state: CLOSE, inode: 0 }), false, final, final.length, 1250, rec.emit);
    t.destroyed(row({ localPort: 3, remotePort: 4, state: CLOSE }), false, final, final.length, 1300, rec.emit);
    expect(rec.take()).toEqual(['end final 250000000', 'start final', 'end final']);
    expect(await cycle(t, rec, [], 2000)).toEqual([]);
  });

  it('endGrace 1: a socket missing from one table waits a cycle for its destroy notification, then ends by diff', async () => {
    const t = connections();
    t.endGrace = 1;
    const rec = recorder();
    await cycle(t, rec, [], 0);
    const a = row({ localPort: 1, remotePort: 2, inode: 9 });
    const b = row({ localPort: 3, remotePort: 4, inode: 10 });
    await cycle(t, rec, [[a, 'a'], [b, 'b']], 1000);
    rec.take();
    expect(await cycle(t, rec, [], 2000)).toEqual([]);
    const f = Buffer.from('a-final');
    t.destroyed(a, false, f, f.length, 2100, rec.emit);
    expect(rec.take()).toEqual(['end a-final 1100000000']);
    expect(await cycle(t, rec, [], 3000)).toEqual(['end b 2000000000']);
  });

  it('maxTracked bounds the table: further new sockets are counted as dropped, and tracked once room is back', async () => {
    const t = connections({ maxTracked: 3 });
    const rec = recorder();
    await cycle(t, rec, [], 0);
    const rows = [1, 2, 3, 4, 5].map((p) => [row({ localPort: p, remotePort: 9, inode: p }), `c${p}`] as [InetRow, string]);
    expect(await cycle(t, rec, rows, 1000)).toEqual(['start c1', 'start c2', 'start c3']);
    expect(t.dropped).toBe(2);
    // c1 and c2 hold their places until this cycle's sweep: c4 and c5 are dropped once more.
    expect(await cycle(t, rec, rows.slice(2), 2000)).toEqual(['end c1 1000000000', 'end c2 1000000000']);
    expect(t.dropped).toBe(4);
    expect(await cycle(t, rec, rows.slice(2), 3000)).toEqual(['start c4', 'start c5']);
  });

  it('keeps its hash table exact through growth and many removals (against a Map)', async () => {
    const t = connections({ maxTracked: 100_000 });
    const rec = recorder();
    await cycle(t, rec, [], 0);
    let seed = 7;
    const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    const model = new Set<number>();
    for (let round = 1; round <= 20; round++) {
      const ports = new Set<number>();
      for (let i = 0; i < 3000; i++) ports.add(rand() % 20000);
      t.beginCycle();
      for (const p of ports) {
        const b = Buffer.from(String(p));
        t.observe(row({ localPort: p & 0xffff, remotePort: 1 + (p >> 16), remote: [p * 2654435761 >>> 0], inode: p + 1 }), false, b, b.length, round, rec.emit);
      }
      await t.sweep(round, rec.emit, async () => {});
      const got = rec.take();
      const started = new Set(got.filter((g) => g.startsWith('start')).map((g) => Number(g.split(' ')[1])));
      const ended = new Set(got.filter((g) => g.startsWith('end')).map((g) => Number(g.split(' ')[1])));
      expect([...started].sort()).toEqual([...ports].filter((p) => !model.has(p)).sort());
      expect([...ended].sort()).toEqual([...model].filter((p) => !ports.has(p)).sort());
      model.clear();
      for (const p of ports) model.add(p);
      expect(t.size).toBe(model.size);
    }
  });
});

describe('SocketTracker: listeners', () => {
  it('tcp: LISTEN rows by address, port and inode (SO_REUSEPORT twins are two); connections are ignored', async () => {
    const t = new SocketTracker({ kind: 'listener', transport: 'tcp', maxTracked: 100 });
    const rec = recorder();
    const l1 = row({ localPort: 80, remotePort: 0, remote: [0], state: LISTEN, inode: 1 });
    const l2 = row({ localPort: 80, remotePort: 0, remote: [0], state: LISTEN, inode: 2 });
    const conn = row({ localPort: 80, remotePort: 5555, inode: 3 });
    expect(await cycle(t, rec, [[l1, 'l1'], [conn, 'conn']], 1000)).toEqual(['info l1']);
    expect(await cycle(t, rec, [[l1, 'l1'], [l2, 'l2']], 2000)).toEqual(['start l2']);
    expect(await cycle(t, rec, [[l2, 'l2']], 3000)).toEqual(['end l1']);
    expect(await cycle(t, rec, [], 4000)).toEqual(['end l2 2000000000']);
  });

  it('udp: bound, unconnected sockets (CLOSE, no peer); connected ones are not listeners', async () => {
    const t = new SocketTracker({ kind: 'listener', transport: 'udp', maxTracked: 100 });
    const rec = recorder();
    const bound = row({ localPort: 53, remotePort: 0, remote: [0], state: CLOSE, inode: 1 });
    const connected = row({ localPort: 40000, remotePort: 53, state: ESTABLISHED, inode: 2 });
    expect(await cycle(t, rec, [[bound, 'bound'], [connected, 'connected']], 1000)).toEqual(['info bound']);
    expect(new SocketTracker({ kind: 'connection', transport: 'udp', maxTracked: 1 }).tracks(connected)).toBe(false);
  });
});

import { appendFileSync, cpSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers/kafka.js';
import { Spool, SpoolFullError, type SpoolOptions, type SpoolRecord } from './spool.js';

const rec = (i: number, destination = 't'): SpoolRecord => ({
  destination,
  key: i % 3 === 0 ? null : `k${i}`,
  headers: i % 2 === 0 ? { h: `v${i}`, 'üñí': 'ç' } : null,
  value: JSON.stringify({ i, pad: 'x'.repeat(40) }),
});
const recs = (from: number, n: number) => Array.from({ length: n }, (_, k) => rec(from + k));
const values = (es: readonly { value: string | Buffer }[]) => es.map((e) => JSON.parse(String(e.value)).i as number);

function spool(dir: string, o: Partial<SpoolOptions> = {}) {
  return new Spool({ dir, maxBytes: 1 << 20, whenFull: 'block', blockTimeoutMs: 200, fsync: 'batch', fsyncIntervalMs: 1000, ...o });
}

/**
 * The spool directory as a SIGKILL would leave it: the files as they lie now (the kernel's page
 * cache included), with the dead owner's lock, opened by the "restarted" agent.
 */
function crashCopy(dir: string): string {
  const copy = tempDir();
  cpSync(dir, copy, { recursive: true });
  return copy;
}

/** Spooled bytes per record like rec(i), on average, measured (the frame layout is the spool's business). */
async function bytesPerRecord(): Promise<number> {
  const s = spool(tempDir());
  await s.open();
  await s.append(recs(0, 8));
  const bytes = s.bytes / 8;
  await s.close();
  return bytes;
}

async function drainAll(s: Spool, max = 7): Promise<number[]> {
  const out: number[] = [];
  for (;;) {
    const b = await s.take(max, 1 << 20);
    if (b.length === 0) return out;
    out.push(...values(b));
    await s.ack();
  }
}

describe('disk spool', () => {
  it('keeps records exactly (destination, key, headers, value) and in order across take/ack', async () => {
    const dir = tempDir();
    const s = spool(dir);
    await s.open();
    await s.append(recs(0, 10));
    await s.append(recs(10, 5));
    expect(s.depth).toBe(15);
    const b = await s.take(4, 1 << 20);
    expect(b.map(({ destination, key, headers, value }) => ({ destination, key, headers, value: String(value) }))).toEqual(recs(0, 4));
    s.release(false);
    expect(await drainAll(s)).toEqual([...Array(15).keys()]);
    expect(s.depth).toBe(0);
    expect(s.bytes).toBe(0);
    await s.close();
  });

  it('several batches in flight: acknowledged in order, released together, drops never touch them', async () => {
    const dir = tempDir();
    const s = spool(dir, { maxBytes: 3000, whenFull: 'drop_oldest' }); // ~33 records
    await s.open();
    for (let i = 0; i < 30; i += 3) await s.append(recs(i, 3));
    const b1 = await s.take(4, 1 << 20);
    const b2 = await s.take(4, 1 << 20);
    const b3 = await s.take(4, 1 << 20);
    expect([values(b1), values(b2), values(b3)]).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]);
    expect(s.inflightBatches).toBe(3);
    expect(s.untaken).toBe(18);
    expect(await s.ack()).toEqual({ count: 4, duplicates: 0 });
    // b2 and b3 fail: both come back, counted as possible duplicates when acknowledged
    s.release(true);
    expect(s.uncertainCount).toBe(8);
    const again = await s.take(10, 1 << 20);
    expect(values(again)).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    // full: drop_oldest drops whole chunks after the taken records only
    const r = await s.append(recs(100, 20));
    expect(r.dropped).toBeGreaterThan(0);
    expect(await s.ack()).toEqual({ count: 10, duplicates: 8 });
    const rest = await drainAll(s);
    expect(rest[rest.length - 1]).toBe(119);
    expect(rest.every((v, i) => i === 0 || v > rest[i - 1]!)).toBe(true);
    expect(rest).not.toContain(13);
    expect(10 + rest.length + 4 + r.dropped).toBe(50);
    await s.close();
  });

  it.each(['batch', 'interval', 'never'] as const)('survives reopen (fsync %s): unacknowledged records come back exactly, acknowledged ones do not', async (fsync) => {
    const dir = tempDir();
    const s = spool(dir, { fsync, fsyncIntervalMs: 10 });
    await s.open();
    await s.append(recs(0, 20));
    const b = await s.take(8, 1 << 20);
    await s.ack();
    expect(values(b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    await s.take(3, 1 << 20); // sent, never acknowledged
    await s.markSent(await Promise.resolve([]));
    // simulate a crash: no close(), just a new instance (stale lock of our own pid is taken over)
    const s2 = spool(crashCopy(dir));
    await s2.open();
    expect(s2.depth).toBe(12);
    const again = await s2.take(100, 1 << 20);
    expect(again.map(({ destination, key, headers }) => ({ destination, key, headers }))).toEqual(
      recs(8, 12).map(({ destination, key, headers }) => ({ destination, key, headers })),
    );
    expect(values(again)).toEqual([...Array(12).keys()].map((k) => k + 8));
    await s2.close();
    await s.close();
  });

  it('counts records sent before a restart as possible duplicates', async () => {
    const dir = tempDir();
    const s = spool(dir);
    await s.open();
    await s.append(recs(0, 10));
    const b = await s.take(4, 1 << 20);
    await s.markSent(b);
    const s2 = spool(crashCopy(dir));
    await s2.open();
    expect(s2.uncertainCount).toBe(4);
    await s2.take(10, 1 << 20);
    expect(await s2.ack()).toEqual({ count: 10, duplicates: 4 });
    await s2.close();
    await s.close();
  });

  it('cuts a torn block at the end of the last segment', async () => {
    const dir = tempDir();
    const s = spool(dir);
    await s.open();
    await s.append(recs(0, 3));
    const seg = readdirSync(dir).find((f) => f.endsWith('.seg'))!;
    appendFileSync(path.join(dir, seg), Buffer.from([50, 0, 0, 0, 1, 2, 3, 4, 9, 9])); // a block header and 2 of its 50 bytes
    const s2 = spool(crashCopy(dir));
    await s2.open();
    expect(s2.depth).toBe(3);
    await s2.append(recs(3, 2));
    expect(await drainAll(s2)).toEqual([0, 1, 2, 3, 4]);
    await s2.close();
    await s.close();
  });

  it('rotates segments and deletes acknowledged ones', async () => {
    const dir = tempDir();
    const s = spool(dir, { segmentBytes: 2000, memoryBytes: 3000 });
    await s.open();
    for (let i = 0; i < 40; i++) await s.append(recs(i * 5, 5));
    expect(readdirSync(dir).filter((f) => f.endsWith('.seg')).length).toBeGreaterThan(5);
    expect(await drainAll(s, 13)).toEqual([...Array(200).keys()]);
    expect(readdirSync(dir).filter((f) => f.endsWith('.seg')).length).toBe(1);
    await s.close();
    const s2 = spool(dir);
    await s2.open();
    expect(s2.depth).toBe(0);
    await s2.close();
  });

  it('reads records back from disk beyond the memory budget, also after reopen', async () => {
    const dir = tempDir();
    const s = spool(dir, { memoryBytes: 1000, segmentBytes: 4000 });
    await s.open();
    for (let i = 0; i < 20; i++) await s.append(recs(i * 10, 10));
    expect(await drainAll(s.depth ? s : s, 33)).toEqual([...Array(200).keys()]);
    for (let i = 0; i < 5; i++) await s.append(recs(1000 + i * 10, 10));
    await s.close();
    const s2 = spool(dir, { memoryBytes: 1000, segmentBytes: 4000 });
    await s2.open();
    expect(await drainAll(s2, 9)).toEqual([...Array(50).keys()].map((k) => k + 1000));
    await s2.close();
  });

  it('when_full=drop_newest keeps the oldest and counts the rest', async () => {
    const dir = tempDir();
    const one = await bytesPerRecord();
    const s = spool(dir, { maxBytes: one * 10, whenFull: 'drop_newest' });
    await s.open();
    let dropped = 0;
    for (let i = 0; i < 30; i += 5) dropped += (await s.append(recs(i, 5))).dropped;
    expect(s.depth + dropped).toBe(30);
    expect(s.bytes).toBeLessThanOrEqual(one * 10);
    expect(await drainAll(s)).toEqual([...Array(30 - dropped).keys()]);
    await s.close();
  });

  it('when_full=drop_oldest keeps the newest and counts the dropped', async () => {
    const dir = tempDir();
    const one = await bytesPerRecord();
    const s = spool(dir, { maxBytes: one * 10, whenFull: 'drop_oldest' });
    await s.open();
    let dropped = 0;
    for (let i = 0; i < 30; i += 5) dropped += (await s.append(recs(i, 5))).dropped;
    expect(s.depth + dropped).toBe(30);
    const kept = await drainAll(s);
    expect(kept).toEqual([...Array(30).keys()].slice(30 - kept.length));
    await s.close();
    // the drop is persistent
    const s2 = spool(dir);
    await s2.open();
    expect(s2.depth).toBe(0);
    await s2.close();
  });

  it('when_full=block waits for room, then fails with SpoolFullError', async () => {
    const dir = tempDir();
    const one = await bytesPerRecord();
    const s = spool(dir, { maxBytes: one * 10, whenFull: 'block', blockTimeoutMs: 300 });
    await s.open();
    await s.append(recs(0, 8));
    await expect(s.append(recs(8, 8))).rejects.toBeInstanceOf(SpoolFullError);
    // room made while waiting: the append goes through
    const pending = s.append(recs(8, 8));
    await s.take(8, 1 << 20);
    await s.ack();
    await expect(pending).resolves.toEqual({ accepted: 8, dropped: 0 });
    expect(await drainAll(s)).toEqual([8, 9, 10, 11, 12, 13, 14, 15]);
    await s.close();
  });

  it('refuses a spool used by another live process', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'lock'), String(process.ppid)); // alive, and not us
    await expect(spool(dir).open()).rejects.toThrow(/in use by process/);
    writeFileSync(path.join(dir, 'lock'), '999999999'); // dead: taken over
    const s = spool(dir);
    await s.open();
    await s.close();
  });

  it('refuses a second user of one directory within this process, until the first closes', async () => {
    const dir = tempDir();
    const s = spool(dir);
    await s.open();
    await expect(spool(dir).open()).rejects.toThrow(/already used by another sink of this agent/);
    await s.close();
    const again = spool(dir);
    await again.open();
    await again.close();
  });

  it('creates its directory and files private to the agent user', async () => {
    const dir = path.join(tempDir(), 'spool');
    const s = spool(dir);
    await s.open();
    await s.append(recs(0, 3));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(dir)) expect([f, statSync(path.join(dir, f)).mode & 0o777]).toEqual([f, 0o600]);
    await s.close();
  });

  it('gives disk back as records are acknowledged: a drained spool keeps almost nothing', async () => {
    const dir = tempDir();
    const s = spool(dir, { maxBytes: 256 << 20, fsync: 'never' });
    await s.open();
    let most = 0;
    const big = (i: number): SpoolRecord => ({ destination: 't', key: null, headers: null, value: JSON.stringify({ i, pad: 'y'.repeat(900) }) });
    for (let round = 0; round < 200; round++) {
      // 100 KB a round, half of it left pending into the next round: the spool is rarely empty.
      await s.append(Array.from({ length: 100 }, (_, k) => big(round * 100 + k)));
      const b = await s.take(round % 2 === 0 ? 50 : 150, 1 << 30);
      await s.ack();
      expect(b.length).toBeGreaterThan(0);
      most = Math.max(most, segmentBytes(dir));
    }
    await drainAll(s);
    // 20 MB went through; segments are at most 1 MiB and go once acknowledged.
    expect(most).toBeLessThan(3 << 20);
    expect(segmentBytes(dir)).toBeLessThan(16 << 10);
    await s.close();
  });
});

function segmentBytes(dir: string): number {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.seg'))
    .reduce((sum, f) => sum + statSync(path.join(dir, f)).size, 0);
}


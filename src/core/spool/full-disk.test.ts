/**
 * The spool on a real full disk: a 4 MB tmpfs (needs root, for mount). A full disk is a full
 * spool: the when_full policy applies, nothing wedges, and once acknowledgements (or the operator)
 * free space the spool writes again.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Spool, SpoolFullError, type SpoolRecord, type WhenFull } from './spool.js';

const mounts: string[] = [];

function smallVolume(): string {
  if (process.getuid?.() !== 0) throw new Error('this test mounts a 4 MB tmpfs and needs root');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'netagent-fulldisk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir]);
  mounts.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of mounts.splice(0)) {
    execFileSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  }
});

const KB = (i: number): SpoolRecord => ({ destination: 'd', key: String(i), headers: null, value: JSON.stringify({ i, pad: 'z'.repeat(1000) }) });
const batch = (from: number, n: number) => Array.from({ length: n }, (_, k) => KB(from + k));

function spoolOn(dir: string, whenFull: WhenFull): Spool {
  // max_size far beyond the volume: the disk fills first.
  return new Spool({ dir, maxBytes: 256 << 20, whenFull, blockTimeoutMs: 300, fsync: 'never', fsyncIntervalMs: 1000 });
}

/** Writes `file` until the volume is full. */
function fillDisk(file: string): void {
  const chunk = Buffer.alloc(64 << 10, 1);
  try {
    for (;;) appendFileSync(file, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  }
}

async function ackAll(s: Spool): Promise<number> {
  let n = 0;
  for (;;) {
    const b = await s.take(1000, 1 << 30);
    if (b.length === 0) return n;
    n += b.length;
    await s.ack();
  }
}

describe('spool on a full disk', () => {
  it('carries ten times the volume while its destination keeps up', async () => {
    const vol = smallVolume();
    const s = spoolOn(path.join(vol, 'spool'), 'block');
    await s.open();
    let delivered = 0;
    for (let i = 0; i < 400; i++) {
      await s.append(batch(i * 100, 100)); // ~100 KB
      delivered += await ackAll(s);
    }
    expect(delivered).toBe(40_000); // ~40 MB through a 4 MB volume
    await s.close();
  });

  it('drop_newest: the batch that does not fit is dropped and counted; writes resume when space is back', async () => {
    const vol = smallVolume();
    const s = spoolOn(path.join(vol, 'spool'), 'drop_newest');
    await s.open();
    let accepted = 0;
    let dropped = 0;
    for (let i = 0; i < 60; i++) {
      const r = await s.append(batch(i * 100, 100));
      accepted += r.accepted;
      dropped += r.dropped;
    }
    expect(dropped).toBeGreaterThan(0);
    expect(accepted + dropped).toBe(6000);
    expect(s.depth).toBe(accepted);
    expect(await ackAll(s)).toBe(accepted);
    expect(await s.append(batch(10_000, 100))).toEqual({ accepted: 100, dropped: 0 });
    await s.close();
  });

  it('drop_oldest: the oldest spooled records make room for the new ones', async () => {
    const vol = smallVolume();
    const s = spoolOn(path.join(vol, 'spool'), 'drop_oldest');
    await s.open();
    let dropped = 0;
    for (let i = 0; i < 60; i++) dropped += (await s.append(batch(i * 100, 100))).dropped;
    expect(dropped).toBeGreaterThan(0);
    const first = await s.take(1, 1 << 30);
    expect(Number(first[0]!.key)).toBeGreaterThan(0); // the head is gone
    s.release(false);
    expect(await ackAll(s)).toBe(6000 - dropped);
    await s.close();
  });

  it('block: waits for acknowledgements, fails retriably when none come, and writes once space is freed', async () => {
    const vol = smallVolume();
    const s = spoolOn(path.join(vol, 'spool'), 'block');
    await s.open();
    let err: unknown;
    let i = 0;
    for (; i < 60 && !err; i++) await s.append(batch(i * 100, 100)).catch((e) => (err = e));
    expect(err).toBeInstanceOf(SpoolFullError);
    expect(String((err as Error).message)).toMatch(/no space left/);
    // Nothing else on the volume can be freed; the destination acknowledges part: the append goes through.
    const pending = s.append(batch(99_000, 10));
    for (let k = 0; k < 20; k++) {
      await s.take(100, 1 << 30);
      await s.ack();
    }
    await expect(pending).resolves.toEqual({ accepted: 10, dropped: 0 });
    // Someone else's file fills the disk after a full drain: the spool fails at once, then recovers.
    await ackAll(s);
    const filler = path.join(vol, 'filler');
    fillDisk(filler);
    await expect(s.append(batch(200_000, 200))).rejects.toThrow(/no space left/);
    rmSync(filler);
    expect(await s.append(batch(300_000, 200))).toEqual({ accepted: 200, dropped: 0 });
    expect(await ackAll(s)).toBeGreaterThan(0);
    await s.close();
  });
});

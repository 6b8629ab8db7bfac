/**
 * A sink's disk buffer: an append-only log of records (destination, key, headers, value) that its
 * destination has not acknowledged yet, surviving a restart or SIGKILL of the agent. Any sink that
 * must not lose events while its destination is down keeps one (kafka and elasticsearch do);
 * `spool-options.ts` is the one option schema for it.
 *
 * The directory holds numbered segments (frames.ts: the record format), `cursor` (cursor.ts: what
 * was acknowledged and what was sent) and `lock` (lock.ts).
 *
 * append() writes one batch as one block with a single write(); a resolved append survives the
 * death of the process (the data is in the kernel's page cache). Against power loss, `fsync`
 * decides: `batch` fdatasyncs before append() resolves, `interval` in the background at most once
 * per interval (what a power loss may then lose, like the events still in the pipeline's memory
 * queue), `never` leaves it to the kernel.
 *
 * Disk is given back as records are acknowledged: segments are small (at most 1 MiB), each is
 * deleted once the commit position has passed it, and when everything written is acknowledged the
 * segment being written is dropped and a new one started, so an idle spool holds no data. A full
 * disk (ENOSPC) is handled like a full spool, by the `when_full` policy. A torn block at the end of
 * the last segment (power loss mid-write) is cut off at recovery; records are otherwise delivered
 * exactly as written.
 *
 * Batches are taken for sending from the head, several at a time (take), and acknowledged in
 * order (ack) or all given back (release).
 */
import { once, EventEmitter } from 'node:events';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Cursor, posLE, type Pos } from './cursor.js';
import { BLOCK_HEADER, blockEnd, decodeFrames, encodeFrames, fit, sealBlock, type SpoolRecord } from './frames.js';
import { Serial } from '../serial.js';
import { lockSpoolDir } from './lock.js';
import type { SpoolSettings } from './options.js';
import { parseDuration, parseSize } from '../units.js';

export type { SpoolRecord } from './frames.js';

export interface SpoolEntry extends SpoolRecord {
  /** Bytes of the value as UTF-8. */
  readonly valueLength: number;
  /** Segment and offset just past this record's frame: its commit position. */
  readonly seg: number;
  readonly end: number;
  /** Frame size on disk. */
  readonly bytes: number;
}

export type WhenFull = 'block' | 'drop_oldest' | 'drop_newest';

export interface SpoolOptions {
  dir: string;
  /** Bound on the bytes of unacknowledged records. */
  maxBytes: number;
  whenFull: WhenFull;
  /** How long append() waits for room under `block` before throwing SpoolFullError. */
  blockTimeoutMs: number;
  /** When appended data is flushed to the disk (see above). */
  fsync: 'batch' | 'interval' | 'never';
  fsyncIntervalMs: number;
  /** Segment size at which a new segment file is started. */
  segmentBytes?: number;
  /** Bytes of records kept decoded in memory; beyond that they are read back from disk when sent. */
  memoryBytes?: number;
  /**
   * Permissions of the files and the directory the spool creates: private to the agent's user by
   * default (0600 / 0700), since segments hold a copy of every event.
   */
  fileMode?: number;
}

export interface AppendResult {
  accepted: number;
  /** Dropped by the policy: the newest (drop_newest) or older spooled ones (drop_oldest). */
  dropped: number;
}

export class SpoolFullError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpoolFullError';
  }
}

interface Chunk {
  seg: number;
  start: number;
  end: number;
  count: number;
  bytes: number;
  /** Decoded records, or null when evicted from memory (read back on take()). */
  entries: SpoolEntry[] | null;
  /** How many leading entries are already acknowledged. */
  acked: number;
  dropped: boolean;
}

interface Batch {
  /** Where the batch starts and ends (exclusive): chunk index, entry index. */
  startCi: number;
  endCi: number;
  endJ: number;
  count: number;
  bytes: number;
  end: Pos;
}

const RECOVERY_CHUNK = 1000;
/** Segments are at most this big: a segment's disk comes back only once all of it is acknowledged. */
const MAX_SEGMENT_BYTES = 1 << 20;
const MIN_SEGMENT_BYTES = 64 << 10;
/** A drained spool starts a new segment once the one being written holds this much acknowledged data. */
const RECYCLE_BYTES = 16 << 10;

export class Spool {
  private readonly segmentBytes: number;
  private readonly memoryBytes: number;
  private readonly chunks: Chunk[] = [];
  private chunkHead = 0;
  private liveBytes = 0;
  private liveCount = 0;
  private memBytes = 0;
  private commit: Pos = { seg: 0, off: 0 };
  private sent: Pos = { seg: 0, off: 0 };
  private writeSeg = 0;
  private writeSize = 0;
  private writeFd: fsp.FileHandle | null = null;
  private frameBuf: Buffer = Buffer.allocUnsafe(0);
  private syncTimer: NodeJS.Timeout | null = null;
  private syncing: Promise<void> = Promise.resolve();
  /** A background fdatasync failed: the next append reports it (and the one after tries again). */
  private syncFailure: Error | null = null;
  private cursor: Cursor | null = null;
  private unlock: (() => Promise<void>) | null = null;
  private readonly readFds = new Map<number, fsp.FileHandle>();
  /** Batches taken and not yet acknowledged or released, oldest first. */
  private readonly inflight: Batch[] = [];
  private inflightCount = 0;
  /** Next record to take: chunk index and entry index. */
  private cur = { ci: 0, j: 0 };
  private uncertain = 0;
  /** Appends, and what must not run beside one (dropping the segment being written). */
  private readonly appends = new Serial();
  /** The commit that dropping the oldest records made, until it has deleted their segments. */
  private dropCommit: Promise<void> = Promise.resolve();
  private readonly events = new EventEmitter();
  private closed = false;
  /** Records found damaged at recovery and skipped. */
  corrupt = 0;

  private readonly fileMode: number;
  private readonly dirMode: number;

  constructor(private readonly opts: SpoolOptions) {
    this.fileMode = opts.fileMode ?? 0o600;
    // Whoever may read a file may list the directory it lies in.
    this.dirMode = this.fileMode | ((this.fileMode & 0o444) >> 2);
    this.segmentBytes = opts.segmentBytes ?? Math.max(MIN_SEGMENT_BYTES, Math.min(MAX_SEGMENT_BYTES, Math.floor(opts.maxBytes / 16)));
    this.memoryBytes = opts.memoryBytes ?? Math.min(opts.maxBytes, 64 << 20);
    this.events.setMaxListeners(0);
  }

  /** Unacknowledged records. */
  get depth(): number {
    return this.liveCount;
  }
  /** Bytes of unacknowledged records (frames). */
  get bytes(): number {
    return this.liveBytes;
  }
  /** Records not taken for sending yet. */
  get untaken(): number {
    return this.liveCount - this.inflightCount;
  }
  /** Batches taken and not settled yet. */
  get inflightBatches(): number {
    return this.inflight.length;
  }
  /** Records at the head that may already be at the destination (sent before a failure or a restart). */
  get uncertainCount(): number {
    return this.uncertain;
  }

  async open(): Promise<void> {
    await fsp.mkdir(this.opts.dir, { recursive: true, mode: this.dirMode });
    this.unlock = await lockSpoolDir(this.opts.dir, this.fileMode);
    try {
      await this.openLocked();
    } catch (e) {
      // Leave nothing behind for the retry: no open file, and not our lock.
      await this.cursor?.close();
      await this.writeFd?.close().catch(() => {});
      this.cursor = this.writeFd = null;
      await this.unlock();
      this.unlock = null;
      throw e;
    }
  }

  private async openLocked(): Promise<void> {
    this.cursor = Cursor.in(this.opts.dir, this.fileMode);
    const found = await this.cursor.open();
    let segs = await this.listSegments();
    if (typeof found === 'object') {
      ({ commit: this.commit, sent: this.sent } = found);
    } else {
      // A new spool, or a damaged cursor: from the oldest segment on (re-sends, never losses).
      this.commit = { seg: segs[0] ?? 0, off: 0 };
      this.sent = found === 'damaged' ? { seg: Number.MAX_SAFE_INTEGER, off: 0 } : this.commit;
    }
    for (const s of segs) {
      if (s < this.commit.seg) await fsp.rm(this.segPath(s), { force: true });
    }
    const live = segs.filter((s) => s >= this.commit.seg);
    let uncertainEnd = true;
    for (let i = 0; i < live.length; i++) {
      const seg = live[i]!;
      const start = seg === this.commit.seg ? this.commit.off : 0;
      const last = i === live.length - 1;
      const { validEnd, size } = await this.recoverSegment(seg, start, last, (e) => {
        if (uncertainEnd && posLE({ seg: e.seg, off: e.end }, this.sent)) this.uncertain++;
        else uncertainEnd = false;
      });
      if (last) {
        if (validEnd < size) await fsp.truncate(this.segPath(seg), validEnd);
        this.writeSeg = seg;
        this.writeSize = validEnd;
      }
    }
    if (live.length === 0) {
      this.writeSeg = this.commit.seg + 1;
      this.writeSize = 0;
      this.commit = { seg: this.writeSeg, off: 0 };
      this.sent = this.commit;
      this.uncertain = 0;
      await this.writeCursor(true);
    }
    this.writeFd = await fsp.open(this.segPath(this.writeSeg), 'a', this.fileMode);
  }

  /**
   * Appends records; resolves once they are on disk. Applies `when_full` when they do not fit.
   * Throws SpoolFullError under `block` when no room was made within blockTimeoutMs.
   */
  append(records: readonly SpoolRecord[]): Promise<AppendResult> {
    return this.appends.run(() => this.appendLocked(records));
  }

  private async appendLocked(records: readonly SpoolRecord[]): Promise<AppendResult> {
    if (this.closed) throw new Error('spool is closed');
    if (records.length === 0) return { accepted: 0, dropped: 0 };
    // Encoded first (sizes are known then), into one reused buffer: memory written again and again
    // stays in the CPU caches, while filling a fresh one per batch costs several times more. Entries
    // kept in memory hold the records' own values instead.
    const frames = encodeFrames(records, this.frameBuf, BLOCK_HEADER);
    this.frameBuf = frames.buf;
    let total = frames.total;
    let dropped = 0;
    let n = records.length;
    if (this.liveBytes + total > this.opts.maxBytes) {
      switch (this.opts.whenFull) {
        case 'block':
          await this.waitForRoom(total);
          break;
        case 'drop_oldest':
          dropped += this.dropOldest(this.liveBytes + total - this.opts.maxBytes);
          if (this.liveBytes + total > this.opts.maxBytes) {
            // Still too big (in-flight records cannot be dropped): keep what fits of the newest.
            ({ n, total } = fit(frames.sizes, this.opts.maxBytes - this.liveBytes));
            dropped += records.length - n;
          }
          break;
        case 'drop_newest':
          ({ n, total } = fit(frames.sizes, this.opts.maxBytes - this.liveBytes));
          dropped += records.length - n;
          break;
      }
    }
    if (n === 0) return { accepted: 0, dropped };
    for (;;) {
      try {
        await this.writeBlock(this.frameBuf.subarray(0, BLOCK_HEADER + total));
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
        // The disk is full before the spool is: the same policy as a full spool, against what the
        // disk holds now. Acknowledged segments are already gone, so only the destination or a
        // drop can make room.
        const diskFull = `no space left on the spool's disk (${this.opts.dir}; ${this.liveBytes} bytes spooled)`;
        if (this.opts.whenFull === 'block') {
          await this.waitForAck(diskFull);
          continue;
        }
        const freed = this.opts.whenFull === 'drop_oldest' ? this.dropOldest(total) : 0;
        if (freed === 0) return { accepted: 0, dropped: dropped + n };
        dropped += freed;
        await this.dropCommit; // the dropped records' segments are deleted
      }
    }
    const seg = this.writeSeg;
    const start = this.writeSize + BLOCK_HEADER;
    const keep = this.memBytes + total <= this.memoryBytes;
    const entries: SpoolEntry[] | null = keep ? new Array(n) : null;
    let rel = 0;
    for (let i = 0; i < n; i++) {
      const flen = frames.sizes[i]!;
      if (entries) {
        const r = records[i]!;
        entries[i] = { destination: r.destination, key: r.key, headers: r.headers, value: r.value, valueLength: frames.valueLens[i]!, seg, end: start + rel + flen, bytes: flen };
      }
      rel += flen;
    }
    const off = start + rel;
    this.writeSize = off;
    if (keep) this.memBytes += total;
    this.chunks.push({ seg, start, end: off, count: n, bytes: total, entries, acked: 0, dropped: false });
    this.liveBytes += total;
    this.liveCount += n;
    this.events.emit('data');
    return { accepted: n, dropped };
  }

  /**
   * Writes one block (its frames after the header) at the end of the segment being written,
   * starting a new segment when this one would grow past its size. A partly written block (a full
   * disk) is cut off again, so that the next one does not follow a torn one.
   */
  private async writeBlock(block: Buffer): Promise<void> {
    if (this.writeSize > 0 && this.writeSize + block.length > this.segmentBytes) await this.rotate();
    sealBlock(block);
    const fd = this.writeFd!;
    if (this.syncFailure) {
      // The last background flush failed: flush now, before adding to it; if that fails too, the
      // caller retries later (nothing of this batch was written).
      await fd.datasync();
      this.syncFailure = null;
    }
    let written = 0;
    try {
      while (written < block.length) written += (await fd.write(block, written, block.length - written, null)).bytesWritten;
    } catch (e) {
      if (written > 0) await fd.truncate(this.writeSize).catch(() => {});
      throw e;
    }
    if (this.opts.fsync === 'batch') await fd.datasync();
    else if (this.opts.fsync === 'interval') this.scheduleSync();
  }

  /**
   * Under `block` with a full disk: waits until an acknowledgement gives disk back, or throws
   * SpoolFullError at once when nothing is pending (only freeing the disk elsewhere helps then;
   * the pipeline retries the batch) or after blockTimeoutMs.
   */
  private async waitForAck(why: string): Promise<void> {
    if (this.liveCount === 0 || this.closed) throw new SpoolFullError(why);
    const got = await once(this.events, 'room', { signal: AbortSignal.timeout(this.opts.blockTimeoutMs) }).then(
      () => true,
      () => false,
    );
    if (!got || this.closed) throw new SpoolFullError(`${why}, and when_full=block: waiting for the destination`);
  }

  /** Resolves when there is something to take (or the spool closes, or the signal aborts). */
  async waitForData(signal?: AbortSignal): Promise<void> {
    if (this.untaken > 0 || this.closed || signal?.aborted) return;
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await once(this.events, 'data', { signal: ac.signal });
    } catch {
      /* aborted */
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Takes up to maxCount records / maxBytes (at least one record) after those already taken. Several
   * batches may be outstanding; acknowledge them in order with ack(), or give all back with release().
   */
  async take(maxCount: number, maxBytes: number): Promise<SpoolEntry[]> {
    if (this.inflight.length === 0) {
      const skipped = this.skipDroppedHead();
      if (skipped) await this.setCommit(skipped);
      this.cur = { ci: this.chunkHead, j: this.chunks[this.chunkHead]?.acked ?? 0 };
    }
    const out: SpoolEntry[] = [];
    let bytes = 0;
    let { ci, j } = this.cur;
    const startCi = ci;
    while (ci < this.chunks.length) {
      const c = this.chunks[ci]!;
      if (c.dropped) {
        ci++;
        j = 0;
        continue;
      }
      const entries = c.entries ?? (await this.load(c));
      if (j < c.acked) j = c.acked;
      for (; j < entries.length; j++) {
        const e = entries[j]!;
        if (out.length >= maxCount || (out.length > 0 && bytes + e.bytes > maxBytes)) break;
        out.push(e);
        bytes += e.bytes;
      }
      if (j < entries.length) break;
      ci++;
      j = 0;
    }
    if (out.length === 0) return out;
    const last = out[out.length - 1]!;
    this.cur = { ci, j };
    this.inflight.push({ startCi, endCi: ci, endJ: j, count: out.length, bytes, end: { seg: last.seg, off: last.end } });
    this.inflightCount += out.length;
    return out;
  }

  /** Records the position handed to Kafka (before sending), so a restart knows what may be duplicated. */
  async markSent(batch: readonly SpoolEntry[]): Promise<void> {
    const e = batch[batch.length - 1];
    if (!e) return;
    if (posLE({ seg: e.seg, off: e.end }, this.sent)) return;
    this.sent = { seg: e.seg, off: e.end };
    await this.writeCursor(false);
  }

  /** The oldest taken batch is in Kafka: advance the commit position. Returns how many were re-sends. */
  async ack(): Promise<{ count: number; duplicates: number }> {
    const b = this.inflight.shift();
    if (!b) return { count: 0, duplicates: 0 };
    this.inflightCount -= b.count;
    while (this.chunkHead < b.endCi) this.retireHead();
    if (this.chunkHead < this.chunks.length && b.endJ > 0) this.chunks[this.chunkHead]!.acked = b.endJ;
    this.liveBytes -= b.bytes;
    this.liveCount -= b.count;
    const dup = Math.min(this.uncertain, b.count);
    this.uncertain -= dup;
    let commit = b.end;
    // Dropped chunks right behind the batch belong to no batch: retire them too.
    const limit = this.inflight[0]?.startCi ?? this.cur.ci;
    while (this.chunkHead < limit && this.chunks[this.chunkHead]?.dropped) {
      const c = this.chunks[this.chunkHead]!;
      commit = { seg: c.seg, off: c.end };
      this.retireHead();
    }
    this.compact();
    await this.setCommit(commit);
    if (this.liveCount === 0 && this.writeSize >= RECYCLE_BYTES) {
      // Under the append lock: no append may be writing into the segment meanwhile.
      await this.appends.run(() => this.recycleDrained());
    }
    this.events.emit('room');
    return { count: b.count, duplicates: dup };
  }

  /**
   * Everything written is acknowledged: the segment being written goes, and the next append starts
   * a new one. The cursor moves first, so a crash in between leaves a segment behind the commit
   * position, which the next open() deletes.
   */
  private async recycleDrained(): Promise<void> {
    if (this.closed || this.liveCount > 0 || this.inflight.length > 0 || this.writeSize < RECYCLE_BYTES) return;
    const old = this.writeSeg;
    await this.syncWriteSegment(false);
    await this.writeFd?.close();
    this.writeFd = null;
    this.writeSeg++;
    this.writeSize = 0;
    this.chunks.length = 0;
    this.chunkHead = 0;
    this.cur = { ci: 0, j: 0 };
    this.memBytes = 0;
    await this.setCommit({ seg: this.writeSeg, off: 0 });
    this.writeFd = await fsp.open(this.segPath(this.writeSeg), 'a', this.fileMode);
    const fd = this.readFds.get(old);
    if (fd) {
      this.readFds.delete(old);
      await fd.close().catch(() => {});
    }
    await fsp.rm(this.segPath(old), { force: true });
  }

  /** Gives every taken batch back (sent again later); `uncertain`: they may have reached the destination. */
  release(uncertain: boolean): void {
    if (uncertain) this.uncertain = Math.max(this.uncertain, this.inflightCount);
    this.inflight.length = 0;
    this.inflightCount = 0;
    this.cur = { ci: this.chunkHead, j: this.chunks[this.chunkHead]?.acked ?? 0 };
  }

  /** Flushes the cursor and closes files. Unacknowledged records stay for the next open(). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.events.emit('data');
    this.events.emit('room');
    await this.appends.idle();
    try {
      await this.syncWriteSegment();
      await this.writeCursor(true);
    } finally {
      await this.writeFd?.close().catch(() => {});
      await this.cursor?.close();
      for (const fd of this.readFds.values()) await fd.close().catch(() => {});
      this.readFds.clear();
      await this.unlock?.();
      this.unlock = null;
    }
  }

  // --- internals ---

  private ackedBytes(c: Chunk): number {
    if (c.acked === 0) return 0;
    let b = 0;
    for (let j = 0; j < c.acked; j++) b += c.entries![j]!.bytes;
    return b;
  }

  private retireHead(): void {
    const c = this.chunks[this.chunkHead]!;
    if (c.entries) this.memBytes -= c.bytes;
    this.chunks[this.chunkHead] = undefined as unknown as Chunk;
    this.chunkHead++;
  }

  /** Drops retired chunk slots from the array (only when no batch holds chunk indices). */
  private compact(): void {
    if (this.inflight.length > 0 || this.chunkHead < 1024 || this.chunkHead * 2 < this.chunks.length) return;
    const shift = this.chunkHead;
    this.chunks.splice(0, shift);
    this.chunkHead = 0;
    this.cur = { ci: Math.max(0, this.cur.ci - shift), j: this.cur.j };
  }

  /** Removes dropped chunks at the head (when nothing is in flight); returns the new commit, if any. */
  private skipDroppedHead(): Pos | undefined {
    if (this.inflight.length > 0) return undefined;
    let commit: Pos | undefined;
    while (this.chunkHead < this.chunks.length && this.chunks[this.chunkHead]!.dropped) {
      const c = this.chunks[this.chunkHead]!;
      commit = { seg: c.seg, off: c.end };
      this.retireHead();
    }
    return commit;
  }

  /** Drops whole chunks, oldest first, that are not in flight, until `need` bytes are free. */
  private dropOldest(need: number): number {
    let freed = 0;
    let dropped = 0;
    // Never a chunk with taken records: start at the cursor's chunk if nothing of it is taken, else after it.
    let ci = this.chunkHead;
    if (this.inflight.length > 0) {
      const c = this.chunks[this.cur.ci];
      ci = c && this.cur.j > c.acked ? this.cur.ci + 1 : this.cur.ci;
    }
    for (; ci < this.chunks.length && freed < need; ci++) {
      const c = this.chunks[ci]!;
      if (c.dropped) continue;
      const live = c.count - c.acked;
      const liveBytes = c.bytes - this.ackedBytes(c);
      c.dropped = true;
      if (c.entries) {
        this.memBytes -= c.bytes;
        c.entries = null;
      }
      freed += liveBytes;
      dropped += live;
      this.liveBytes -= liveBytes;
      this.liveCount -= live;
      // Dropped records that were possibly sent are no longer re-sent: forget their uncertainty.
      if (ci === this.chunkHead) this.uncertain = Math.max(0, this.uncertain - live);
    }
    const commit = this.skipDroppedHead();
    if (commit) this.dropCommit = this.setCommit(commit).catch(() => undefined);
    return dropped;
  }

  private async waitForRoom(total: number): Promise<void> {
    if (total > this.opts.maxBytes) {
      throw new SpoolFullError(`batch of ${total} bytes is larger than spool.max_size (${this.opts.maxBytes})`);
    }
    const deadline = Date.now() + this.opts.blockTimeoutMs;
    while (this.liveBytes + total > this.opts.maxBytes) {
      if (this.closed) throw new SpoolFullError('spool is closing');
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new SpoolFullError(
          `spool full (${this.liveBytes} of ${this.opts.maxBytes} bytes, ${this.liveCount} events) and when_full=block: waiting for Kafka`,
        );
      }
      await once(this.events, 'room', { signal: AbortSignal.timeout(left) }).catch(() => undefined);
    }
  }

  private async load(c: Chunk): Promise<SpoolEntry[]> {
    let fd = this.readFds.get(c.seg);
    if (!fd) {
      for (const [s, f] of this.readFds) {
        if (s < c.seg) {
          await f.close().catch(() => {});
          this.readFds.delete(s);
        }
      }
      const opened = await fsp.open(this.segPath(c.seg), 'r');
      // Loads run concurrently (several batches in flight) and close() may have run meanwhile:
      // keep one handle per segment and never leave one open behind.
      const raced = this.readFds.get(c.seg);
      if (raced || this.closed) {
        await opened.close().catch(() => {});
        if (!raced) throw new Error('spool closed');
        fd = raced;
      } else {
        fd = opened;
        this.readFds.set(c.seg, fd);
      }
    }
    const buf = Buffer.allocUnsafe(c.end - c.start);
    const { bytesRead } = await fd.read(buf, 0, buf.length, c.start);
    const frames = decodeFrames(buf, 0, bytesRead);
    if (!frames) throw new Error(`spool segment ${c.seg} damaged at ${c.start}`);
    this.memBytes += c.bytes;
    const entries = frames.map(({ record: r, at, bytes }): SpoolEntry => ({
      destination: r.destination,
      key: r.key,
      headers: r.headers,
      value: r.value,
      valueLength: r.value.length,
      seg: c.seg,
      end: c.start + at + bytes,
      bytes,
    }));
    if (entries.length !== c.count) throw new Error(`spool segment ${c.seg} changed under us at ${c.start}`);
    c.entries = entries;
    return entries;
  }

  private async recoverSegment(
    seg: number,
    start: number,
    last: boolean,
    onEntry: (e: SpoolEntry) => void,
  ): Promise<{ validEnd: number; size: number }> {
    const data = await fsp.readFile(this.segPath(seg));
    // Blocks from the segment's start: the commit position may lie inside a block, whose CRC covers
    // the records before it too. Records up to the commit position are skipped.
    let off = 0;
    for (;;) {
      const end = blockEnd(data, off);
      if (end < 0) break;
      const records = decodeFrames(data, off + BLOCK_HEADER, end);
      if (!records) break; // a valid CRC over records we cannot read: not written by this spool
      let chunk: Chunk | null = null;
      for (const { record: r, at, bytes } of records) {
        const recordEnd = at + bytes;
        if (recordEnd <= start) continue;
        const e: SpoolEntry = { destination: r.destination, key: r.key, headers: r.headers, value: Buffer.from(r.value), valueLength: r.value.length, seg, end: recordEnd, bytes };
        const keep = this.memBytes + bytes <= this.memoryBytes;
        if (!chunk || chunk.count >= RECOVERY_CHUNK || (chunk.entries !== null) !== keep) {
          chunk = { seg, start: at, end: at, count: 0, bytes: 0, entries: keep ? [] : null, acked: 0, dropped: false };
          this.chunks.push(chunk);
        }
        chunk.entries?.push(e);
        if (keep) this.memBytes += bytes;
        chunk.count++;
        chunk.bytes += bytes;
        chunk.end = recordEnd;
        this.liveBytes += bytes;
        this.liveCount++;
        onEntry(e);
      }
      off = end;
    }
    if (off < data.length) {
      if (!last) this.corrupt++;
    }
    return { validEnd: off, size: data.length };
  }

  /** A background fdatasync of the segment being written, at most once per interval. */
  private scheduleSync(): void {
    if (this.syncTimer) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = null;
      const fd = this.writeFd;
      this.syncing = (async () => {
        try {
          await fd?.datasync();
        } catch (e) {
          this.syncFailure = e as Error;
        }
      })();
    }, this.opts.fsyncIntervalMs);
    this.syncTimer.unref();
  }

  /** Before the segment being written is closed: what was appended reaches the disk (unless never). */
  private async syncWriteSegment(flush = this.opts.fsync !== 'never'): Promise<void> {
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = null;
    await this.syncing;
    if (flush) await this.writeFd?.datasync();
  }

  private async rotate(): Promise<void> {
    await this.syncWriteSegment();
    await this.writeFd?.close();
    this.writeSeg++;
    this.writeSize = 0;
    this.writeFd = await fsp.open(this.segPath(this.writeSeg), 'a', this.fileMode);
  }

  private async setCommit(commit: Pos): Promise<void> {
    if (posLE(commit, this.commit)) return;
    const oldSeg = this.commit.seg;
    this.commit = commit;
    if (posLE(this.sent, commit)) this.sent = commit;
    await this.writeCursor(false);
    for (let s = oldSeg; s < commit.seg; s++) {
      if (s === this.writeSeg) break;
      const fd = this.readFds.get(s);
      if (fd) {
        this.readFds.delete(s);
        await fd.close().catch(() => {});
      }
      await fsp.rm(this.segPath(s), { force: true });
    }
  }

  private writeCursor(sync: boolean): Promise<void> {
    return this.cursor!.write(() => ({ commit: this.commit, sent: this.sent }), sync);
  }

  private async listSegments(): Promise<number[]> {
    const names = await fsp.readdir(this.opts.dir);
    return names
      .filter((n) => /^\d{16}\.seg$/.test(n))
      .map((n) => Number(n.slice(0, 16)))
      .sort((a, b) => a - b);
  }

  private segPath(seg: number): string {
    return path.join(this.opts.dir, `${String(seg).padStart(16, '0')}.seg`);
  }
}

/** The (not yet opened) spool the settings describe. */
export function spoolFrom(settings: SpoolSettings, dir: string): Spool {
  return new Spool({
    dir,
    maxBytes: parseSize(settings.max_size)!,
    whenFull: settings.when_full as WhenFull,
    blockTimeoutMs: parseDuration(settings.block_timeout)!,
    fsync: settings.fsync as 'batch' | 'interval' | 'never',
    fsyncIntervalMs: parseDuration(settings.fsync_interval)!,
  });
}



/**
 * The kafka sink's disk spool: an append-only log of records (topic, key, headers, value) that are not
 * yet acknowledged by Kafka, surviving a restart or SIGKILL of the agent.
 *
 * Layout of the spool directory:
 *   NNNNNNNNNNNNNNNN.seg  segments, each a run of blocks, one per append: u32le length of the frames,
 *                         u32le crc32c(frames), frames; a frame is u32le payload length, payload
 *   cursor                one line "v1 <seg> <offset> <sentSeg> <sentOffset> <crc>" padded to 64 bytes,
 *                         rewritten in place: the position up to which Kafka acknowledged everything
 *                         (commit), and up to which records were handed to Kafka (sent; what lies between
 *                         the two is re-sent after a restart and counted as possible duplicates)
 *   lock                  pid of the process using the spool
 *
 * Payload: u8 version=1, u16 topic length, topic, i32 key length (-1: null), key, u16 header count,
 * per header (u16 name length, name, u32 value length, value), then the value up to the payload's end.
 *
 * append() writes one batch as one block with a single write(); a resolved append survives the death of
 * the process (the data is in the kernel's page cache). Against power loss, `fsync` decides: `batch`
 * fdatasyncs before append() resolves, `interval` in the background at most once per interval (what a
 * power loss may then lose, like the events still in the pipeline's memory queue), `never` leaves it to
 * the kernel. One CRC per block, not per record: a CRC call costs more than the bytes it covers.
 * Segments before the commit position are deleted. A torn block at the end of the last segment
 * (power loss mid-write) is cut off at recovery; records are otherwise delivered exactly as written.
 *
 * Only one batch is taken for sending at a time (take/ack/release), always from the head.
 */
import { once, EventEmitter } from 'node:events';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { crc32c as crc32 } from '@node-rs/crc32';

export interface SpoolRecord {
  readonly topic: string;
  readonly key: string | null;
  readonly headers: Readonly<Record<string, string>> | null;
  readonly value: string | Buffer;
}

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

interface Pos {
  seg: number;
  off: number;
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

const BLOCK_HEADER = 8;
const FRAME_HEADER = 4;
const CURSOR_SIZE = 64;
const RECOVERY_CHUNK = 1000;

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
  private cursorRw: fsp.FileHandle | null = null;
  private cursorChain: Promise<unknown> = Promise.resolve();
  private readonly readFds = new Map<number, fsp.FileHandle>();
  /** Batches taken and not yet acknowledged or released, oldest first. */
  private readonly inflight: Batch[] = [];
  private inflightCount = 0;
  /** Next record to take: chunk index and entry index. */
  private cur = { ci: 0, j: 0 };
  private uncertain = 0;
  private appendLock: Promise<unknown> = Promise.resolve();
  private readonly events = new EventEmitter();
  private closed = false;
  /** Records found damaged at recovery and skipped. */
  corrupt = 0;

  constructor(private readonly opts: SpoolOptions) {
    this.segmentBytes = opts.segmentBytes ?? Math.max(1 << 20, Math.min(64 << 20, Math.floor(opts.maxBytes / 4)));
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
  /** Records at the head that may already be in Kafka (sent before a failure or a restart). */
  get uncertainCount(): number {
    return this.uncertain;
  }

  async open(): Promise<void> {
    await fsp.mkdir(this.opts.dir, { recursive: true });
    await this.lock();
    try {
      await this.openLocked();
    } catch (e) {
      // Leave nothing behind for the retry: no open file, and not our lock.
      await this.cursorRw?.close().catch(() => {});
      await this.writeFd?.close().catch(() => {});
      this.cursorRw = this.writeFd = null;
      await fsp.rm(path.join(this.opts.dir, 'lock'), { force: true });
      throw e;
    }
  }

  private async openLocked(): Promise<void> {
    const cursorFile = path.join(this.opts.dir, 'cursor');
    await (await fsp.open(cursorFile, 'a')).close();
    this.cursorRw = await fsp.open(cursorFile, 'r+');
    await this.readCursor();
    const segs = await this.listSegments();
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
    this.writeFd = await fsp.open(this.segPath(this.writeSeg), 'a');
  }

  /**
   * Appends records; resolves once they are on disk. Applies `when_full` when they do not fit.
   * Throws SpoolFullError under `block` when no room was made within blockTimeoutMs.
   */
  append(records: readonly SpoolRecord[]): Promise<AppendResult> {
    const run = this.appendLock.then(() => this.appendLocked(records));
    this.appendLock = run.catch(() => undefined);
    return run;
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
    const blockBytes = BLOCK_HEADER + total;
    if (this.writeSize > 0 && this.writeSize + blockBytes > this.segmentBytes) await this.rotate();
    const buf = this.frameBuf.subarray(0, blockBytes);
    buf.writeUInt32LE(total, 0);
    buf.writeUInt32LE(crc32(buf.subarray(BLOCK_HEADER)), 4);
    const fd = this.writeFd!;
    if (this.syncFailure) {
      // The last background flush failed: flush now, before adding to it; if that fails too, the
      // caller retries later (nothing of this batch was written).
      await fd.datasync();
      this.syncFailure = null;
    }
    let written = 0;
    try {
      while (written < buf.length) written += (await fd.write(buf, written, buf.length - written, null)).bytesWritten;
    } catch (e) {
      // Cut off a partly written block (a full disk), so that the next one does not follow a torn one.
      if (written > 0) await fd.truncate(this.writeSize).catch(() => {});
      throw e;
    }
    if (this.opts.fsync === 'batch') await fd.datasync();
    else if (this.opts.fsync === 'interval') this.scheduleSync();
    const seg = this.writeSeg;
    const start = this.writeSize + BLOCK_HEADER;
    const keep = this.memBytes + total <= this.memoryBytes;
    const entries: SpoolEntry[] | null = keep ? new Array(n) : null;
    let rel = 0;
    for (let i = 0; i < n; i++) {
      const flen = frames.sizes[i]!;
      if (entries) {
        const r = records[i]!;
        entries[i] = { topic: r.topic, key: r.key, headers: r.headers, value: r.value, valueLength: frames.valueLens[i]!, seg, end: start + rel + flen, bytes: flen };
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
    this.events.emit('room');
    return { count: b.count, duplicates: dup };
  }

  /** Gives every taken batch back (sent again later); `uncertain`: they may have reached Kafka. */
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
    await this.appendLock;
    try {
      await this.syncWriteSegment();
      await this.writeCursor(true);
    } finally {
      await this.writeFd?.close().catch(() => {});
      await this.cursorRw?.close().catch(() => {});
      for (const fd of this.readFds.values()) await fd.close().catch(() => {});
      this.readFds.clear();
      await fsp.rm(path.join(this.opts.dir, 'lock'), { force: true });
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
    if (commit) void this.setCommit(commit).catch(() => undefined);
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
      topic: r.topic,
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
    while (off + BLOCK_HEADER <= data.length) {
      const blockEnd = off + BLOCK_HEADER + data.readUInt32LE(off);
      if (blockEnd > data.length || crc32(data.subarray(off + BLOCK_HEADER, blockEnd)) !== data.readUInt32LE(off + 4)) break;
      const records = decodeFrames(data, off + BLOCK_HEADER, blockEnd);
      if (!records) break; // a valid CRC over records we cannot read: not written by this spool
      let chunk: Chunk | null = null;
      for (const { record: r, at, bytes } of records) {
        const end = at + bytes;
        if (end <= start) continue;
        const e: SpoolEntry = { topic: r.topic, key: r.key, headers: r.headers, value: Buffer.from(r.value), valueLength: r.value.length, seg, end, bytes };
        const keep = this.memBytes + bytes <= this.memoryBytes;
        if (!chunk || chunk.count >= RECOVERY_CHUNK || (chunk.entries !== null) !== keep) {
          chunk = { seg, start: at, end: at, count: 0, bytes: 0, entries: keep ? [] : null, acked: 0, dropped: false };
          this.chunks.push(chunk);
        }
        chunk.entries?.push(e);
        if (keep) this.memBytes += bytes;
        chunk.count++;
        chunk.bytes += bytes;
        chunk.end = end;
        this.liveBytes += bytes;
        this.liveCount++;
        onEntry(e);
      }
      off = blockEnd;
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
  private async syncWriteSegment(): Promise<void> {
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = null;
    await this.syncing;
    if (this.opts.fsync !== 'never') await this.writeFd?.datasync();
  }

  private async rotate(): Promise<void> {
    await this.syncWriteSegment();
    await this.writeFd?.close();
    this.writeSeg++;
    this.writeSize = 0;
    this.writeFd = await fsp.open(this.segPath(this.writeSeg), 'a');
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

  /** Rewrites the cursor in place with the state current when the write runs (writes are serialized). */
  private writeCursor(sync: boolean): Promise<void> {
    const run = this.cursorChain.then(async () => {
      const fd = this.cursorRw;
      if (!fd) return;
      const body = `v1 ${this.commit.seg} ${this.commit.off} ${this.sent.seg} ${this.sent.off}`;
      const line = `${body} ${crc32(Buffer.from(body))}`.padEnd(CURSOR_SIZE - 1) + '\n';
      await fd.write(Buffer.from(line), 0, CURSOR_SIZE, 0);
      if (sync) await fd.datasync();
    });
    this.cursorChain = run.catch(() => undefined);
    return run;
  }

  private async readCursor(): Promise<void> {
    const text = await fsp.readFile(path.join(this.opts.dir, 'cursor'), 'utf8');
    const m = /^v1 (\d+) (\d+) (\d+) (\d+) (\d+)/.exec(text);
    if (m) {
      const body = `v1 ${m[1]} ${m[2]} ${m[3]} ${m[4]}`;
      if (crc32(Buffer.from(body)) === Number(m[5])) {
        this.commit = { seg: Number(m[1]), off: Number(m[2]) };
        this.sent = { seg: Number(m[3]), off: Number(m[4]) };
        return;
      }
    }
    // No cursor (new spool) or a damaged one: start at the oldest segment (re-sends, never losses).
    const segs = await this.listSegments();
    this.commit = { seg: segs[0] ?? 0, off: 0 };
    this.sent = text.length > 0 ? { seg: Number.MAX_SAFE_INTEGER, off: 0 } : this.commit;
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

  private async lock(): Promise<void> {
    const file = path.join(this.opts.dir, 'lock');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await fsp.writeFile(file, String(process.pid), { flag: 'wx' });
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const pid = Number(await fsp.readFile(file, 'utf8').catch(() => ''));
        if (pid > 0 && pid !== process.pid && isAlive(pid)) {
          throw new Error(`spool ${this.opts.dir} is in use by process ${pid}`);
        }
        await fsp.rm(file, { force: true }); // stale (the owner died)
      }
    }
    throw new Error(`cannot lock spool ${this.opts.dir}`);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function posLE(a: Pos, b: Pos): boolean {
  return a.seg < b.seg || (a.seg === b.seg && a.off <= b.off);
}

function fit(sizes: Int32Array, room: number): { n: number; total: number } {
  let n = 0;
  let total = 0;
  for (const size of sizes) {
    if (total + size > room) break;
    total += size;
    n++;
  }
  return { n, total };
}

interface EncodedFrames {
  /** The buffer holding the frames (the one given, or a bigger one). */
  buf: Buffer;
  /** Bytes of each record's frame (header included), and of all. */
  sizes: Int32Array;
  total: number;
  /** Bytes of each record's value. */
  valueLens: Int32Array;
}

/**
 * Encodes each record's frame into buf from `offset` on, growing it when needed. Records of a batch
 * mostly share their topic, key and headers: those are encoded once per run of equal ones. Values are
 * written without measuring them first (which would read each string twice): room for the worst case,
 * three bytes per UTF-16 unit, is made instead.
 */
function encodeFrames(records: readonly SpoolRecord[], buf: Buffer, offset: number): EncodedFrames {
  const n = records.length;
  const sizes = new Int32Array(n);
  const valueLens = new Int32Array(n);
  let prev: SpoolRecord | null = null;
  let meta: Buffer = Buffer.alloc(0);
  let o = offset;
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    if (!prev || r.topic !== prev.topic || r.key !== prev.key || r.headers !== prev.headers) meta = encodeMetadata(r);
    prev = r;
    const v = r.value;
    const worst = FRAME_HEADER + meta.length + (typeof v === 'string' ? 3 * v.length : v.length);
    if (o + worst > buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(2 * buf.length, o + worst));
      buf.copy(bigger, 0, 0, o);
      buf = bigger;
    }
    const start = o;
    o += FRAME_HEADER;
    buf.set(meta, o); // TypedArray.set: no per-call argument handling, unlike Buffer.copy
    o += meta.length;
    const valueLen = typeof v === 'string' ? buf.write(v, o) : v.copy(buf, o);
    o += valueLen;
    buf.writeUInt32LE(o - start - FRAME_HEADER, start);
    sizes[i] = o - start;
    valueLens[i] = valueLen;
  }
  return { buf, sizes, total: o - offset, valueLens };
}

/** A payload's part before the value: u8 version=1, topic, key, headers. */
function encodeMetadata(r: SpoolRecord): Buffer {
  const names = r.headers ? Object.keys(r.headers) : [];
  let size = 1 + 2 + Buffer.byteLength(r.topic) + 4 + (r.key === null ? 0 : Buffer.byteLength(r.key)) + 2;
  for (const k of names) size += 6 + Buffer.byteLength(k) + Buffer.byteLength(r.headers![k]!);
  const buf = Buffer.allocUnsafe(size);
  buf[0] = 1;
  let o = writeString16(buf, 1, r.topic);
  if (r.key === null) o = buf.writeInt32LE(-1, o);
  else {
    const kl = buf.write(r.key, o + 4);
    buf.writeInt32LE(kl, o);
    o += 4 + kl;
  }
  o = buf.writeUInt16LE(names.length, o);
  for (const k of names) {
    o = writeString16(buf, o, k);
    const vl = buf.write(r.headers![k]!, o + 4);
    buf.writeUInt32LE(vl, o);
    o += 4 + vl;
  }
  return buf;
}

function writeString16(buf: Buffer, o: number, s: string): number {
  const len = buf.write(s, o + 2);
  buf.writeUInt16LE(len, o);
  return o + 2 + len;
}

interface DecodedFrame {
  readonly record: SpoolRecord & { readonly value: Buffer };
  /** Where the frame starts, and its size (header included). */
  readonly at: number;
  readonly bytes: number;
}

/**
 * The records of the frames in data[from, to); null if any is unreadable. Values are views into data.
 * A record whose topic, key and headers are bytewise those of the record before shares its decoded
 * strings: a batch's records mostly do, and decoding them is most of the cost.
 */
function decodeFrames(data: Buffer, from: number, to: number): DecodedFrame[] | null {
  const out: DecodedFrame[] = [];
  let prev: { start: number; end: number; meta: Metadata } | null = null;
  for (let at = from; at < to; ) {
    const bytes = FRAME_HEADER + data.readUInt32LE(at);
    const start = at + FRAME_HEADER;
    const end = at + bytes;
    if (end > to) return null;
    const same = prev !== null && start + prev.meta.length <= end && data.compare(data, prev.start, prev.end, start, start + prev.meta.length) === 0;
    let meta: Metadata;
    try {
      meta = same ? prev!.meta : decodeMetadata(data, start, end);
    } catch {
      return null;
    }
    prev = { start, end: start + meta.length, meta };
    out.push({ record: { topic: meta.topic, key: meta.key, headers: meta.headers, value: data.subarray(start + meta.length, end) }, at, bytes });
    at = end;
  }
  return out;
}

interface Metadata {
  topic: string;
  key: string | null;
  headers: Record<string, string> | null;
  /** Bytes of the encoded metadata (where the value starts). */
  length: number;
}

/** The metadata at the start of the payload p[from, end): version, topic, key, headers. */
function decodeMetadata(p: Buffer, from: number, end: number): Metadata {
  let o = from;
  if (p[o++] !== 1) throw new Error('unknown spool record version');
  const topicLen = p.readUInt16LE(o);
  o += 2;
  const topic = p.toString('utf8', o, o + topicLen);
  o += topicLen;
  const keyLen = p.readInt32LE(o);
  o += 4;
  let key: string | null = null;
  if (keyLen >= 0) {
    key = p.toString('utf8', o, o + keyLen);
    o += keyLen;
  }
  const hc = p.readUInt16LE(o);
  o += 2;
  let headers: Record<string, string> | null = null;
  if (hc > 0) {
    headers = {};
    for (let i = 0; i < hc; i++) {
      const kl = p.readUInt16LE(o);
      o += 2;
      const k = p.toString('utf8', o, o + kl);
      o += kl;
      const vl = p.readUInt32LE(o);
      o += 4;
      headers[k] = p.toString('utf8', o, o + vl);
      o += vl;
    }
  }
  if (o > end) throw new Error('truncated spool record');
  return { topic, key, headers, length: o - from };
}

/**
 * Socket lifecycle as a diff of the socket table between cycles (issue 13): which connections or
 * listeners appeared since the last cycle (`start`) and which went away (`end`, with how long
 * they were seen and the fields they last had). Pure: rows in (InetRow, as both sources parse
 * them, and the event bytes the collector wrote for each), event bytes out through a callback.
 *
 * The collector reads 100k sockets a cycle, so the set is an open-addressing hash table over typed
 * arrays keyed by the row's own numbers: no string, no object per socket. Each tracked socket
 * keeps its last event bytes (for its `end` event): ~0.9 KB of memory in all (1.2 KB with
 * tcp.info, docs/benchmarks.md); the `maxTracked` cap bounds it, rows beyond it counted in `dropped`.
 *
 * Identity:
 * - a connection is its 4-tuple (family, local and remote address and port), unique among a
 *   namespace's live TCP sockets. The inode is no key, since it changes under a living
 *   connection: a SYN_RECV request (inode 0) becomes the accepted socket, and a closed socket
 *   (FIN_WAIT2, LAST_ACK) loses its inode. Only a change from one non-zero inode to another is a
 *   new connection on a reused 4-tuple (the old one ends).
 * - a listener (or a bound, unconnected UDP socket) is its local address, port and inode:
 *   SO_REUSEPORT listeners share the address and port.
 *
 * What is a connection: a TCP row with a peer, not LISTEN, not TIME_WAIT and not CLOSE. Those two
 * are what is left after the connection ended (a TIME_WAIT row is the kernel's stub of a closed
 * one; CLOSE, a reset or unconnected socket), so a connection ends when its row goes away or
 * enters one of them, and a TIME_WAIT row never starts one.
 */
import type { EventDetail } from '../core/plugin.js';
import type { InetRow } from './inet-sockets.js';

/** Hands an event's fields (bytes[0, length): the members of its JSON object) on; false when sinks are full. */
export type LifecycleEmit = (bytes: Uint8Array, length: number, detail: EventDetail) => boolean;

export type TrackedKind = 'connection' | 'listener';

const LIVE_TCP_STATES = new Uint8Array(256);
// ESTABLISHED SYN_SENT SYN_RECV FIN_WAIT1 FIN_WAIT2 CLOSE_WAIT LAST_ACK CLOSING NEW_SYN_RECV
for (const n of [1, 2, 3, 4, 5, 8, 9, 11, 12]) LIVE_TCP_STATES[n] = 1;
const TCP_LISTEN = 10;
/** A UDP socket's state when it has no peer: bound only, what `netstat -ul` lists. */
const UDP_UNCONNECTED = 7;

/** Words of a key: [v6, ports, local ×4, remote ×4] (remote: the inode, for a listener). */
const KEY_WORDS = 10;
const EMPTY = -1;
const FIRST_CAPACITY = 256;

export interface TrackerOptions {
  readonly kind: TrackedKind;
  readonly transport: 'tcp' | 'udp';
  /** Most sockets tracked at once; further new ones are not tracked, counted in `dropped`. */
  readonly maxTracked: number;
}

export class SocketTracker {
  /** Rows not tracked because `maxTracked` were tracked already (once per row and cycle). */
  dropped = 0;
  /**
   * Cycles a tracked socket may be missing before it ends by diff. 0 from the table alone; 1 while
   * the kernel's destroy notifications are read, so that a socket destroyed while the dump ran
   * ends from its notification (with its final counters), not once by diff and again by that.
   */
  endGrace = 0;
  private readonly listener: boolean;
  private readonly transport: 'tcp' | 'udp';
  private readonly maxTracked: number;
  private capacity = 0;
  private keys = new Uint32Array(0);
  private inodes = new Uint32Array(0);
  /** Wall-clock ms of the first sight; NaN when unknown (there already at the first cycle). */
  private firstSeen = new Float64Array(0);
  private seenCycle = new Uint32Array(0);
  private bytes: (Buffer | undefined)[] = [];
  private lengths = new Int32Array(0);
  /** Entry index per bucket, EMPTY for none; linear probing, at most half full. */
  private buckets = new Int32Array(0);
  private readonly free: number[] = [];
  /** Entries [0, used) have been handed out (some may be free again). */
  private used = 0;
  private live = 0;
  private cycle = 0;
  /** Until the first complete cycle, what is found was there before: `info`, not `start`. */
  private primed = false;
  private readonly key = new Uint32Array(KEY_WORDS);

  constructor(o: TrackerOptions) {
    this.listener = o.kind === 'listener';
    this.transport = o.transport;
    this.maxTracked = o.maxTracked;
    this.grow(Math.min(FIRST_CAPACITY, o.maxTracked));
  }

  /** How many sockets are tracked now. */
  get size(): number {
    return this.live;
  }

  /** Whether a row is one this tracker follows (a live connection, or a listener). */
  tracks(r: InetRow): boolean {
    if (this.listener) return this.transport === 'tcp' ? r.state === TCP_LISTEN : r.state === UDP_UNCONNECTED && r.remotePort === 0;
    return this.transport === 'tcp' && r.remotePort !== 0 && LIVE_TCP_STATES[r.state] === 1;
  }

  /** Whether a destroyed socket's row (its state then CLOSE, mostly) is one of those this tracker follows. */
  tracksDestroyed(r: InetRow): boolean {
    return !this.listener && this.transport === 'tcp' && r.remotePort !== 0 && r.state !== TCP_LISTEN;
  }

  beginCycle(): void {
    this.cycle = (this.cycle + 1) >>> 0;
  }

  /**
   * A row of this cycle's table (tracks(r) true), with its event bytes: a new socket's `start`
   * (`info` in the first cycle), and the bytes kept for its end. Returns emit's answer (true: room).
   */
  observe(r: InetRow, v6: boolean, bytes: Uint8Array, length: number, nowMs: number, emit: LifecycleEmit): boolean {
    this.fillKey(r, v6);
    let e = this.find();
    let room = true;
    if (e !== EMPTY && !this.listener && r.inode !== 0 && this.inodes[e] !== 0 && this.inodes[e] !== r.inode) {
      // A reused 4-tuple: the old connection is gone.
      room = this.endEntry(e, nowMs, emit);
      e = EMPTY;
    }
    if (e === EMPTY) {
      e = this.insert();
      if (e === EMPTY) {
        this.dropped++;
        return room;
      }
      this.firstSeen[e] = this.primed ? nowMs : NaN;
      this.keep(e, bytes, length);
      room = emit(bytes, length, this.primed ? START : INFO) && room;
    } else this.keep(e, bytes, length);
    if (r.inode !== 0) this.inodes[e] = r.inode;
    this.seenCycle[e] = this.cycle;
    return room;
  }

  /**
   * A socket the kernel reported destroyed, with its final event bytes: the `end` of a tracked
   * connection; one never seen (opened and closed between two cycles) gets a `start` and an `end`,
   * neither with a duration (its start time is unknown). Returns emit's answer.
   */
  destroyed(r: InetRow, v6: boolean, bytes: Uint8Array, length: number, nowMs: number, emit: LifecycleEmit): boolean {
    this.fillKey(r, v6);
    const e = this.find();
    if (e !== EMPTY) {
      this.keep(e, bytes, length);
      return this.endEntry(e, nowMs, emit);
    }
    const started = emit(bytes, length, START);
    return emit(bytes, length, END) && started;
  }

  /** The inode a tracked socket last had (0 when it had none yet), or -1 when it is not tracked. */
  lastInode(r: InetRow, v6: boolean): number {
    this.fillKey(r, v6);
    const e = this.find();
    return e === EMPTY ? -1 : this.inodes[e]!;
  }

  /**
   * After a cycle's complete table: every tracked socket not seen for more than endGrace cycles
   * ends with the fields it last had. Awaits `drained` whenever emit finds the sinks full.
   */
  async sweep(nowMs: number, emit: LifecycleEmit, drained: () => Promise<void>): Promise<void> {
    this.primed = true;
    for (let e = 0; e < this.used; e++) {
      if (this.bytes[e] === undefined) continue;
      if (((this.cycle - this.seenCycle[e]!) >>> 0) <= this.endGrace) continue;
      if (!this.endEntry(e, nowMs, emit)) await drained();
    }
  }

  private endEntry(e: number, nowMs: number, emit: LifecycleEmit): boolean {
    const first = this.firstSeen[e]!;
    const bytes = this.bytes[e]!;
    const length = this.lengths[e]!;
    this.remove(e);
    return emit(bytes, length, Number.isNaN(first) ? END : { type: 'end', durationNs: Math.max(0, Math.round((nowMs - first) * 1e6)) });
  }

  /** Keeps a copy of the event bytes, in the entry's buffer when they fit. */
  private keep(e: number, bytes: Uint8Array, length: number): void {
    let kept = this.bytes[e];
    if (kept === undefined || kept.length < length) {
      kept = Buffer.allocUnsafe((length + 63) & ~63);
      this.bytes[e] = kept;
    }
    kept.set(bytes.subarray(0, length));
    this.lengths[e] = length;
  }

  private fillKey(r: InetRow, v6: boolean): void {
    const k = this.key;
    k[0] = v6 ? 1 : 0;
    k[1] = ((r.localPort << 16) | (this.listener ? 0 : r.remotePort)) >>> 0;
    const words = v6 ? 4 : 1;
    for (let w = 0; w < 4; w++) {
      k[2 + w] = w < words ? r.local[w]! : 0;
      k[6 + w] = this.listener ? (w === 0 ? r.inode : 0) : w < words ? r.remote[w]! : 0;
    }
  }

  private hashOf(k: Uint32Array, at: number): number {
    let h = 0x811c9dc5;
    for (let i = at; i < at + KEY_WORDS; i++) h = Math.imul(h ^ k[i]!, 0x01000193);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    return (h ^ (h >>> 13)) >>> 0;
  }

  private sameKey(e: number): boolean {
    const { keys, key } = this;
    const at = e * KEY_WORDS;
    for (let i = 0; i < KEY_WORDS; i++) if (keys[at + i] !== key[i]) return false;
    return true;
  }

  /** The entry of `this.key`, or EMPTY. */
  private find(): number {
    const mask = this.buckets.length - 1;
    for (let b = this.hashOf(this.key, 0) & mask; ; b = (b + 1) & mask) {
      const e = this.buckets[b]!;
      if (e === EMPTY || this.sameKey(e)) return e;
    }
  }

  /** A new entry for `this.key` (not in the table), or EMPTY when maxTracked are tracked. */
  private insert(): number {
    if (this.live >= this.maxTracked) return EMPTY;
    if (this.free.length === 0 && this.used === this.capacity) this.grow(Math.min(this.capacity * 2, this.maxTracked));
    const e = this.free.pop() ?? this.used++;
    this.keys.set(this.key, e * KEY_WORDS);
    this.inodes[e] = 0;
    const mask = this.buckets.length - 1;
    let b = this.hashOf(this.key, 0) & mask;
    while (this.buckets[b] !== EMPTY) b = (b + 1) & mask;
    this.buckets[b] = e;
    this.live++;
    return e;
  }

  /** Frees entry e; backward-shift deletion keeps every probe run unbroken (no tombstones). */
  private remove(e: number): void {
    const { buckets, keys } = this;
    const mask = buckets.length - 1;
    let b = this.hashOf(keys, e * KEY_WORDS) & mask;
    while (buckets[b] !== e) b = (b + 1) & mask;
    for (let next = (b + 1) & mask; buckets[next] !== EMPTY; next = (next + 1) & mask) {
      const home = this.hashOf(keys, buckets[next]! * KEY_WORDS) & mask;
      // The entry at `next` may move into the hole at b when its home is not within (b, next].
      if (((next - home) & mask) >= ((next - b) & mask)) {
        buckets[b] = buckets[next]!;
        b = next;
      }
    }
    buckets[b] = EMPTY;
    this.bytes[e] = undefined;
    this.free.push(e);
    this.live--;
  }

  private grow(capacity: number): void {
    const copy = <T extends Uint32Array | Float64Array | Int32Array>(old: T, make: (n: number) => T, stride = 1): T => {
      const next = make(capacity * stride);
      next.set(old);
      return next;
    };
    this.keys = copy(this.keys, (n) => new Uint32Array(n), KEY_WORDS);
    this.inodes = copy(this.inodes, (n) => new Uint32Array(n));
    this.firstSeen = copy(this.firstSeen, (n) => new Float64Array(n));
    this.seenCycle = copy(this.seenCycle, (n) => new Uint32Array(n));
    this.lengths = copy(this.lengths, (n) => new Int32Array(n));
    this.capacity = capacity;
    // Buckets: a power of two at least twice the entries, rebuilt from the live entries.
    let size = 2;
    while (size < capacity * 2) size *= 2;
    this.buckets = new Int32Array(size).fill(EMPTY);
    const mask = size - 1;
    for (let e = 0; e < this.used; e++) {
      if (this.bytes[e] === undefined) continue;
      let b = this.hashOf(this.keys, e * KEY_WORDS) & mask;
      while (this.buckets[b] !== EMPTY) b = (b + 1) & mask;
      this.buckets[b] = e;
    }
  }
}

const START: EventDetail = { type: 'start' };
const END: EventDetail = { type: 'end' };
const INFO: EventDetail = { type: 'info' };

/**
 * The spool's on-disk record format. A segment is a run of blocks, one per append: u32le length of
 * the frames, u32le crc32c(frames), frames. A frame is u32le payload length, then the payload:
 * u8 version=1, u16 destination length, destination, i32 key length (-1: null), key, u16 header
 * count, per header (u16 name length, name, u32 value length, value), then the value up to the
 * payload's end. One CRC per block, not per record: a CRC call costs more than the bytes it covers.
 */
import { crc32c } from '@node-rs/crc32';

/** One record to keep until its sink has delivered it. */
export interface SpoolRecord {
  /** Where the record goes: a Kafka topic, an Elasticsearch index or data stream. */
  readonly destination: string;
  /** A Kafka message key, an Elasticsearch document id; null for none. */
  readonly key: string | null;
  readonly headers: Readonly<Record<string, string>> | null;
  /** The event itself: its NDJSON line, without the newline. */
  readonly value: string | Buffer;
}

export const BLOCK_HEADER = 8;
export const FRAME_HEADER = 4;

export { crc32c };

/** Writes the block header (frame bytes and their CRC) in front of the frames in block[BLOCK_HEADER..]. */
export function sealBlock(block: Buffer): void {
  block.writeUInt32LE(block.length - BLOCK_HEADER, 0);
  block.writeUInt32LE(crc32c(block.subarray(BLOCK_HEADER)), 4);
}

/** The end of the valid block at `off` of `data`, or -1 when none is there (torn, damaged or absent). */
export function blockEnd(data: Buffer, off: number): number {
  if (off + BLOCK_HEADER > data.length) return -1;
  const end = off + BLOCK_HEADER + data.readUInt32LE(off);
  if (end > data.length || crc32c(data.subarray(off + BLOCK_HEADER, end)) !== data.readUInt32LE(off + 4)) return -1;
  return end;
}

/** How many of the leading frames fit into `room` bytes, and their bytes. */
export function fit(sizes: Int32Array, room: number): { n: number; total: number } {
  let n = 0;
  let total = 0;
  for (const size of sizes) {
    if (total + size > room) break;
    total += size;
    n++;
  }
  return { n, total };
}

export interface EncodedFrames {
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
 * mostly share their destination, key and headers: those are encoded once per run of equal ones. Values are
 * written without measuring them first (which would read each string twice): room for the worst case,
 * three bytes per UTF-16 unit, is made instead.
 */
export function encodeFrames(records: readonly SpoolRecord[], buf: Buffer, offset: number): EncodedFrames {
  const n = records.length;
  const sizes = new Int32Array(n);
  const valueLens = new Int32Array(n);
  let prev: SpoolRecord | null = null;
  let meta: Buffer = Buffer.alloc(0);
  let o = offset;
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    if (!prev || r.destination !== prev.destination || r.key !== prev.key || r.headers !== prev.headers) meta = encodeMetadata(r);
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

/** A payload's part before the value: u8 version=1, destination, key, headers. */
function encodeMetadata(r: SpoolRecord): Buffer {
  const names = r.headers ? Object.keys(r.headers) : [];
  let size = 1 + 2 + Buffer.byteLength(r.destination) + 4 + (r.key === null ? 0 : Buffer.byteLength(r.key)) + 2;
  for (const k of names) size += 6 + Buffer.byteLength(k) + Buffer.byteLength(r.headers![k]!);
  const buf = Buffer.allocUnsafe(size);
  buf[0] = 1;
  let o = writeString16(buf, 1, r.destination);
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

export interface DecodedFrame {
  readonly record: SpoolRecord & { readonly value: Buffer };
  /** Where the frame starts, and its size (header included). */
  readonly at: number;
  readonly bytes: number;
}

/**
 * The records of the frames in data[from, to); null if any is unreadable. Values are views into data.
 * A record whose destination, key and headers are bytewise those of the record before shares its decoded
 * strings: a batch's records mostly do, and decoding them is most of the cost.
 */
export function decodeFrames(data: Buffer, from: number, to: number): DecodedFrame[] | null {
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
    out.push({ record: { destination: meta.destination, key: meta.key, headers: meta.headers, value: data.subarray(start + meta.length, end) }, at, bytes });
    at = end;
  }
  return out;
}

interface Metadata {
  destination: string;
  key: string | null;
  headers: Record<string, string> | null;
  /** Bytes of the encoded metadata (where the value starts). */
  length: number;
}

/** The metadata at the start of the payload p[from, end): version, destination, key, headers. */
function decodeMetadata(p: Buffer, from: number, end: number): Metadata {
  let o = from;
  if (p[o++] !== 1) throw new Error('unknown spool record version');
  const destinationLen = p.readUInt16LE(o);
  o += 2;
  const destination = p.toString('utf8', o, o + destinationLen);
  o += destinationLen;
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
  return { destination, key, headers, length: o - from };
}

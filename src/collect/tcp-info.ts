/**
 * TCP_INFO of a socket (struct tcp_info, include/uapi/linux/tcp.h, as the sock_diag dump's
 * INET_DIAG_INFO attribute carries it) and its congestion algorithm (INET_DIAG_CONG): which
 * values `tcp.info` shows, under the names `ss -ti` prints them with, in ss's units, and the byte
 * writer that puts them into a socket event. Pure functions over the received bytes.
 *
 * A running agent writes this for every connection of a busy host (100k a cycle), so the writer is
 * one loop over flat typed arrays built from the table once: no object, no string, no call per value.
 * And the set is what the SREs ask for, not all of struct tcp_info: each value costs
 * ~40 ns a socket to write (its name's bytes, above all), and bytes in every event downstream.
 */
import type { JsonBytes } from '../core/json-bytes.js';
import { writeDecimal, writeThousandths } from '../core/json-bytes.js';
import { readU32, readU64 } from './host-order.js';

/** How a tcp_info field is read. */
export type TcpInfoKind = 'u8' | 'u32' | 'u64';

export interface TcpInfoField {
  /** The name under tcp.info, as `ss -ti` prints it (or the kernel names it where ss prints none). */
  readonly name: string;
  /** Offset in struct tcp_info. */
  readonly offset: number;
  readonly kind: TcpInfoKind;
  /**
   * How the value is shown: `ms` for microseconds shown as milliseconds (ss's `rtt:0.029`),
   * `bits` for bytes per second shown as bits per second (ss's `pacing_rate 1.2Gbps`).
   */
  readonly unit?: 'ms' | 'bits';
  /** A value meaning "none" (the field is left out), as ss leaves it out. */
  readonly none?: number;
}

/** ~0 of a u32 and (as the nearest double) of a u64. */
const U32_NONE = 0xffffffff;
const U64_NONE = 2 ** 64;

/**
 * The values shown under tcp.info, in the order `ss -ti` prints them. A field past the end of
 * what the kernel sent (older kernels send a shorter struct) is left out.
 */
export const TCP_INFO_FIELDS: readonly TcpInfoField[] = [
  { name: 'rto', offset: 8, kind: 'u32', unit: 'ms' },
  { name: 'rtt', offset: 68, kind: 'u32', unit: 'ms' },
  { name: 'rttvar', offset: 72, kind: 'u32', unit: 'ms' },
  { name: 'mss', offset: 16, kind: 'u32' },
  { name: 'cwnd', offset: 80, kind: 'u32' },
  // TCP_INFINITE_SSTHRESH until the first loss: ss prints no ssthresh then.
  { name: 'ssthresh', offset: 76, kind: 'u32', none: 0x7fffffff },
  { name: 'bytes_acked', offset: 120, kind: 'u64' },
  { name: 'bytes_received', offset: 128, kind: 'u64' },
  { name: 'segs_out', offset: 136, kind: 'u32' },
  { name: 'segs_in', offset: 140, kind: 'u32' },
  { name: 'pacing_rate', offset: 104, kind: 'u64', unit: 'bits', none: U64_NONE },
  { name: 'delivery_rate', offset: 160, kind: 'u64', unit: 'bits' },
  { name: 'busy', offset: 168, kind: 'u64', unit: 'ms' },
  { name: 'rwnd_limited', offset: 176, kind: 'u64', unit: 'ms' },
  { name: 'sndbuf_limited', offset: 184, kind: 'u64', unit: 'ms' },
  // ss's retrans:A/B: A is tcpi_retrans (retransmitted segments not yet acknowledged), B the lifetime total.
  { name: 'retrans', offset: 36, kind: 'u32' },
  { name: 'total_retrans', offset: 100, kind: 'u32' },
  // Retransmission timeouts in a row, now (0 again once acknowledged): /proc's retrnsmt.
  { name: 'retransmits', offset: 2, kind: 'u8' },
  { name: 'lost', offset: 32, kind: 'u32' },
  { name: 'min_rtt', offset: 148, kind: 'u32', unit: 'ms', none: U32_NONE },
];

const SIZES: Record<TcpInfoKind, number> = { u8: 1, u32: 4, u64: 8 };
/** The raw value of a field of the tcp_info at `at` (`len` bytes long), or undefined when absent or "none". */
export function tcpInfoRaw(buf: Uint8Array, at: number, len: number, f: TcpInfoField): number | undefined {
  if (f.offset + SIZES[f.kind] > len) return undefined;
  const p = at + f.offset;
  const v = f.kind === 'u8' ? buf[p]! : f.kind === 'u32' ? readU32(buf, p) : readU64(buf, p);
  return v === f.none ? undefined : v;
}

/** A raw value as shown: microseconds as milliseconds, bytes/s as bits/s. */
export function tcpInfoValue(f: TcpInfoField, raw: number): number {
  return f.unit === 'ms' ? raw / 1000 : f.unit === 'bits' ? raw * 8 : raw;
}

/** tcp.info of one socket as an object: what writeTcpInfo() writes, for tests and tools. */
export function tcpInfoObject(buf: Buffer, infoAt: number, infoLen: number, congAt: number, congLen: number): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  if (congLen > 0) out.congestion = buf.toString('latin1', congAt, congAt + congLen);
  for (const f of TCP_INFO_FIELDS) {
    const raw = tcpInfoRaw(buf, infoAt, infoLen, f);
    if (raw !== undefined) out[f.name] = tcpInfoValue(f, raw);
  }
  return out;
}

// The table, flattened for the writer.
const COUNT = TCP_INFO_FIELDS.length;
const OFFSETS = Int32Array.from(TCP_INFO_FIELDS, (f) => f.offset);
const ENDS = Int32Array.from(TCP_INFO_FIELDS, (f) => f.offset + SIZES[f.kind]);
const KINDS = Uint8Array.from(TCP_INFO_FIELDS, (f) => ({ u8: 0, u32: 1, u64: 2 })[f.kind]);
const UNITS = Uint8Array.from(TCP_INFO_FIELDS, (f) => (f.unit === 'ms' ? 1 : f.unit === 'bits' ? 2 : 0));
const NONE = Float64Array.from(TCP_INFO_FIELDS, (f) => f.none ?? -1);
/** `,"name":` of every field back to back; KEY_AT[i]..KEY_AT[i + 1] is field i's. */
const KEYS = Buffer.from(TCP_INFO_FIELDS.map((f) => `,"${f.name}":`).join(''), 'latin1');
const KEY_AT = new Int32Array(COUNT + 1);
TCP_INFO_FIELDS.forEach((f, i) => (KEY_AT[i + 1] = KEY_AT[i]! + `,"${f.name}":`.length));
const OPEN = Buffer.from(',"tcp":{"info":{', 'latin1');
const CONGESTION = Buffer.from('"congestion":"', 'latin1');
/** Upper bound of what writeTcpInfo() writes besides the congestion name: keys, 21 digits a value, braces. */
const MOST_BYTES = OPEN.length + CONGESTION.length + 3 + KEYS.length + COUNT * 24 + 2;
const CONGESTION_MOST = 64;

/**
 * Writes `,"tcp":{"info":{…}}` for the TCP_INFO at buf[infoAt, infoAt + infoLen) and the
 * congestion name at buf[congAt, congAt + congLen) (either may be absent: length 0).
 */
export function writeTcpInfo(out: JsonBytes, buf: Uint8Array, infoAt: number, infoLen: number, congAt: number, congLen: number): void {
  const nameLen = Math.min(congLen, CONGESTION_MOST);
  let p = out.reserve(MOST_BYTES + nameLen * 6);
  const b = out.bytes;
  b.set(OPEN, p);
  p += OPEN.length;
  let first = true;
  if (nameLen > 0) {
    b.set(CONGESTION, p);
    p += CONGESTION.length;
    for (let i = congAt; i < congAt + nameLen; i++) {
      const c = buf[i]!;
      // Kernel module names are plain ASCII; anything else is escaped.
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
        const hex = c.toString(16).padStart(4, '0');
        b[p++] = 0x5c;
        b[p++] = 0x75; // \u00XX
        for (let h = 0; h < 4; h++) b[p++] = hex.charCodeAt(h);
      } else b[p++] = c;
    }
    b[p++] = 0x22;
    first = false;
  }
  for (let i = 0; i < COUNT; i++) {
    if (ENDS[i]! > infoLen) continue;
    const o = infoAt + OFFSETS[i]!;
    const kind = KINDS[i];
    const v = kind === 0 ? buf[o]! : kind === 1 ? readU32(buf, o) : readU64(buf, o);
    if (v === NONE[i]) continue;
    for (let k = first ? KEY_AT[i]! + 1 : KEY_AT[i]!, e = KEY_AT[i + 1]!; k < e; k++) b[p++] = KEYS[k]!;
    first = false;
    const unit = UNITS[i];
    if (unit === 1) p = writeThousandths(b, p, v);
    else if (unit === 2 && v * 8 <= Number.MAX_SAFE_INTEGER) p = writeDecimal(b, p, v * 8);
    else if (unit === 2) p += b.write(String(v * 8), p, 'latin1');
    else p = writeDecimal(b, p, v);
  }
  b[p++] = 0x7d;
  b[p++] = 0x7d;
  out.length = p;
}

/**
 * Addresses as /proc/net files print them, decoded to the text the net-tools show. The one
 * decoder of /proc hex addresses: tcp/udp (byte-based, in place) and route/igmp/iface (strings).
 *
 * Two layouts:
 * - /proc/net/{tcp,udp}{,6} print an IPv4 address as `%08X` of the network-order 32-bit word
 *   read as a native integer, and an IPv6 address as four such words. On the little-endian hosts
 *   this agent runs on (x86-64, arm64) each word is therefore byte-reversed: `0100007F` is
 *   127.0.0.1. route and igmp print IPv4 the same way (hexToIPv4, which honours the host order).
 * - ipv6_route, if_inet6 and igmp6 print an IPv6 address as 32 hex digits in network order
 *   (hexToIPv6).
 * IPv6 text follows glibc's inet_ntop (what netstat prints): the longest run of two or more zero
 * groups becomes `::` (the first one on a tie), lower-case hex, and `::ffff:a.b.c.d` (v4-mapped)
 * and `::a.b.c.d` (v4-compatible) keep the dotted quad. netstat itself shows a v4-mapped
 * address of a tcp6/udp6 socket as the bare IPv4 address: ipv6FromHex() does the same.
 */
import { endianness } from 'node:os';

const LITTLE = endianness() === 'LE';

/** Hex digit values by byte; -1 for anything else. */
export const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[65 + i] = 10 + i;
  HEX[97 + i] = 10 + i;
}

/** The value of `n` hex digits at buf[at..], or -1 when one is not a hex digit. n ≤ 13. */
export function hexAt(buf: Uint8Array, at: number, n: number): number {
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = HEX[buf[at + i]!]!;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/** Dotted quad of a /proc-style IPv4 word (its low byte is the first octet). */
export function ipv4FromWord(w: number): string {
  return `${w & 255}.${(w >>> 8) & 255}.${(w >>> 16) & 255}.${w >>> 24}`;
}

/** The value of `n` hex digits at s[at..] of a string, or -1 when one is not a hex digit. n ≤ 13. */
function hexAtString(s: string, at: number, n: number): number {
  if (at + n > s.length) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(at + i);
    const d = c < 256 ? HEX[c]! : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/** Swaps the byte order of a u32. */
function bswap32(w: number): number {
  return (((w & 255) << 24) | (((w >>> 8) & 255) << 16) | (((w >>> 16) & 255) << 8) | (w >>> 24)) >>> 0;
}

/**
 * An IPv4 address printed by the kernel as `%08X` of a network-order u32 (route, igmp): on a
 * little-endian host the bytes appear reversed (`010000E0` is 224.0.0.1). Null if not 8 hex digits.
 */
export function hexToIPv4(hex: string, littleEndian = LITTLE): string | null {
  if (hex.length !== 8) return null;
  const w = hexAtString(hex, 0, 8);
  if (w < 0) return null;
  return ipv4FromWord(littleEndian ? w : bswap32(w));
}

/** The u32 value of such an IPv4 hex field in network order (for masks and prefix lengths). */
export function hexToIPv4Number(hex: string, littleEndian = LITTLE): number | null {
  if (hex.length !== 8) return null;
  const w = hexAtString(hex, 0, 8);
  if (w < 0) return null;
  return littleEndian ? bswap32(w) : w;
}

/** Prefix length of a contiguous netmask (255.255.255.0 → 24); null if not contiguous. */
export function maskToPrefix(mask: number): number | null {
  let len = 0;
  while (len < 32 && mask & (0x80000000 >>> len)) len++;
  const rest = len === 32 ? 0 : mask & (0xffffffff >>> len);
  return rest === 0 ? len : null;
}

/** inet_ntop(AF_INET6) of eight 16-bit groups, as glibc formats it. */
export function formatIPv6Groups(g: ArrayLike<number>): string {
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (g[i] === 0) {
      if (curBase < 0) {
        curBase = i;
        curLen = 1;
      } else curLen++;
    } else if (curBase >= 0) {
      if (curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
      curBase = -1;
    }
  }
  if (curBase >= 0 && curLen > bestLen) {
    bestBase = curBase;
    bestLen = curLen;
  }
  if (bestLen < 2) bestBase = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && g[5] === 0xffff))) {
      out += `${g[6]! >>> 8}.${g[6]! & 255}.${g[7]! >>> 8}.${g[7]! & 255}`;
      return out;
    }
    out += g[i]!.toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) out += ':';
  return out;
}

const groups = new Uint16Array(8);

/**
 * The IPv6 address of 32 hex digits at buf[at..] (four native-order words) as netstat prints it,
 * or null when they are not all hex digits. A v4-mapped address (::ffff:a.b.c.d) is printed by
 * netstat as a.b.c.d, so it is returned that way.
 */
export function ipv6FromHex(buf: Uint8Array, at: number): string | null {
  for (let w = 0; w < 4; w++) {
    const v = hexAt(buf, at + w * 8, 8);
    if (v < 0) return null;
    // The word's low byte is the first byte of the address.
    groups[w * 2] = ((v & 255) << 8) | ((v >>> 8) & 255);
    groups[w * 2 + 1] = (((v >>> 16) & 255) << 8) | (v >>> 24);
  }
  // netstat (net-tools) prints a v4-mapped address as the plain IPv4 address (the Proto column
  // still says tcp6/udp6); verified against netstat in the namespace tests.
  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff) {
    return `${groups[6]! >>> 8}.${groups[6]! & 255}.${groups[7]! >>> 8}.${groups[7]! & 255}`;
  }
  return formatIPv6Groups(groups);
}

/**
 * An IPv6 address printed as 32 hex digits in network order (ipv6_route, if_inet6, igmp6) as
 * inet_ntop prints it (a v4-mapped address keeps its `::ffff:` prefix here). Null if not 32 hex digits.
 */
export function hexToIPv6(hex: string): string | null {
  if (hex.length !== 32) return null;
  for (let i = 0; i < 8; i++) {
    const v = hexAtString(hex, i * 4, 4);
    if (v < 0) return null;
    groups[i] = v;
  }
  return formatIPv6Groups(groups);
}

/**
 * Decodes and remembers address text: a busy host has 100k sockets over few local addresses but
 * possibly as many remote ones. IPv4 uses a direct-mapped table (no hashing of heap numbers, no
 * growth: a miss just formats and overwrites); IPv6 a bounded Map, cleared when full.
 */
export class AddressCache {
  private static readonly V4_SLOTS = 8192;
  private readonly v4Keys = new Float64Array(AddressCache.V4_SLOTS).fill(-1);
  private readonly v4Text: string[] = new Array<string>(AddressCache.V4_SLOTS).fill('');
  private readonly v6 = new Map<string, string>();

  constructor(private readonly max = 65_536) {}

  /** IPv4 text of 8 hex digits at buf[at..], or null when malformed. */
  ipv4(buf: Buffer, at: number): string | null {
    const w = hexAt(buf, at, 8);
    if (w < 0) return null;
    // The low byte (first octet) varies least on loopback/LAN, the high byte most: mix both.
    const slot = ((w >>> 16) ^ (w & 0xffff) ^ (w >>> 24)) & (AddressCache.V4_SLOTS - 1);
    if (this.v4Keys[slot] === w) return this.v4Text[slot]!;
    const s = ipv4FromWord(w);
    this.v4Keys[slot] = w;
    this.v4Text[slot] = s;
    return s;
  }

  /** IPv6 text of 32 hex digits at buf[at..], or null when malformed. */
  ipv6(buf: Buffer, at: number): string | null {
    const key = buf.toString('latin1', at, at + 32);
    let s = this.v6.get(key);
    if (s === undefined) {
      const t = ipv6FromHex(buf, at);
      if (t === null) return null;
      if (this.v6.size >= this.max) this.v6.clear();
      this.v6.set(key, t);
      s = t;
    }
    return s;
  }
}

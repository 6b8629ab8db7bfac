/**
 * Addresses as /proc/net files print them, decoded to the text the net-tools show. The one
 * decoder of /proc hex addresses: tcp/udp (words in, text written as bytes) and route/igmp/iface
 * (strings, the same writers decoded).
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
 * address of a tcp6/udp6 socket as the bare IPv4 address: writeProcAddress() does the same.
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

const DOT = 46;
const COLON = 58;
/** Lower-case hex digits by value. */
const HEX_DIGITS = Buffer.from('0123456789abcdef');
/** The longest address text (an IPv6 address with a dotted quad). */
export const MOST_ADDRESS_BYTES = 45;
/** Where the string forms below write before decoding. */
const scratch = Buffer.alloc(MOST_ADDRESS_BYTES);

function writeOctet(out: Uint8Array, at: number, v: number): number {
  if (v >= 100) {
    out[at++] = 48 + Math.floor(v / 100);
    v %= 100;
    out[at++] = 48 + Math.floor(v / 10);
  } else if (v >= 10) out[at++] = 48 + Math.floor(v / 10);
  out[at++] = 48 + (v % 10);
  return at;
}

/** Writes the dotted quad of a /proc-style IPv4 word (its low byte is the first octet); returns the end. */
export function writeIPv4Word(out: Uint8Array, at: number, w: number): number {
  at = writeOctet(out, at, w & 255);
  out[at++] = DOT;
  at = writeOctet(out, at, (w >>> 8) & 255);
  out[at++] = DOT;
  at = writeOctet(out, at, (w >>> 16) & 255);
  out[at++] = DOT;
  return writeOctet(out, at, w >>> 24);
}

/** Dotted quad of a /proc-style IPv4 word. */
export function ipv4FromWord(w: number): string {
  return scratch.toString('latin1', 0, writeIPv4Word(scratch, 0, w));
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

/** Writes inet_ntop(AF_INET6) of eight 16-bit groups as glibc formats it; returns the end. */
export function writeIPv6Groups(out: Uint8Array, at: number, g: ArrayLike<number>): number {
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
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out[at++] = COLON;
      continue;
    }
    if (i !== 0) out[at++] = COLON;
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && g[5] === 0xffff))) {
      // The dotted quad's first octet is the high byte of group 6: as a /proc word, byte-swapped.
      return writeIPv4Word(out, at, (g[6]! >>> 8) | ((g[6]! & 255) << 8) | ((g[7]! >>> 8) << 16) | ((g[7]! & 255) << 24));
    }
    at = writeHexGroup(out, at, g[i]!);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) out[at++] = COLON;
  return at;
}

/** A 16-bit group in lower-case hex without leading zeros. */
function writeHexGroup(out: Uint8Array, at: number, v: number): number {
  let shift = 12;
  while (shift > 0 && v >>> shift === 0) shift -= 4;
  for (; shift >= 0; shift -= 4) out[at++] = HEX_DIGITS[(v >>> shift) & 15]!;
  return at;
}

/** inet_ntop(AF_INET6) of eight 16-bit groups, as glibc formats it. */
export function formatIPv6Groups(g: ArrayLike<number>): string {
  return scratch.toString('latin1', 0, writeIPv6Groups(scratch, 0, g));
}

const groups = new Uint16Array(8);

/** Whether /proc words of an IPv6 address hold a v4-mapped one (::ffff:a.b.c.d). */
export function isV4MappedWords(words: ArrayLike<number>): boolean {
  return words[0] === 0 && words[1] === 0 && words[2] === 0xffff0000;
}

/**
 * Writes an address as netstat prints it, given as /proc/net/{tcp,udp}{,6} print it: one word
 * (IPv4) or four (IPv6), each the native-order u32 of a `%08X` field; returns the end. A
 * v4-mapped IPv6 address (::ffff:a.b.c.d) is written as a.b.c.d, as netstat prints it.
 */
export function writeProcAddress(out: Uint8Array, at: number, words: ArrayLike<number>, v6: boolean): number {
  if (!v6) return writeIPv4Word(out, at, words[0]!);
  // netstat (net-tools) prints a v4-mapped address as the plain IPv4 address (the Proto column
  // still says tcp6/udp6); verified against netstat in the namespace tests.
  if (isV4MappedWords(words)) return writeIPv4Word(out, at, words[3]!);
  for (let w = 0; w < 4; w++) {
    const v = words[w]!;
    // The word's low byte is the first byte of the address.
    groups[w * 2] = ((v & 255) << 8) | ((v >>> 8) & 255);
    groups[w * 2 + 1] = (((v >>> 16) & 255) << 8) | (v >>> 24);
  }
  return writeIPv6Groups(out, at, groups);
}

/** The text of writeProcAddress(). */
export function procAddressText(words: ArrayLike<number>, v6: boolean): string {
  return scratch.toString('latin1', 0, writeProcAddress(scratch, 0, words, v6));
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

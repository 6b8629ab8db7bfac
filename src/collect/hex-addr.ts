/**
 * Addresses as /proc/net files print them, turned into the text the net-tools print.
 * Shared by the route, igmp and iface collectors.
 */
import { endianness } from 'node:os';

const LITTLE = endianness() === 'LE';

/**
 * An IPv4 address printed by the kernel as `%08X` of a network-order u32 (route, igmp): on a
 * little-endian host the bytes appear reversed (`010000E0` is 224.0.0.1). Null if not 8 hex digits.
 */
export function hexToIPv4(hex: string, littleEndian = LITTLE): string | null {
  if (!/^[0-9A-Fa-f]{8}$/.test(hex)) return null;
  const b = [0, 2, 4, 6].map((i) => parseInt(hex.slice(i, i + 2), 16));
  if (littleEndian) b.reverse();
  return b.join('.');
}

/** The u32 value of such an IPv4 hex field in network order (for masks and prefix lengths). */
export function hexToIPv4Number(hex: string, littleEndian = LITTLE): number | null {
  const ip = hexToIPv4(hex, littleEndian);
  if (ip === null) return null;
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

/** Prefix length of a contiguous netmask (255.255.255.0 → 24); null if not contiguous. */
export function maskToPrefix(mask: number): number | null {
  let len = 0;
  while (len < 32 && mask & (0x80000000 >>> len)) len++;
  const rest = len === 32 ? 0 : mask & (0xffffffff >>> len);
  return rest === 0 ? len : null;
}

/**
 * An IPv6 address printed as 32 hex digits in network order (ipv6_route, if_inet6, igmp6), as
 * glibc's inet_ntop prints it (RFC 5952: longest run of two or more zero groups as `::`, the
 * first on a tie; IPv4-mapped and IPv4-compatible addresses with a dotted quad).
 */
export function hexToIPv6(hex: string): string | null {
  if (!/^[0-9A-Fa-f]{32}$/.test(hex)) return null;
  const words: number[] = [];
  for (let i = 0; i < 32; i += 4) words.push(parseInt(hex.slice(i, i + 4), 16));
  return formatIPv6(words);
}

export function formatIPv6(words: readonly number[]): string {
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      if (curBase < 0) {
        curBase = i;
        curLen = 1;
      } else curLen++;
      if (curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
    } else curBase = -1;
  }
  if (bestLen < 2) bestBase = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i > 0) out += ':';
    // embedded IPv4 (glibc): ::a.b.c.d and ::ffff:a.b.c.d
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      out += `${words[6]! >> 8}.${words[6]! & 0xff}.${words[7]! >> 8}.${words[7]! & 0xff}`;
      break;
    }
    out += words[i]!.toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) out += ':';
  return out;
}

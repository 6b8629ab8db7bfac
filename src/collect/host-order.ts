/**
 * Reading the host-order integers of kernel structs (netlink messages) out of received bytes. Byte
 * arithmetic rather than Buffer.readUInt32LE(): no argument checks per read, which at 100k
 * sockets a cycle and dozens of values a socket were a tenth of the work. The caller keeps the
 * reads within the bytes it received.
 */
import { endianness } from 'node:os';

export const LITTLE_ENDIAN = endianness() === 'LE';

export function readU16(b: Uint8Array, o: number): number {
  return LITTLE_ENDIAN ? b[o]! | (b[o + 1]! << 8) : (b[o]! << 8) | b[o + 1]!;
}

export function readU32(b: Uint8Array, o: number): number {
  return LITTLE_ENDIAN
    ? (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000
    : ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) + b[o]! * 0x1000000;
}

export function readI32(b: Uint8Array, o: number): number {
  return readU32(b, o) | 0;
}

/** A u64 as a number (exact below 2^53; above, the nearest double). */
export function readU64(b: Uint8Array, o: number): number {
  return LITTLE_ENDIAN ? readU32(b, o) + readU32(b, o + 4) * 0x100000000 : readU32(b, o) * 0x100000000 + readU32(b, o + 4);
}

/**
 * Writes `s` as UTF-8 at `offset`, given its UTF-8 byte length (which the callers measured anyway to
 * size their buffers). Returns the bytes written. A string whose UTF-8 length equals its length is
 * ASCII, which latin1 copies without transcoding: event lines nearly always are.
 */
export function writeUtf8(buf: Buffer, offset: number, s: string, byteLength: number): number {
  return byteLength === s.length ? buf.write(s, offset, 'latin1') : buf.write(s, offset);
}

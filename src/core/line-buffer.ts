/**
 * Event lines copied into one reused buffer, for the sinks that write bytes, where they cannot write
 * the lines as they lie (StampedEvent.ndjsonChunks: short runs, the stdout sink's text format). A
 * batch joined into one string instead costs a flatten of a thousand-piece rope, a UTF-8 copy and
 * a fresh half-megabyte Buffer per batch, which malloc maps and unmaps: page faults that at 100k
 * events cost more than the copying. A line is text, or already UTF-8 (SinkEvent.bytes).
 */
const NEWLINE = 0x0a;

export class LineBuffer {
  private buffer = Buffer.allocUnsafe(1 << 20);
  /** Bytes held. */
  length = 0;

  /** The buffer; bytes [0, length) are the lines held. Valid until the next push(). */
  get bytes(): Buffer {
    return this.buffer;
  }

  /** Whether `line` and its newline surely fit after what is held (else write out and clear() first). */
  fits(line: string | Uint8Array): boolean {
    return this.length + mostBytes(line) <= this.buffer.length;
  }

  /** Appends `line` and a newline. A line longer than the buffer gets a bigger one, when empty. */
  push(line: string | Uint8Array): void {
    const most = mostBytes(line);
    if (this.length === 0 && most > this.buffer.length) this.buffer = Buffer.allocUnsafe(most);
    if (typeof line === 'string') this.length += this.buffer.write(line, this.length);
    else {
      this.buffer.set(line, this.length);
      this.length += line.length;
    }
    this.buffer[this.length++] = NEWLINE;
  }

  clear(): void {
    this.length = 0;
  }
}

/** The most bytes a line and its newline take: a UTF-16 unit is at most 3 bytes of UTF-8. */
function mostBytes(line: string | Uint8Array): number {
  return (typeof line === 'string' ? line.length * 3 : line.length) + 1;
}

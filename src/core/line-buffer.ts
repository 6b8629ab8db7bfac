/**
 * Event lines encoded into one reused buffer, for the sinks that write bytes (stdout, file). A
 * batch joined into one string instead costs a flatten of a thousand-piece rope, a UTF-8 copy
 * and a fresh half-megabyte Buffer per batch, which malloc maps and unmaps: page faults that at
 * 100k events cost more than the copying.
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
  fits(line: string): boolean {
    return this.length + line.length * 3 + 1 <= this.buffer.length;
  }

  /** Appends `line` and a newline; returns where the line starts. A line longer than the buffer gets a bigger one, when empty. */
  push(line: string): number {
    const worstCase = line.length * 3 + 1;
    if (this.length === 0 && worstCase > this.buffer.length) this.buffer = Buffer.allocUnsafe(worstCase);
    const start = this.length;
    this.length += this.buffer.write(line, start);
    this.buffer[this.length++] = NEWLINE;
    return start;
  }

  /** Drops the bytes before `start`, moving the rest to the front. */
  dropBefore(start: number): void {
    this.length = this.buffer.copy(this.buffer, 0, start, this.length);
  }

  clear(): void {
    this.length = 0;
  }
}

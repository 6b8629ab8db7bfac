/**
 * Tallies the malformed lines of one source (a /proc file) in one run, for a single
 * ctx.malformed() call: the count and the first line as the example.
 */
import type { CollectContext } from '../core/plugin.js';

/** Longest example kept; a longer line is cut and ends with `…`. */
const EXAMPLE_MAX = 200;

function example(line: string): string {
  return line.length > EXAMPLE_MAX ? `${line.slice(0, EXAMPLE_MAX)}…` : line;
}

export class MalformedTally {
  count = 0;
  example = '';

  /** Counts one line (text parsers); keeps the first one as the example. */
  add(line: string): void {
    if (this.count++ === 0) this.example = example(line);
  }

  /**
   * Counts the line buf[s, e) without its newline (byte parsers, in place): only the first one
   * is ever decoded (UTF-8, as names in /proc are written), with trailing blanks trimmed.
   */
  addRange(buf: Buffer, s: number, e: number): void {
    if (this.count++ === 0) this.example = example(buf.toString('utf8', s, Math.min(e, s + EXAMPLE_MAX * 4 + 1)).trimEnd());
  }

  /** Counts one binary record buf[s, e) (netlink messages): the first one's leading bytes in hex are the example. */
  addBytes(buf: Buffer, s: number, e: number): void {
    if (this.count++ === 0) this.example = example(buf.toString('hex', s, Math.min(e, s + EXAMPLE_MAX / 2 + 1)));
  }

  /** Reports the tally, if any, through CollectContext.malformed(). */
  report(ctx: Pick<CollectContext, 'malformed'>, source: string): void {
    if (this.count > 0) ctx.malformed(source, this.count, this.example);
  }
}

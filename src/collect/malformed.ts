/** Aggregates the malformed lines of one file in one run into one ctx.malformed() call. */
import type { CollectContext } from '../core/plugin.js';

const EXAMPLE_MAX = 200;

export class MalformedTally {
  count = 0;
  example = '';

  /** Counts the line buf[s, e) (without its newline); keeps the first one as the example. */
  add(buf: Buffer, s: number, e: number): void {
    if (this.count++ === 0) this.example = buf.toString('latin1', s, Math.min(e, s + EXAMPLE_MAX)).trimEnd();
  }

  report(ctx: Pick<CollectContext, 'malformed'>, source: string): void {
    if (this.count > 0) ctx.malformed(source, this.count, this.example);
  }
}

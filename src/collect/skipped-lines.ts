/** Counts the malformed lines of one text source while a host collector's parser walks it. */
export class SkippedLines {
  count = 0;
  example = '';

  add(line: string): void {
    if (this.count === 0) this.example = line.length > 200 ? `${line.slice(0, 200)}…` : line;
    this.count++;
  }

  /** Reports the tally (if any) through CollectContext.malformed(). */
  report(ctx: { malformed(source: string, count: number, example: string): void }, source: string): void {
    if (this.count > 0) ctx.malformed(source, this.count, this.example);
  }
}

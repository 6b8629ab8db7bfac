/**
 * One task at a time, in the order given: for writes to one file that must not interleave (the
 * spool's appends, its cursor, a dead-letter file). A failed task does not stop the ones after it.
 */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `task` after every task given before has settled; resolves or rejects as it does. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const run = this.tail.then(task);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Resolves once every task given so far has settled. */
  async idle(): Promise<void> {
    await this.tail;
  }
}

/**
 * The counters of every collector and sink instance, kept for the whole process: a reload (SIGHUP)
 * builds new instances, and one that keeps its kind, type and id goes on counting where the old one
 * stopped, as agent.stats dashboards (rates of `runs`, `written`, `dropped`) expect.
 */
export class InstanceCounters {
  /** When the process started counting: agent.stats' uptime_s is measured from here. */
  readonly startedAt: number;
  private readonly byInstance = new Map<string, object>();

  constructor(now: () => number) {
    this.startedAt = now();
  }

  /** The counters of one instance: those of its predecessor with the same kind, type and id, else `fresh()`. */
  of<T extends object>(kind: 'collector' | 'sink', type: string, id: string, fresh: () => T): T {
    const key = `${kind}\u0000${type}\u0000${id}`;
    let counters = this.byInstance.get(key) as T | undefined;
    if (counters === undefined) this.byInstance.set(key, (counters = fresh()));
    return counters;
  }

  /** Forgets the instances a reload removed: keeps only the counters in `kept`. */
  retainOnly(kept: ReadonlySet<object>): void {
    for (const [key, counters] of this.byInstance) if (!kept.has(counters)) this.byInstance.delete(key);
  }
}

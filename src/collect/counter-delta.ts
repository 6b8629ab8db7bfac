/**
 * Change since the previous cycle and per-second rate for kernel counters, shared by the counter
 * collectors (iface, snmp). Pure bookkeeping: no I/O, the time base is passed in.
 *
 * Semantics (documented in each collector's README):
 * - The first reading of a series has no delta and no rate: there is nothing to compare with.
 * - A counter that grew: delta = new - old.
 * - A counter that went down is either a **wrap** or a **reset**:
 *   - wrap: for a counter width W (32 or 64 bits, see CounterBits) with old < 2^W, the counter
 *     is taken to have wrapped when the wrapped distance (2^W - old + new) is at most half the
 *     range, 2^(W-1), i.e. it was in the upper half and came round. delta = 2^W - old + new.
 *   - otherwise a reset (interface re-created, namespace re-created, module reloaded): the
 *     counter restarted from zero, so delta = new value (Prometheus' convention; nstat instead
 *     prints 0 and "(overflow)").
 * - A series whose generation changed (e.g. the ifindex of an interface with the same name)
 *   was re-created: every counter is a reset, delta = new value.
 * - A counter that appears in a known series (e.g. IcmpMsgInType8, which the kernel lists only
 *   once non-zero) was zero before: delta = new value.
 * - Gauges (names passed as `gauges`) take the signed difference, never wrap or reset.
 * - rate = delta / elapsed seconds (rounded to 3 decimals); absent when no time elapsed.
 *
 * Values above 2^53 are kept as bigint so that deltas stay exact; the emitted absolute values
 * are JSON numbers (exact up to 2^53).
 */

export type CounterValue = number | bigint;
/** Which counter widths a decrease may be a wrap of. */
export type CounterBits = 'auto' | 32 | 64;
export type DeltaKind = 'ok' | 'wrap' | 'reset';

const TWO32 = 2n ** 32n;
const TWO64 = 2n ** 64n;

/** An unsigned decimal counter as the kernel prints it; null when it is not one. */
export function parseCounter(text: string): CounterValue | null {
  if (!/^\d+$/.test(text)) return null;
  if (text.length < 16) return Number(text);
  const big = BigInt(text);
  return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

/** A signed decimal value (gauges such as TcpMaxConn = -1); null when it is not one. */
export function parseSigned(text: string): CounterValue | null {
  if (text.startsWith('-')) {
    const v = parseCounter(text.slice(1));
    if (v === null) return null;
    return typeof v === 'bigint' ? -v : -v;
  }
  return parseCounter(text);
}

/**
 * The largest double below 2^64. A u64 counter within 2048 of 2^64 rounds to 2^64 as a double,
 * which JSON prints as 18446744073709552000: beyond an unsigned_long field (2^64 − 1), so its
 * document would be rejected.
 */
const MOST_U64_DOUBLE = 18446744073709549568;

/** The JSON-friendly form of a counter (a number; above 2^53 the nearest double up to 2^64 − 2048). */
export function counterToNumber(v: CounterValue): number {
  return typeof v === 'bigint' ? Math.min(Number(v), MOST_U64_DOUBLE) : v;
}

function toBig(v: CounterValue): bigint {
  return typeof v === 'bigint' ? v : BigInt(v);
}

/** The change from `prev` to `cur` of a monotonic counter, with wrap and reset handled. */
export function counterDelta(
  prev: CounterValue,
  cur: CounterValue,
  bits: CounterBits = 'auto',
): { delta: number; kind: DeltaKind } {
  if (typeof prev === 'number' && typeof cur === 'number') {
    if (cur >= prev) return { delta: cur - prev, kind: 'ok' };
  } else if (toBig(cur) >= toBig(prev)) {
    return { delta: Number(toBig(cur) - toBig(prev)), kind: 'ok' };
  }
  const p = toBig(prev);
  const c = toBig(cur);
  const widths: bigint[] = bits === 'auto' ? [TWO32, TWO64] : bits === 32 ? [TWO32] : [TWO64];
  for (const range of widths) {
    if (p < range && c < range && p >= 0n && c >= 0n) {
      const wrapped = range - p + c;
      if (wrapped <= range / 2n) return { delta: Number(wrapped), kind: 'wrap' };
    }
  }
  return { delta: counterToNumber(cur), kind: 'reset' };
}

export interface CounterChanges {
  /** Milliseconds since the previous reading of this series. */
  intervalMs: number;
  /** Change per counter name, for every counter of the current reading. */
  delta: Record<string, number>;
  /** Per-second rate per counter name; empty when intervalMs is 0. */
  rate: Record<string, number>;
  /** Names whose change was treated as a reset (counter went down, or series re-created). */
  resets: string[];
  /** Names whose change was treated as a counter wrap. */
  wraps: string[];
}

interface SeriesState {
  at: number;
  generation: string | number | undefined;
  values: Map<string, CounterValue>;
  seen: boolean;
}

export interface CounterTrackerOptions {
  bits?: CounterBits;
  /** Names that are gauges, not counters: signed difference, no wrap or reset. */
  gauges?: ReadonlySet<string>;
}

/** The per-second rate of a change over intervalMs (> 0), to 3 decimals as every rate here is. */
export function perSecond(delta: number, intervalMs: number): number {
  return Math.round(((delta * 1000) / intervalMs) * 1000) / 1000;
}

/**
 * Remembers the previous reading of each series (an interface, a namespace's SNMP table) and
 * returns the changes. Call `beginCycle()` before a cycle and `endCycle()` after it to forget
 * series that disappeared (so a re-created one starts afresh).
 */
export class CounterTracker {
  private readonly series = new Map<string, SeriesState>();
  private readonly bits: CounterBits;
  private readonly gauges: ReadonlySet<string>;

  constructor(options: CounterTrackerOptions = {}) {
    this.bits = options.bits ?? 'auto';
    this.gauges = options.gauges ?? new Set();
  }

  beginCycle(): void {
    for (const s of this.series.values()) s.seen = false;
  }

  /** Forgets the series not updated since beginCycle(). */
  endCycle(): void {
    for (const [key, s] of this.series) if (!s.seen) this.series.delete(key);
  }

  /** Number of series remembered (for tests and stats). */
  get size(): number {
    return this.series.size;
  }

  /**
   * Records a reading taken at `at` (ms) and returns the changes since the previous one, or
   * null on the first reading of the series.
   */
  update(
    key: string,
    at: number,
    values: Iterable<readonly [string, CounterValue]>,
    generation?: string | number,
  ): CounterChanges | null {
    const current = new Map(values);
    const prev = this.series.get(key);
    this.series.set(key, { at, generation: generation ?? prev?.generation, values: current, seen: true });
    if (!prev) return null;
    const intervalMs = Math.max(0, at - prev.at);
    // an unknown generation (e.g. sysfs unreadable this cycle) proves nothing either way
    const recreated = generation !== undefined && prev.generation !== undefined && prev.generation !== generation;
    const out: CounterChanges = { intervalMs, delta: {}, rate: {}, resets: [], wraps: [] };
    for (const [name, cur] of current) {
      let delta: number;
      const old = prev.values.get(name);
      if (this.gauges.has(name)) {
        delta = old === undefined ? 0 : Number(toBig(cur) - toBig(old));
      } else if (recreated) {
        delta = counterToNumber(cur);
        out.resets.push(name);
      } else if (old === undefined) {
        delta = counterToNumber(cur);
      } else {
        const d = counterDelta(old, cur, this.bits);
        delta = d.delta;
        if (d.kind === 'reset') out.resets.push(name);
        else if (d.kind === 'wrap') out.wraps.push(name);
      }
      out.delta[name] = delta;
      if (intervalMs > 0) out.rate[name] = perSecond(delta, intervalMs);
    }
    return out;
  }
}

/**
 * The change of a sum of series (the CPUs of a per-CPU table) from each series' own change:
 * summed u32 counters would not wrap as one. Series without a change (first seen) add none;
 * null when none has one. The series share one reading time, so the first interval is theirs.
 */
export function sumChanges(changes: readonly (CounterChanges | null)[]): CounterChanges | null {
  let sum: CounterChanges | null = null;
  for (const c of changes) {
    if (c === null) continue;
    sum ??= { intervalMs: c.intervalMs, delta: {}, rate: {}, resets: [], wraps: [] };
    for (const [name, d] of Object.entries(c.delta)) sum.delta[name] = (sum.delta[name] ?? 0) + d;
    for (const r of c.resets) if (!sum.resets.includes(r)) sum.resets.push(r);
  }
  if (sum !== null && sum.intervalMs > 0) {
    for (const [name, d] of Object.entries(sum.delta)) sum.rate[name] = perSecond(d, sum.intervalMs);
  }
  return sum;
}

/** A change as event fields: interval_ms, delta, rate (when time passed), resets (when any). */
export function changeFields(c: CounterChanges): Record<string, unknown> {
  const out: Record<string, unknown> = { interval_ms: c.intervalMs, delta: c.delta };
  if (c.intervalMs > 0) out.rate = c.rate;
  if (c.resets.length > 0) out.resets = c.resets;
  return out;
}

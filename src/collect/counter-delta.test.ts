import { describe, expect, it } from 'vitest';
import { counterDelta, counterToNumber, CounterTracker, parseCounter, parseSigned } from './counter-delta.js';

const T32 = 2 ** 32;

describe('parseCounter', () => {
  it('parses small values as numbers and huge ones as exact bigints', () => {
    expect(parseCounter('0')).toBe(0);
    expect(parseCounter('123456789012345')).toBe(123456789012345);
    expect(parseCounter('18446744073709551615')).toBe(18446744073709551615n);
    expect(parseCounter('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseCounter('-1')).toBeNull();
    expect(parseCounter('12a')).toBeNull();
    expect(parseCounter('')).toBeNull();
    expect(parseSigned('-1')).toBe(-1);
    expect(parseSigned('x')).toBeNull();
  });
});

describe('counterToNumber', () => {
  it('prints every u64 counter as JSON within an unsigned_long field (at most 2^64 − 1)', () => {
    const U64_MAX = 2n ** 64n - 1n;
    for (const v of [U64_MAX, U64_MAX - 1000n, 2n ** 63n, 2n ** 53n + 1n]) {
      const text = JSON.stringify(counterToNumber(v));
      expect(text).toMatch(/^\d+$/);
      expect(BigInt(text) <= U64_MAX, `${v} → ${text}`).toBe(true);
      // The nearest double, or the largest below 2^64: never more than 2048 off.
      expect(BigInt(text) - v <= 2048n && v - BigInt(text) <= 2048n, `${v} → ${text}`).toBe(true);
    }
    expect(counterToNumber(12345)).toBe(12345);
  });
});

describe('counterDelta', () => {
  it('subtracts when the counter grew', () => {
    expect(counterDelta(10, 25)).toEqual({ delta: 15, kind: 'ok' });
    expect(counterDelta(5, 5)).toEqual({ delta: 0, kind: 'ok' });
  });

  it('treats a 32-bit counter that came round as a wrap', () => {
    expect(counterDelta(T32 - 10, 5)).toEqual({ delta: 15, kind: 'wrap' });
    expect(counterDelta(T32 - 10, 5, 32)).toEqual({ delta: 15, kind: 'wrap' });
  });

  it('treats a 64-bit counter that came round as a wrap, exactly', () => {
    const prev = 2n ** 64n - 100n;
    expect(counterDelta(prev, 50)).toEqual({ delta: 150, kind: 'wrap' });
    // a 32-bit width alone cannot explain it: a reset
    expect(counterDelta(prev, 50, 32)).toEqual({ delta: 50, kind: 'reset' });
  });

  it('treats a drop from the lower half of the range as a reset: delta = new value', () => {
    expect(counterDelta(1000, 7)).toEqual({ delta: 7, kind: 'reset' });
    expect(counterDelta(5_000_000_000, 3)).toEqual({ delta: 3, kind: 'reset' });
    // with 64 only, a drop of a small counter is a reset, not a 2^64 wrap
    expect(counterDelta(T32 - 10, 5, 64)).toEqual({ delta: 5, kind: 'reset' });
  });

  it('keeps deltas of counters above 2^53 exact', () => {
    const a = 2n ** 60n + 1n;
    expect(counterDelta(a, a + 3n)).toEqual({ delta: 3, kind: 'ok' });
  });
});

describe('CounterTracker', () => {
  it('has no delta on first sight, then delta and per-second rate', () => {
    const t = new CounterTracker();
    expect(t.update('eth0', 1000, [['rx.bytes', 100]])).toBeNull();
    const c = t.update('eth0', 3000, [['rx.bytes', 700]])!;
    expect(c.intervalMs).toBe(2000);
    expect(c.delta).toEqual({ 'rx.bytes': 600 });
    expect(c.rate).toEqual({ 'rx.bytes': 300 });
    expect(c.resets).toEqual([]);
  });

  it('handles a counter reset (went backwards) and a wrap across cycles', () => {
    const t = new CounterTracker();
    t.update('k', 0, [['a', 500], ['b', T32 - 1]]);
    const c = t.update('k', 1000, [['a', 20], ['b', 9]])!;
    expect(c.delta).toEqual({ a: 20, b: 10 });
    expect(c.resets).toEqual(['a']);
    expect(c.wraps).toEqual(['b']);
    expect(c.rate).toEqual({ a: 20, b: 10 });
  });

  it('treats a changed generation (interface re-created) as a reset even if counters grew', () => {
    const t = new CounterTracker();
    t.update('veth0', 0, [['rx.ok', 10]], 7);
    const c = t.update('veth0', 1000, [['rx.ok', 40]], 9)!;
    expect(c.delta).toEqual({ 'rx.ok': 40 });
    expect(c.resets).toEqual(['rx.ok']);
  });

  it('an unknown generation is not a re-creation', () => {
    const t = new CounterTracker();
    t.update('veth0', 0, [['rx.ok', 10]], 7);
    expect(t.update('veth0', 1000, [['rx.ok', 40]])!.resets).toEqual([]);
    expect(t.update('veth0', 2000, [['rx.ok', 50]], 7)!.resets).toEqual([]);
    expect(t.update('veth0', 3000, [['rx.ok', 60]], 8)!.resets).toEqual(['rx.ok']);
  });

  it('counts a counter new to a known series from zero, and gauges as signed differences', () => {
    const t = new CounterTracker({ gauges: new Set(['g']) });
    t.update('s', 0, [['g', 5]]);
    const c = t.update('s', 500, [['g', 2], ['IcmpMsgInType8', 4]])!;
    expect(c.delta).toEqual({ g: -3, IcmpMsgInType8: 4 });
    expect(c.rate).toEqual({ g: -6, IcmpMsgInType8: 8 });
    expect(c.resets).toEqual([]);
  });

  it('gives no rate when no time elapsed', () => {
    const t = new CounterTracker();
    t.update('s', 100, [['x', 1]]);
    const c = t.update('s', 100, [['x', 2]])!;
    expect(c.delta).toEqual({ x: 1 });
    expect(c.rate).toEqual({});
  });

  it('forgets series that disappeared, so a re-created one starts afresh', () => {
    const t = new CounterTracker();
    t.beginCycle();
    t.update('a', 0, [['x', 1]]);
    t.update('b', 0, [['x', 1]]);
    t.endCycle();
    t.beginCycle();
    t.update('a', 1000, [['x', 2]]);
    t.endCycle();
    expect(t.size).toBe(1);
    expect(t.update('b', 2000, [['x', 5]])).toBeNull();
  });
});

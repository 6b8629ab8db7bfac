import { afterEach, describe, expect, it, vi } from 'vitest';
import { after, every, MAX_TIMER_MS, sleep } from './timers.js';

const DAY = 86_400_000;

describe('timers', () => {
  afterEach(() => vi.useRealTimers());

  it('Node clamps a plain timer past 2^31-1 ms to 1 ms, which is why after() chains', () => {
    vi.useFakeTimers();
    const plain = vi.fn();
    setTimeout(plain, 30 * DAY);
    vi.advanceTimersByTime(10);
    expect(plain).toHaveBeenCalledTimes(1);
  });

  it('after(): a 30-day delay fires after 30 days, not before', () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    after(30 * DAY, fn);
    vi.advanceTimersByTime(MAX_TIMER_MS + 1);
    vi.advanceTimersByTime(30 * DAY - MAX_TIMER_MS - 2);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('after(): cancel() stops a chained timer; Infinity never fires', () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    const t = after(40 * DAY, fn);
    vi.advanceTimersByTime(30 * DAY);
    t.cancel();
    const never = after(Infinity, fn);
    vi.advanceTimersByTime(400 * DAY);
    never.cancel();
    expect(fn).not.toHaveBeenCalled();
  });

  it('every(): a 30-day period fires once a period', () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    const t = every(30 * DAY, fn);
    vi.advanceTimersByTime(30 * DAY - 1);
    expect(fn).toHaveBeenCalledTimes(0);
    vi.advanceTimersByTime(60 * DAY + 1);
    expect(fn).toHaveBeenCalledTimes(3);
    t.cancel();
    expect(() => every(0, fn)).toThrow(RangeError);
  });

  it('sleep(): resolves at once when its signal is aborted', async () => {
    const stop = new AbortController();
    const slept = sleep(30 * DAY, stop.signal);
    stop.abort();
    await expect(slept).resolves.toBeUndefined();
  });
});

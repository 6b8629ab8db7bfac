/**
 * The agent's one way to wait. Node clamps a timer delay above 2^31−1 ms (24.8 days) to 1 ms, so
 * `interval: 30d` would fire a thousand times a second and `timeout: 30d` at once: a longer delay
 * here is a chain of timers, each at most that long. Every wait of the core and the built-in
 * plugins goes through these helpers.
 */

/** The longest delay one Node timer honours. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface Timer {
  /** Stops the timer; its function is not called (again). */
  cancel(): void;
}

export interface TimerOptions {
  /** Does not keep the process alive (Node's `timer.unref()`). */
  readonly unref?: boolean;
}

/**
 * Calls `fn` once, `ms` from now. Any length: Infinity never fires; a negative or NaN delay fires
 * on the next turn of the event loop.
 */
export function after(ms: number, fn: () => void, options: TimerOptions = {}): Timer {
  let left = ms >= 0 ? ms : 0;
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    const step = Math.min(left, MAX_TIMER_MS);
    left -= step;
    timer = setTimeout(() => (left > 0 ? arm() : fn()), step);
    if (options.unref) timer.unref();
  };
  arm();
  return { cancel: () => clearTimeout(timer) };
}

/** Resolves after `ms`, or as soon as `signal` is aborted (never rejects). */
export function sleep(ms: number, signal?: AbortSignal, options: TimerOptions = {}): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      timer.cancel();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = after(ms, done, options);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Calls `fn` every `ms`, aligned to the start so that slow calls do not accumulate drift. After a
 * long stall (a suspended host) the missed calls are skipped rather than fired in a burst.
 */
export function every(ms: number, fn: () => void, options: TimerOptions = {}): Timer {
  if (!(ms > 0)) throw new RangeError(`every(): a period above 0 ms, not ${ms}`);
  const start = Date.now();
  let n = 0;
  let timer: Timer;
  let stopped = false;
  const schedule = (): void => {
    n++;
    timer = after(start + n * ms - Date.now(), () => {
      fn();
      while (start + (n + 1) * ms <= Date.now()) n++;
      if (!stopped) schedule();
    }, options);
  };
  schedule();
  return {
    cancel: () => {
      stopped = true;
      timer.cancel();
    },
  };
}

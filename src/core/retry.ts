/**
 * Backoff for the sinks that deliver from their own loop (kafka, elasticsearch): one option shape
 * (`retry: {initial, max, multiplier, jitter}`) and one formula, exponential with jitter.
 */
import { Type } from '@sinclair/typebox';
import { Duration } from './config/types.js';
import { parseDuration } from './units.js';

export function retryOptions(maxDescription = 'Longest backoff.') {
  return Type.Object(
    {
      initial: Duration({ default: '250ms', description: 'First backoff after a failure (reconnect, re-send). E.g. "250ms", "5s", "1m".' }),
      max: Duration({ default: '10s', description: `${maxDescription} E.g. "250ms", "5s", "1m".` }),
      multiplier: Type.Number({ minimum: 1, default: 2, description: 'Backoff growth per consecutive failure.' }),
      jitter: Type.Number({ minimum: 0, maximum: 1, default: 0.5, description: 'Random part of each backoff (0..1).' }),
    },
    { additionalProperties: false, default: {} },
  );
}

export interface Backoff {
  initial: number;
  max: number;
  multiplier: number;
  jitter: number;
}

export function backoffFrom(o: { initial: string; max: string; multiplier: number; jitter: number }): Backoff {
  return { initial: parseDuration(o.initial)!, max: parseDuration(o.max)!, multiplier: o.multiplier, jitter: o.jitter };
}

/** Milliseconds to wait before attempt `attempt` (1 = after the first failure). */
export function backoff(attempt: number, b: Backoff): number {
  const base = Math.min(b.max, b.initial * b.multiplier ** Math.max(0, attempt - 1));
  return Math.round(base * (1 - b.jitter + Math.random() * b.jitter));
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

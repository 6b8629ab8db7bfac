import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { CollectorPlan } from '../src/core/config/load.js';
import type { CollectContext, Collector } from '../src/core/plugin.js';
import { CollectorRunner, type EventOutlet } from '../src/core/scheduler.js';

const logger = pino({ level: 'silent' });
const outlet: EventOutlet = { emit: () => true, drained: async () => {} };

function plan(timeoutMs = 1000): CollectorPlan {
  return { id: 'c1', path: ['collectors', 0], manifest: { type: 't' } as CollectorPlan['manifest'], options: {}, trigger: { kind: 'interval', ms: 1000 }, timeoutMs, jitterMs: 0 };
}

describe('collector runner', () => {
  it('skips and counts a tick while the previous run is still going', async () => {
    let finish!: () => void;
    let calls = 0;
    const collector: Collector = {
      collect: () => {
        calls++;
        return new Promise<void>((r) => (finish = r));
      },
    };
    const runner = new CollectorRunner(plan(), collector, outlet, logger, Date.now);
    runner.tick();
    runner.tick();
    runner.tick();
    expect(calls).toBe(1);
    expect(runner.stats.skips).toBe(2);
    finish();
    await runner.settle(Date.now() + 1000);
    runner.tick();
    expect(calls).toBe(2);
    finish();
    await runner.settle(Date.now() + 1000);
    expect(runner.stats).toMatchObject({ runs: 2, skips: 2, failures: 0 });
  });

  it('times a run out through its abort signal and counts a failure', async () => {
    let seen: CollectContext | undefined;
    const collector: Collector = {
      collect: (ctx) => {
        seen = ctx;
        return new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
      },
    };
    const runner = new CollectorRunner(plan(30), collector, outlet, logger, Date.now);
    await runner.runNow();
    expect(seen!.signal.aborted).toBe(true);
    expect(runner.stats).toMatchObject({ runs: 1, timeouts: 1, failures: 1 });
    expect(runner.stats.last_error).toContain('timed out after 30 ms');
  });

  it('contains an exception to its own collector and counts events and malformed input', async () => {
    const bad = new CollectorRunner(plan(), { collect: async () => { throw new Error('boom'); } }, outlet, logger, Date.now);
    const good = new CollectorRunner(
      { ...plan(), id: 'c2' },
      {
        collect: async (ctx) => {
          ctx.emit('d', 'state', {});
          ctx.emit('d', 'state', {});
          ctx.malformed('tcp', 3, 'garbage');
        },
      },
      outlet, logger, Date.now,
    );
    await Promise.all([bad.runNow(), good.runNow()]);
    expect(bad.stats).toMatchObject({ runs: 1, failures: 1, last_error: 'boom' });
    expect(good.stats).toMatchObject({ runs: 1, failures: 0, events: 2, malformed: 3 });
  });

  it('clears last_error after a run that succeeds', async () => {
    let n = 0;
    const runner = new CollectorRunner(plan(), { collect: async () => { if (++n === 1) throw new Error('first fails'); } }, outlet, logger, Date.now);
    await runner.runNow();
    expect(runner.stats.last_error).toBe('first fails');
    await runner.runNow();
    expect(runner.stats).toMatchObject({ runs: 2, failures: 1 });
    expect(runner.stats).not.toHaveProperty('last_error');
  });
});

import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { SinkPlan } from '../src/core/config/load.js';
import { ECS_VERSION } from '../src/core/ecs.js';
import { EventStamper } from '../src/core/envelope.js';
import { SinkError } from '../src/core/errors.js';
import { InvalidEventError, Pipeline, SinkRunner } from '../src/core/pipeline.js';
import { EncodedFields, type EventDetail, type EventFields, type EventKind, type Sink, type SinkEvent } from '../src/core/plugin.js';

const logger = pino({ level: 'silent' });
const identity = { hostName: 'h1', agentVersion: '0.0.0', agentId: 'a-1', ephemeralId: 'e-1', labels: { env: 'test' } };

function plan(over: { id?: string; datasets?: string[]; maxEvents?: number; whenFull?: 'drop_oldest' | 'drop_newest'; batch?: number }): SinkPlan {
  return {
    id: over.id ?? 'sink',
    path: ['sinks', 0],
    manifest: { type: 'test' } as SinkPlan['manifest'],
    options: {},
    datasets: over.datasets ?? ['*'],
    queue: { max_events: over.maxEvents ?? 1000, when_full: over.whenFull ?? 'drop_oldest' },
    batch: { maxEvents: over.batch ?? 100, maxWaitMs: 0 },
    retry: { initialMs: 5, maxMs: 20 },
  };
}

/**
 * What a sink may keep of an event past write() (its line is then written over): the line, a copy
 * of its bytes, the block those lay in, and fields parsed from the line.
 */
interface KeptEvent extends SinkEvent {
  readonly block: ArrayBufferLike;
}
function keep(e: SinkEvent): KeptEvent {
  const line = e.line;
  const whole = JSON.parse(line) as Record<string, unknown>;
  const field = (path: string): unknown =>
    path.split('.').reduce<unknown>((v, k) => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined), whole);
  return { dataset: e.dataset, sequence: e.sequence, line, bytes: Buffer.from(e.bytes), block: e.bytes.buffer, field };
}

/** A sink that records what it was given and fails as told. */
class RecordingSink implements Sink {
  readonly written: KeptEvent[] = [];
  failures: SinkError[] = [];
  gate: Promise<void> = Promise.resolve();
  async write(batch: readonly SinkEvent[]): Promise<void> {
    await this.gate;
    const failure = this.failures.shift();
    if (failure) throw failure;
    this.written.push(...batch.map(keep));
  }
}

function pipelineOf(...runners: SinkRunner[]) {
  return new Pipeline(new EventStamper(identity), runners, () => Date.parse('2026-01-02T03:04:05.678Z'), logger);
}

describe('pipeline', () => {
  it('stamps the envelope once and encodes the whole event as one JSON line', async () => {
    const sink = new RecordingSink();
    const p = pipelineOf(new SinkRunner(plan({}), sink, logger));
    p.start();
    p.emit('tcp.socket', 'state', { source: { ip: '127.0.0.1', port: 22 } });
    p.emit('snmp.counters', 'metric', {});
    await p.stop(Date.now() + 1000);
    const [a, b] = sink.written.map((e) => JSON.parse(e.line));
    expect(a).toEqual({
      '@timestamp': '2026-01-02T03:04:05.678Z',
      event: { dataset: 'tcp.socket', kind: 'state', category: ['network'], type: ['connection'], sequence: 1 },
      host: { name: 'h1' },
      agent: { name: 'netagent', type: 'netagent', version: '0.0.0', id: 'a-1', ephemeral_id: 'e-1' },
      ecs: { version: ECS_VERSION },
      labels: { env: 'test' },
      source: { ip: '127.0.0.1', port: 22 },
    });
    expect(b.event).toEqual({ dataset: 'snmp.counters', kind: 'metric', category: ['network'], type: ['info'], sequence: 2 });
    expect(sink.written[0]!.field('source.port')).toBe(22);
    expect(sink.written[0]!.field('host.name')).toBe('h1');
    expect(sink.written[0]!.field('labels.env')).toBe('test');
  });

  it('encodes lines as UTF-8 bytes, across many blocks, each line whole and its bytes its text', async () => {
    const sink = new RecordingSink();
    const p = new Pipeline(
      new EventStamper({ ...identity, hostName: 'hôte-ü', labels: { site: 'Zürich 東京' } }),
      [new SinkRunner(plan({ maxEvents: 20_000, batch: 1000 }), sink, logger)],
      () => Date.parse('2026-01-02T03:04:05.678Z'),
      logger,
    );
    p.start();
    // ~2.5 MiB of lines: they fill several of the stamper's 1 MiB blocks.
    const fields = (i: number) => ({ unix: { path: `/run/ßocket-${i}-😀` }, pad: 'x'.repeat(200 + (i % 97)) });
    for (let i = 0; i < 8000; i++) p.emit('unix.socket', 'state', i % 1000 === 0 ? {} : fields(i));
    await p.stop(Date.now() + 5000);
    expect(sink.written).toHaveLength(8000);
    sink.written.forEach((e, i) => {
      expect(e.bytes.equals(Buffer.from(e.line, 'utf8'))).toBe(true);
      const parsed = JSON.parse(e.line);
      expect(parsed.event.sequence).toBe(i + 1);
      expect(parsed.host.name).toBe('hôte-ü');
      expect(parsed.labels.site).toBe('Zürich 東京');
      expect(parsed.unix).toEqual(i % 1000 === 0 ? undefined : fields(i).unix);
    });
  });

  it('writes over a block of lines once every sink has settled its events, and not before', async () => {
    let open!: () => void;
    const slow = new RecordingSink();
    slow.gate = new Promise((r) => (open = r));
    const fast = new RecordingSink();
    const p = pipelineOf(
      new SinkRunner(plan({ id: 'fast', batch: 1000 }), fast, logger),
      new SinkRunner(plan({ id: 'slow', maxEvents: 50_000, batch: 1000 }), slow, logger),
    );
    p.start();
    // ~20 MB of lines, 1000 at a time, letting the sinks run in between: 20 blocks' worth.
    const fields = (i: number) => ({ i, pad: String(i % 10).repeat(400 + (i % 89)) });
    for (let i = 0; i < 40_000; i++) {
      p.emit('x.y', 'state', fields(i));
      if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
    }
    // The fast sink has written all the slow one still holds: none of those blocks may be reused.
    await new Promise((r) => setTimeout(r, 50));
    expect(fast.written).toHaveLength(40_000);
    open();
    await p.stop(Date.now() + 10_000);
    for (const sink of [fast, slow]) {
      expect(sink.written).toHaveLength(40_000);
      sink.written.forEach((e, i) => {
        expect(e.sequence).toBe(i + 1);
        expect(e.field('i')).toBe(i);
        expect(e.field('pad')).toBe(fields(i).pad);
      });
    }
    // While the slow sink held everything, the blocks were all new ones.
    expect(new Set(slow.written.map((e) => e.block)).size).toBeGreaterThanOrEqual(19);
    // A sink alone: its settled blocks come back, so a few serve every line.
    const alone = new RecordingSink();
    const q = pipelineOf(new SinkRunner(plan({ batch: 1000 }), alone, logger));
    q.start();
    for (let i = 0; i < 40_000; i++) {
      q.emit('x.y', 'state', fields(i));
      if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
    }
    await q.stop(Date.now() + 10_000);
    alone.written.forEach((e, i) => expect(e.field('pad')).toBe(fields(i).pad));
    expect(new Set(alone.written.map((e) => e.block)).size).toBeLessThanOrEqual(4);
  });

  it('leaves out fields that would overwrite the envelope', async () => {
    const sink = new RecordingSink();
    const p = pipelineOf(new SinkRunner(plan({}), sink, logger));
    p.start();
    p.emit('x.y', 'state', { event: { sequence: 99 }, host: { name: 'forged' }, x: 1 });
    await p.stop(Date.now() + 1000);
    const line = sink.written[0]!.line;
    expect(line.match(/"event":/g)).toHaveLength(1);
    expect(JSON.parse(line)).toMatchObject({ event: { sequence: 1 }, host: { name: 'h1' }, x: 1 });
  });

  it('refuses what is no valid event before it takes a sequence number', async () => {
    const sink = new RecordingSink();
    const p = pipelineOf(new SinkRunner(plan({}), sink, logger));
    p.start();
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const refused: [string, string, unknown][] = [
      ['x.y', 'state', [1]], ['x.y', 'state', new Date(0)], ['x.y', 'state', { toJSON: () => 'text' }], ['x.y', 'state', { n: 1n }],
      ['x.y', 'state', circular], ['x.y', 'state', { get bad() { throw new Error('getter'); } }], ['x.y', 'state', null],
      ['', 'state', {}], ['a\nb', 'state', {}], ['X.Y', 'state', {}], ['x.y', 'gauge', {}], ['x.y', 'state', EncodedFields.fromMembers('"a":')],
    ];
    for (const [dataset, kind, fields] of refused) {
      expect(() => p.emit(dataset, kind as EventKind, fields as EventFields), `${dataset} ${String(fields)}`).toThrow(InvalidEventError);
    }
    // A per-event detail belongs to kind event only, with a known type and whole nanoseconds.
    const badDetails: [string, unknown][] = [['state', { type: 'start' }], ['event', { type: 'begin' }], ['event', { type: 'end', durationNs: 1.5 }], ['event', { type: 'end', durationNs: -1 }]];
    for (const [kind, detail] of badDetails) {
      expect(() => p.emit('x.y', kind as EventKind, {}, detail as EventDetail), JSON.stringify(detail)).toThrow(InvalidEventError);
    }
    p.emit('x.y', 'state', { toJSON: () => ({ as: 'written' }) });
    p.emit('x.y', 'event', { as: 'ended' }, { type: 'end', durationNs: 2_000_000_000 });
    await p.stop(Date.now() + 1000);
    expect(sink.written.map((e) => [e.sequence, JSON.parse(e.line).as, e.field('as')])).toEqual([[1, 'written', 'written'], [2, 'ended', 'ended']]);
    expect(sink.written.map((e) => [e.field('event.kind'), e.field('event.type'), e.field('event.duration')])[1]).toEqual(['event', ['end'], 2_000_000_000]);
  });

  it('routes by dataset globs', async () => {
    const tcp = new RecordingSink();
    const all = new RecordingSink();
    const p = pipelineOf(new SinkRunner(plan({ id: 'tcp', datasets: ['tcp.*'] }), tcp, logger), new SinkRunner(plan({ id: 'all' }), all, logger));
    p.start();
    for (const d of ['tcp.socket', 'udp.socket', 'tcp.summary']) p.emit(d, 'state', {});
    await p.stop(Date.now() + 1000);
    expect(tcp.written.map((e) => e.dataset)).toEqual(['tcp.socket', 'tcp.summary']);
    expect(all.written.map((e) => e.sequence)).toEqual([1, 2, 3]);
  });

  it('retries a retriable failure with the same batch, and drops a non-retriable one as failed', async () => {
    const sink = new RecordingSink();
    sink.failures = [new SinkError('broker away', true), new SinkError('broker away', true)];
    const runner = new SinkRunner(plan({}), sink, logger);
    const p = pipelineOf(runner);
    p.start();
    p.emit('a', 'state', {});
    await new Promise((r) => setTimeout(r, 100));
    sink.failures = [new SinkError('message too large', false)];
    p.emit('b', 'state', {});
    await p.stop(Date.now() + 1000);
    expect(sink.written.map((e) => e.dataset)).toEqual(['a']);
    expect(runner.stats()).toMatchObject({ written: 1, failed: 1, retries: 2, dropped: 0, last_error: 'message too large' });
  });

  it('clears last_error once a write succeeds again', async () => {
    const sink = new RecordingSink();
    sink.failures = [new SinkError('broker away', true)];
    const runner = new SinkRunner(plan({}), sink, logger);
    const p = pipelineOf(runner);
    p.start();
    p.emit('a', 'state', {});
    await new Promise((r) => setTimeout(r, 100));
    await p.stop(Date.now() + 1000);
    expect(runner.stats()).toMatchObject({ written: 1, retries: 1 });
    expect(runner.stats()).not.toHaveProperty('last_error');
  });

  it('bounds a slow sink queue by its policy without holding back another sink', async () => {
    let release!: () => void;
    const slow = new RecordingSink();
    slow.gate = new Promise((r) => (release = r));
    const fast = new RecordingSink();
    const slowRunner = new SinkRunner(plan({ id: 'slow', maxEvents: 10, batch: 5 }), slow, logger);
    const newest = new RecordingSink();
    newest.gate = slow.gate;
    const newestRunner = new SinkRunner(plan({ id: 'newest', maxEvents: 10, batch: 5, whenFull: 'drop_newest' }), newest, logger);
    const p = pipelineOf(slowRunner, new SinkRunner(plan({ id: 'fast' }), fast, logger), newestRunner);
    p.start();
    p.emit('x', 'state', {});
    await new Promise((r) => setTimeout(r, 20)); // the first batch (event 1) is now stuck in write()
    let sawFull = false;
    for (let i = 2; i <= 100; i++) if (!p.emit('x', 'state', {})) sawFull = true;
    expect(sawFull).toBe(true);
    expect(slowRunner.depth).toBe(10);
    release();
    await p.stop(Date.now() + 1000);
    expect(fast.written).toHaveLength(100);
    // drop_oldest keeps the newest ten; drop_newest keeps the first ten queued.
    expect(slow.written.map((e) => e.sequence)).toEqual([1, ...Array.from({ length: 10 }, (_, i) => 91 + i)]);
    expect(newest.written.map((e) => e.sequence)).toEqual(Array.from({ length: 11 }, (_, i) => 1 + i));
    expect(slowRunner.stats().dropped).toBe(89);
    expect(newestRunner.stats().dropped).toBe(89);
  });

  it('keeps retrying an open() that fails, then delivers', async () => {
    let opens = 0;
    const sink = new RecordingSink() as RecordingSink & { open(): Promise<void> };
    sink.open = async () => {
      if (++opens < 3) throw new SinkError('not yet', true);
    };
    const p = pipelineOf(new SinkRunner(plan({}), sink, logger));
    p.start();
    p.emit('a', 'state', {});
    await p.stop(Date.now() + 2000);
    expect(opens).toBe(3);
    expect(sink.written).toHaveLength(1);
  });

  it('counts what is still queued at the shutdown deadline as dropped', async () => {
    const sink = new RecordingSink();
    sink.gate = new Promise(() => {});
    const runner = new SinkRunner(plan({ batch: 1 }), sink, logger);
    const p = pipelineOf(runner);
    p.start();
    for (let i = 0; i < 5; i++) p.emit('a', 'state', {});
    await new Promise((r) => setTimeout(r, 20));
    await p.stop(Date.now() + 50);
    expect(runner.stats()).toMatchObject({ written: 0, dropped: 5 });
  });
});

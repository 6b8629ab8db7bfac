import { describe, expect, it } from 'vitest';
import { EventStamper, StampedEvent } from './envelope.js';
import { LineBuffer } from './line-buffer.js';
import type { SinkEvent } from './plugin.js';

const identity = { hostName: 'h1', agentVersion: '0.0.0', agentId: 'a-1', ephemeralId: 'e-1', labels: {} };

function plainEvent(sequence: number): SinkEvent {
  const line = JSON.stringify({ plain: sequence, note: 'ünïcode' });
  return { dataset: 'x', sequence, line, bytes: Buffer.from(line), field: () => undefined };
}

/** What a sink writing the chunks one after the other puts out, and the chunks themselves. */
function written(batch: readonly SinkEvent[], scratch: LineBuffer): { text: string; chunks: number; views: number } {
  const parts: Buffer[] = [];
  let views = 0;
  for (const chunk of StampedEvent.ndjsonChunks(batch, scratch)) {
    if (chunk.buffer !== scratch.bytes.buffer) views++;
    parts.push(Buffer.from(chunk)); // a scratch chunk is valid only until the next step
  }
  return { text: Buffer.concat(parts).toString('utf8'), chunks: parts.length, views };
}

const ndjson = (batch: readonly SinkEvent[]) => batch.map((e) => `${e.line}\n`).join('');

describe('StampedEvent.ndjsonChunks', () => {
  const stamper = new EventStamper(identity);
  // Held, as a sink's queue holds them: unheld, a block of lines may be written over.
  const stamp = (i: number) => stamper.stamp('tcp.socket', 'state', { i, pad: 'p'.repeat(300) }, 1_700_000_000_000).hold();

  it('writes a run of consecutively stamped events as views of their block, nothing copied', () => {
    const batch = Array.from({ length: 1000 }, (_, i) => stamp(i));
    const scratch = new LineBuffer();
    const out = written(batch, scratch);
    expect(out.text).toBe(ndjson(batch));
    // ~400 KB of lines: one view, or two where the run crosses into a new block.
    expect(out.views).toBe(out.chunks);
    expect(out.chunks).toBeLessThanOrEqual(2);
  });

  it('copies short runs (a sink taking every other event) and lines not made by the stamper, in order', () => {
    const all = Array.from({ length: 400 }, (_, i) => stamp(i));
    const everyOther = all.filter((_, i) => i % 2 === 0);
    const mixed: SinkEvent[] = [...all.slice(0, 100), plainEvent(1), plainEvent(2), ...all.slice(100, 110), plainEvent(3), ...all.slice(110)];
    for (const batch of [everyOther, mixed]) {
      const out = written(batch, new LineBuffer());
      expect(out.text).toBe(ndjson(batch));
    }
    expect(written(everyOther, new LineBuffer()).views).toBe(0);
    expect(written(mixed, new LineBuffer()).views).toBeGreaterThan(0);
  });
});

describe('EventStamper: the ECS part of the envelope', () => {
  it('stamps ecs.version, agent.type and, per dataset of the table, event.category and event.type', async () => {
    const { DATASET_CATEGORIZATION, ECS_VERSION } = await import('./ecs.js');
    const stamper = new EventStamper(identity);
    const socket = JSON.parse(stamper.stamp('tcp.socket', 'state', { a: 1 }, 1_700_000_000_000).line);
    expect(socket.ecs).toEqual({ version: ECS_VERSION });
    expect(socket.agent).toMatchObject({ name: 'netagent', type: 'netagent' });
    expect(socket.event).toMatchObject({ dataset: 'tcp.socket', kind: 'state', category: ['network'], type: ['connection'], sequence: 1 });
    const iface = JSON.parse(stamper.stamp('iface.stats', 'metric', {}, 1_700_000_000_000).line);
    expect([iface.event.category, iface.event.type]).toEqual([['host'], ['info']]);
    // Not in the table: neither field, rather than a guess.
    const stats = stamper.stamp('agent.stats', 'metric', { n: 1 }, 1_700_000_000_000);
    const parsed = JSON.parse(stats.line);
    expect(parsed.event).toEqual({ dataset: 'agent.stats', kind: 'metric', sequence: 3 });
    expect(stats.field('agent.type')).toBe('netagent');
    expect(stats.field('ecs.version')).toBe(ECS_VERSION);
    // ECS's allowed event.type values per event.category (ecs-allowed-values-event-category).
    const expectedTypes: Record<string, string[]> = {
      network: ['access', 'allowed', 'connection', 'denied', 'end', 'info', 'protocol', 'start'],
      host: ['access', 'change', 'end', 'info', 'start'],
      configuration: ['access', 'change', 'creation', 'deletion', 'info'],
    };
    for (const [dataset, c] of DATASET_CATEGORIZATION) {
      expect(c.category.length, dataset).toBeGreaterThan(0);
      for (const category of c.category) for (const type of c.type) expect(expectedTypes[category], `${dataset}: ${category}/${type}`).toContain(type);
    }
  });
});

describe('EventStamper: lifecycle events (kind event, issue 13)', () => {
  const stamper = new EventStamper(identity);
  const event = (dataset: string, detail?: { type: 'start' | 'end' | 'info'; durationNs?: number }) =>
    JSON.parse(stamper.stamp(dataset, 'event', { a: 1 }, 1_700_000_000_000, detail).line).event;

  it("appends the event's own type to the dataset's event.type and writes event.duration in ns", () => {
    expect(event('tcp.connection', { type: 'start' })).toMatchObject({ kind: 'event', category: ['network'], type: ['connection', 'start'] });
    const end = event('tcp.connection', { type: 'end', durationNs: 12_345_678_901_234 });
    expect(end).toMatchObject({ type: ['connection', 'end'], duration: 12_345_678_901_234 });
    expect(event('tcp.connection', { type: 'start' }).duration).toBeUndefined();
  });

  it('a dataset without ECS types gets only the detail type; the same head is not shared across types', () => {
    expect(event('tcp.listener', { type: 'info' })).toMatchObject({ category: ['network'], type: ['info'] });
    expect(event('tcp.listener', { type: 'end' }).type).toEqual(['end']);
    expect(event('x.unknown', { type: 'start' })).toMatchObject({ type: ['start'] });
    expect(event('x.unknown').type).toBeUndefined();
  });
});

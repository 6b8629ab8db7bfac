/** Runs a collector once outside the agent and returns what it emitted: for collector tests. */
import type { Collector, EventFields, EventKind } from '../../src/core/plugin.js';

export interface CollectedEvent {
  dataset: string;
  kind: EventKind;
  fields: EventFields;
}

export interface CollectResult {
  events: CollectedEvent[];
  malformed: { source: string; count: number; example: string }[];
}

export async function collectOnce(collector: Collector, startedAt = Date.now()): Promise<CollectResult> {
  const result: CollectResult = { events: [], malformed: [] };
  await collector.collect({
    emit(dataset, kind, fields) {
      result.events.push({ dataset, kind, fields });
      return true;
    },
    drained: async () => {},
    malformed(source, count, example) {
      result.malformed.push({ source, count, example });
    },
    signal: new AbortController().signal,
    startedAt,
  });
  return result;
}

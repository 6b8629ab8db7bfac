/** Runs a collector once outside the agent and returns what it emitted: for collector tests. */
import { EncodedFields, type Collector, type EventFields, type EventKind } from '../../src/core/plugin.js';

export interface CollectedEvent {
  dataset: string;
  kind: EventKind;
  /** Always an object: EncodedFields are parsed, so tests compare one shape. */
  fields: EventFields;
  /** The JSON text when the collector emitted EncodedFields. */
  json?: string;
}

export interface CollectResult {
  events: CollectedEvent[];
  malformed: { source: string; count: number; example: string }[];
}

export async function collectOnce(collector: Collector, startedAt = Date.now()): Promise<CollectResult> {
  const result: CollectResult = { events: [], malformed: [] };
  await collector.collect({
    emit(dataset, kind, fields) {
      if (fields instanceof EncodedFields) result.events.push({ dataset, kind, fields: JSON.parse(fields.json) as EventFields, json: fields.json });
      else result.events.push({ dataset, kind, fields });
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

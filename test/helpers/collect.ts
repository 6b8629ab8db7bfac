/** Runs a collector once outside the agent and returns what it emitted: for collector tests. */
import { EncodedFields, type Collector, type EventDetail, type EventFields, type EventKind } from '../../src/core/plugin.js';

export interface CollectedEvent {
  dataset: string;
  kind: EventKind;
  /** Always an object: EncodedFields are parsed, so tests compare one shape. */
  fields: EventFields;
  /** The JSON text when the collector emitted EncodedFields. */
  json?: string;
  /** event.type / event.duration of a kind `event`. */
  detail?: EventDetail;
}

export interface CollectResult {
  events: CollectedEvent[];
  malformed: { source: string; count: number; example: string }[];
}

export async function collectOnce(collector: Collector, startedAt = Date.now()): Promise<CollectResult> {
  const result: CollectResult = { events: [], malformed: [] };
  await collector.collect({
    emit(dataset, kind, fields, detail) {
      const event: CollectedEvent =
        fields instanceof EncodedFields ? { dataset, kind, fields: JSON.parse(fields.json) as EventFields, json: fields.json } : { dataset, kind, fields };
      if (detail) event.detail = detail;
      result.events.push(event);
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

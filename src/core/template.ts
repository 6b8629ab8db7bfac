/**
 * Templates over event fields, for what a sink derives per event (a Kafka topic or key, an
 * Elasticsearch index or document id): literal text with `{{field.path}}` placeholders that are
 * replaced by SinkEvent.field(path). `{{path|fallback}}` uses `fallback` when the field is missing or
 * empty. `{{+yyyy.MM.dd}}` is the event's `@timestamp` in UTC in that pattern (yyyy, MM, dd, HH), for
 * daily or hourly index names. Strings are inserted as they are, numbers and booleans as text,
 * objects and arrays as JSON. A template without placeholders is a constant and costs nothing per event.
 */
import type { SinkEvent } from './plugin.js';

export type Template = (event: SinkEvent) => string;

const PLACEHOLDER = /\{\{\s*([^}|\s]+)\s*(?:\|([^}]*))?\}\}/g;

type Part = string | { path: string; fallback: string } | { date: string };

export function compileTemplate(source: string): Template {
  const parts: Part[] = [];
  let last = 0;
  for (const m of source.matchAll(PLACEHOLDER)) {
    if (m.index! > last) parts.push(source.slice(last, m.index));
    parts.push(m[1]!.startsWith('+') ? { date: m[1]!.slice(1) } : { path: m[1]!, fallback: (m[2] ?? '').trim() });
    last = m.index! + m[0].length;
  }
  if (last < source.length) parts.push(source.slice(last));
  if (parts.some((p) => typeof p === 'string' && p.includes('{{'))) {
    throw new Error(`malformed placeholder in template ${JSON.stringify(source)}`);
  }
  if (parts.every((p) => typeof p === 'string')) {
    const constant = source;
    return () => constant;
  }
  return (event) => {
    let out = '';
    for (const p of parts) {
      if (typeof p === 'string') out += p;
      else if ('date' in p) out += formatDate(p.date, event.field('@timestamp'));
      else {
        const s = stringify(event.field(p.path));
        out += s === '' ? p.fallback : s;
      }
    }
    return out;
  };
}

/** `pattern` with yyyy, MM, dd, HH replaced by the parts of the ISO timestamp `ts` (UTC). */
function formatDate(pattern: string, ts: unknown): string {
  const iso = typeof ts === 'string' ? ts : new Date().toISOString();
  return pattern.replace(/yyyy|MM|dd|HH/g, (t) => (t === 'yyyy' ? iso.slice(0, 4) : t === 'MM' ? iso.slice(5, 7) : t === 'dd' ? iso.slice(8, 10) : iso.slice(11, 13)));
}

function stringify(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

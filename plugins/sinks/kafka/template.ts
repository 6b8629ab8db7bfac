/**
 * Templates for topic, key and header values: literal text with `{{field.path}}` placeholders that are
 * replaced by SinkEvent.field(path). `{{path|fallback}}` uses `fallback` when the field is missing or
 * empty. Strings are inserted as they are, numbers and booleans as text, objects and arrays as JSON.
 * A template without placeholders is a constant and costs nothing per event.
 */
import type { SinkEvent } from '../../../src/core/plugin.js';

export type Template = (event: SinkEvent) => string;

const PLACEHOLDER = /\{\{\s*([^}|\s]+)\s*(?:\|([^}]*))?\}\}/g;

export function compileTemplate(source: string): Template {
  const parts: (string | { path: string; fallback: string })[] = [];
  let last = 0;
  for (const m of source.matchAll(PLACEHOLDER)) {
    if (m.index! > last) parts.push(source.slice(last, m.index));
    parts.push({ path: m[1]!, fallback: (m[2] ?? '').trim() });
    last = m.index! + m[0].length;
  }
  if (last < source.length) parts.push(source.slice(last));
  if (parts.every((p) => typeof p === 'string')) {
    if (source.includes('{{')) throw new Error(`malformed placeholder in template ${JSON.stringify(source)}`);
    const constant = source;
    return () => constant;
  }
  return (event) => {
    let out = '';
    for (const p of parts) {
      if (typeof p === 'string') out += p;
      else {
        const s = stringify(event.field(p.path));
        out += s === '' ? p.fallback : s;
      }
    }
    return out;
  };
}

function stringify(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

/** Kafka topic names: [a-zA-Z0-9._-], at most 249 characters, not "." or "..". */
export function sanitizeTopic(name: string): string {
  let t = name.replace(/[^a-zA-Z0-9._-]/g, '_').slice(0, 249);
  if (t === '' || t === '.' || t === '..') t = 'netagent';
  return t;
}

/**
 * The fields a NetView adds to every event read through it (namespace, container id), merged
 * into a collector's own fields. Plain objects merge recursively; the collector's values win.
 */
import type { EventFields } from '../core/plugin.js';
import type { NetView } from '../core/procfs.js';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}

/** `fields` with the view's fields merged in; the same object when the view adds none. */
export function withViewFields(view: NetView, fields: EventFields): EventFields {
  for (const _ in view.fields) return deepMerge(view.fields, fields);
  return fields;
}

/**
 * A stable key for a namespace across cycles (for per-namespace state such as counter deltas):
 * its fields (namespace inode, container), else its pid.
 */
export function viewKey(view: NetView): string {
  for (const _ in view.fields) return JSON.stringify(view.fields);
  return view.pid;
}

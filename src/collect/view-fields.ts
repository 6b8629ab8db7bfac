/**
 * The fields a NetView adds to every event read through it (namespace, container id), merged
 * into a collector's own fields. Plain objects merge recursively; the collector's values win.
 */
import type { JsonBytes } from '../core/json-bytes.js';
import type { EncodedFields, EventFields } from '../core/plugin.js';
import type { NetView } from '../core/procfs.js';
import type { SocketOwner } from '../core/socket-owners.js';

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
 * `,"netns":{…}` for appending to an event's JSON text (JsonBytes), empty for none; null when a
 * view field's top-level key is one of the event's own (`eventKeys`): then it must be deep-merged.
 */
export function encodedViewFields(view: NetView, eventKeys: ReadonlySet<string>): Buffer | null {
  const keys = Object.keys(view.fields);
  if (keys.length === 0) return Buffer.alloc(0);
  if (keys.some((k) => eventKeys.has(k))) return null;
  return Buffer.from(',' + JSON.stringify(view.fields).slice(1, -1));
}

/**
 * The event whose members `out` holds, with the view's fields: appended as text (`viewJson`, from
 * encodedViewFields), or deep-merged into the parsed members where their keys collide (null).
 */
export function encodedEventFields(out: JsonBytes, view: NetView, viewJson: Buffer | null): EventFields | EncodedFields {
  if (viewJson === null) return withViewFields(view, JSON.parse(`{${out.bytes.toString('utf8', 0, out.length)}}`) as EventFields);
  out.raw(viewJson);
  return out.fields();
}

/** Writes `,"process":{"pid":…,"name":…}` of a socket's owner, its text kept by pid in `cache`. */
export function writeProcessMember(out: JsonBytes, owner: SocketOwner, cache: Map<number, Buffer>): void {
  let text = cache.get(owner.pid);
  if (text === undefined) {
    text = Buffer.from(`,"process":{"pid":${owner.pid},"name":${JSON.stringify(owner.name)}}`);
    cache.set(owner.pid, text);
  }
  out.raw(text);
}

/**
 * A stable key for a namespace across cycles (for per-namespace state such as counter deltas):
 * its fields (namespace inode, container), else its pid.
 */
export function viewKey(view: NetView): string {
  for (const _ in view.fields) return JSON.stringify(view.fields);
  return view.pid;
}

function netnsInode(view: NetView): number | undefined {
  const netns = view.fields.netns as { inode?: unknown } | undefined;
  return typeof netns?.inode === 'number' ? netns.inode : undefined;
}

/**
 * The full path of a view's net/<file>, followed by the namespace it shows when known
 * (`/proc/4242/net/dev (netns 4026532286)`): the `source` of a malformed-input report, which is
 * logged at most every few minutes per source, so one namespace's bad file does not hide another's.
 */
export function netSource(procRoot: string, view: NetView, file: string): string {
  const inode = netnsInode(view);
  return `${procRoot}/${view.pid}/net/${file}${inode === undefined ? '' : ` (netns ${inode})`}`;
}

/**
 * Log fields naming a view: `net_pid` (not `pid`, which is pino's own, the agent's numeric pid)
 * and `netns_inode` when known.
 */
export function viewLogFields(view: NetView): Record<string, string | number> {
  const inode = netnsInode(view);
  return inode === undefined ? { net_pid: view.pid } : { net_pid: view.pid, netns_inode: inode };
}

/**
 * Parses what `ss -tinH` prints (the oracle of the TCP_INFO tests): per socket, its state line
 * (state, queues, local and peer address) and the TCP_INFO line after it, as ss names the values.
 * Addresses are rewritten as netstat prints them (`[::1]:80` → `::1:80`, `[::ffff:1.2.3.4]:80` →
 * `1.2.3.4:80`, a dual-stack wildcard `*:80` → `:::80`, port `*` → 0), so that a socket event's
 * `hostPort()` text finds its row.
 */
import { hostPort } from './netstat-oracle.js';

export interface SsInfoRow {
  state: string;
  recvQ: number;
  sendQ: number;
  local: string;
  peer: string;
  /** The congestion algorithm: the bare word ss prints first among the values (cubic, bbr, reno…). */
  congestion?: string;
  /** `name:value` pairs as printed (`rtt` → `0.005/0.002`, `retrans` → `0/3`), plus `send`, `pacing_rate`, `delivery_rate` (bits/s, digits only with -n). */
  values: Map<string, string>;
  /** Bare words other than the algorithm (ts, sack, ecn, app_limited…). */
  flags: Set<string>;
}

const FLAGS = new Set(['ts', 'sack', 'ecn', 'ecnseen', 'fastopen', 'app_limited', 'bidir']);
/** Words printed as `name value` rather than `name:value`. */
const SPACED = new Set(['send', 'pacing_rate', 'delivery_rate']);

function netstatAddress(text: string): string {
  const colon = text.lastIndexOf(':');
  let host = text.slice(0, colon);
  const port = text.slice(colon + 1);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host.startsWith('::ffff:') && host.includes('.')) host = host.slice('::ffff:'.length);
  if (host === '*') host = '::';
  // An interface scope (`%lo`) is not in netstat's text.
  host = host.replace(/%.*$/, '');
  return hostPort(host, port === '*' ? 0 : Number(port));
}

export function parseSsInfo(text: string): SsInfoRow[] {
  const rows: SsInfoRow[] = [];
  let last: SsInfoRow | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('\t') || line.startsWith(' ')) {
      if (!last) throw new Error(`ss: an info line before any socket: ${line}`);
      const words = line.trim().split(/\s+/);
      for (let i = 0; i < words.length; i++) {
        const w = words[i]!;
        if (SPACED.has(w)) {
          last.values.set(w, words[++i]!.replace(/bps$/, ''));
          continue;
        }
        const colon = w.indexOf(':');
        if (colon > 0) last.values.set(w.slice(0, colon), w.slice(colon + 1));
        else if (FLAGS.has(w)) last.flags.add(w);
        else if (last.congestion === undefined) last.congestion = w;
        else last.flags.add(w);
      }
      continue;
    }
    const t = line.trim().split(/\s+/);
    last = {
      state: t[0]!,
      recvQ: Number(t[1]),
      sendQ: Number(t[2]),
      local: netstatAddress(t[3]!),
      peer: netstatAddress(t[4]!),
      values: new Map(),
      flags: new Set(),
    };
    rows.push(last);
  }
  return rows;
}

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

/** `%g` of a number, as ss prints its milliseconds (6 significant digits, no trailing zeros). */
export function printfG(n: number): string {
  return String(Number(n.toPrecision(6)));
}

/** ss -ti's name of each tcp.info value compared one to one, and how ss prints it. */
const SS_NAMES: Record<string, { name: string; print: 'int' | 'g' | 'ms-int' }> = {
  mss: { name: 'mss', print: 'int' }, cwnd: { name: 'cwnd', print: 'int' }, ssthresh: { name: 'ssthresh', print: 'int' },
  bytes_acked: { name: 'bytes_acked', print: 'int' }, bytes_received: { name: 'bytes_received', print: 'int' },
  segs_out: { name: 'segs_out', print: 'int' }, segs_in: { name: 'segs_in', print: 'int' }, lost: { name: 'lost', print: 'int' },
  pacing_rate: { name: 'pacing_rate', print: 'int' }, delivery_rate: { name: 'delivery_rate', print: 'int' },
  rto: { name: 'rto', print: 'g' }, min_rtt: { name: 'minrtt', print: 'g' },
  busy: { name: 'busy', print: 'ms-int' }, rwnd_limited: { name: 'rwnd_limited', print: 'ms-int' }, sndbuf_limited: { name: 'sndbuf_limited', print: 'ms-int' },
};

/** The tcp.info names tcpInfoMismatches() compares (retransmits has no ss -i counterpart). */
export const SS_COMPARED = [...Object.keys(SS_NAMES), 'rtt', 'rttvar', 'retrans', 'total_retrans'];

/**
 * Where a socket's tcp.info differs from what ss printed for it, as `name: ours ≠ theirs` lines
 * (none: equal). ss leaves out zeros, the initial 3 s rto and a listener's ssthresh; `moving` names
 * values allowed to differ (a connection changing between the two reads).
 */
export function tcpInfoMismatches(info: Record<string, number | string>, s: SsInfoRow, moving: ReadonlySet<string> = new Set()): string[] {
  const out: string[] = [];
  const i = info as Record<string, number>;
  if (info.congestion !== s.congestion) out.push(`congestion: ${info.congestion} ≠ ${s.congestion}`);
  const check = (name: string, ours: string | undefined, theirs: string | undefined) => {
    if (!moving.has(name) && ours !== theirs) out.push(`${name}: ${ours} ≠ ${theirs}`);
  };
  for (const [mine, { name, print }] of Object.entries(SS_NAMES)) {
    const v = i[mine];
    const theirs = s.values.get(name);
    if (theirs === undefined) {
      const unshown = v === undefined || v === 0 || (mine === 'rto' && v === 3000) || (mine.endsWith('_limited') && !i.busy);
      if (!unshown) check(mine, String(v), undefined);
      continue;
    }
    const shown = v === undefined ? undefined : print === 'g' ? printfG(v) : print === 'ms-int' ? `${Math.floor(v)}ms` : String(v);
    check(mine, shown, print === 'ms-int' ? theirs.replace(/\(.*\)$/, '') : theirs);
  }
  if (i.rtt !== 0) check('rtt', `${printfG(i.rtt!)}/${printfG(i.rttvar!)}`, s.values.get('rtt'));
  const [retrans, total] = (s.values.get('retrans') ?? '0/0').split('/');
  check('retrans', String(i.retrans), retrans);
  check('total_retrans', String(i.total_retrans), total);
  return out;
}

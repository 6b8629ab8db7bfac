/**
 * Aggregation of socket rows into groups (issue 13): per cycle and network view, the sockets
 * counted per group key — any combination of local port, remote port, remote network (the peer
 * address masked to a prefix) and owning process — and, where TCP_INFO is read, exact percentiles
 * of a few of its values per group. The `top` groups by count become one event each; the rest are
 * summed into one `other` event that says how many groups it holds.
 *
 * Made for the collector's hot path (100k rows a cycle): add() reads the parser's reused InetRow
 * and touches typed arrays only. Groups are found through an open-addressing hash table over
 * fixed-width keys; samples for percentiles go to flat arrays, placed by bucket (kept group or
 * `other`) at finish() and each percentile's rank selected there (quickselect, no full sort). Memory is bounded by `maxGroups` (distinct groups tracked
 * per cycle: the sockets of any further group are counted in `other` at once, and the cycle is
 * marked capped) and by the rows read (one sample per TCP_INFO row).
 */
import type { EventFields } from '../core/plugin.js';
import type { SocketOwner } from '../core/socket-owners.js';
import { readU32 } from './host-order.js';
import { isV4MappedWords, procAddressText } from './inet-address.js';
import type { AGGREGATE_BY, InetOptions, Transport } from './inet-options.js';
import { stateName, udpStateName, type InetRow } from './inet-sockets.js';
import { TCP_INFO_FIELDS, tcpInfoValue, type TcpInfoField } from './tcp-info.js';

/** What a group key is made of, as the `aggregate.by` option names them. */
export type AggregateDimension = (typeof AGGREGATE_BY)[number];

/** The tcp.info values given as percentiles per group, named as tcp.info names them. */
export const PERCENTILE_FIELDS: readonly TcpInfoField[] = ['rtt', 'min_rtt', 'cwnd', 'retrans'].map(
  (name) => TCP_INFO_FIELDS.find((f) => f.name === name)!,
);
/** The percentiles given, as `p<N>` (nearest rank), besides `count` and `max`. */
const PERCENTILES = [50, 90, 99] as const;

export interface AggregateSpec {
  /** network.transport of the events. */
  readonly transport: Transport;
  readonly by: readonly AggregateDimension[];
  /** Prefix lengths the remote address is masked to. */
  readonly remotePrefix: { readonly ipv4: number; readonly ipv6: number };
  /** Groups given one event each per cycle, by count; the rest go to `other`. */
  readonly top: number;
  /** Distinct groups tracked per cycle. */
  readonly maxGroups: number;
  /** State names of the states counted (the others are left out), in event order. */
  readonly states: readonly string[];
  /** netstat's name of a state number (tcp or udp). */
  readonly stateName: (state: number) => string;
  /** Percentiles of PERCENTILE_FIELDS from the rows' TCP_INFO. */
  readonly percentiles: boolean;
}

/** A key: ports (local << 16 | remote), process id, family (0 no peer, 4, 6), four network words. */
const KEY_WORDS = 7;
const K_PORTS = 0;
const K_PROCESS = 1;
const K_FAMILY = 2;
const K_NETWORK = 3;
/** Counts per state number kept per group: the kernel's TCP states are 1..11. */
const STATE_SLOTS = 12;
const METRICS = PERCENTILE_FIELDS.length;
// The fields flattened for addSample(), which runs for every socket with TCP_INFO.
if (PERCENTILE_FIELDS.some((f) => f.kind !== 'u32')) throw new Error('percentiles read u32 fields only');
const METRIC_ENDS = Int32Array.from(PERCENTILE_FIELDS, (f) => f.offset + 4);
const METRIC_NONE = Float64Array.from(PERCENTILE_FIELDS, (f) => f.none ?? -1);
/** Divisor from the kernel's unit to the shown one (µs → ms), as tcpInfoValue() converts. */
const METRIC_DIVISOR = Float64Array.from(PERCENTILE_FIELDS, (f) => 1 / tcpInfoValue(f, 1));
/** The key words ties in count are ordered by (then the process name). */
const TIE_BREAK_WORDS = [K_PORTS, K_FAMILY, K_NETWORK, K_NETWORK + 1, K_NETWORK + 2, K_NETWORK + 3];
/** A sample of the `other` bucket's overflow (a group beyond maxGroups). */
const OVERFLOW = -1;
const INITIAL_GROUPS = 64;
const INITIAL_SAMPLES = 1024;

/** Per-cycle results: the events, and whether the group cap was hit. */
export interface AggregateResult {
  readonly groups: EventFields[];
  readonly capped: boolean;
}

export class SocketAggregate {
  private readonly byLocalPort: boolean;
  private readonly byRemotePort: boolean;
  private readonly byNetwork: boolean;
  /** Whether rows need their owner (by process): the collector then looks owners up. */
  readonly byProcess: boolean;
  /** 1 by state number for the states counted. */
  private readonly counted = new Uint8Array(256);
  /** The remote prefix masks as /proc words (network-order bytes read in host order), v4 and v6. */
  private readonly maskV4: number;
  private readonly maskV6 = new Uint32Array(4);

  /** Hash slot → group index, -1 for empty; twice maxGroups and a power of two. */
  private readonly slots: Int32Array;
  private groupCount = 0;
  private keys = new Uint32Array(INITIAL_GROUPS * KEY_WORDS);
  private counts = new Float64Array(INITIAL_GROUPS * STATE_SLOTS);
  private totals = new Float64Array(INITIAL_GROUPS);
  /** Sockets of groups beyond maxGroups, by state: part of `other`. */
  private readonly overflow = new Float64Array(STATE_SLOTS);
  private capped = false;
  /** Process names by id (id 0: no process), and ids by name. */
  private processNames: string[] = [''];
  private readonly processIds = new Map<string, number>();

  private sampleCount = 0;
  /** The group of each sample (OVERFLOW for the `other` bucket's own), and its METRICS values (NaN: absent). */
  private sampleGroups = new Int32Array(INITIAL_SAMPLES);
  private sampleValues = new Float64Array(INITIAL_SAMPLES * METRICS);
  private readonly key = new Uint32Array(KEY_WORDS);

  constructor(private readonly spec: AggregateSpec) {
    this.byLocalPort = spec.by.includes('local_port');
    this.byRemotePort = spec.by.includes('remote_port');
    this.byNetwork = spec.by.includes('remote_network');
    this.byProcess = spec.by.includes('process');
    for (let n = 0; n < 256; n++) if (spec.states.includes(spec.stateName(n)) && n < STATE_SLOTS) this.counted[n] = 1;
    this.maskV4 = prefixMaskWords(spec.remotePrefix.ipv4, 4)[0]!;
    this.maskV6.set(prefixMaskWords(spec.remotePrefix.ipv6, 16));
    let capacity = 16;
    while (capacity < spec.maxGroups * 2) capacity *= 2;
    this.slots = new Int32Array(capacity).fill(-1);
  }

  /** Starts a cycle (of one view): no groups, no samples. */
  begin(): void {
    this.slots.fill(-1);
    this.groupCount = 0;
    this.overflow.fill(0);
    this.capped = false;
    this.processNames = [''];
    this.processIds.clear();
    this.sampleCount = 0;
  }

  /** Counts one row (of the v6 table when `v6`), owned by `owner` (looked up only when byProcess). */
  add(row: InetRow, v6: boolean, owner: SocketOwner | undefined): void {
    const state = row.state;
    if (this.counted[state] !== 1) return;
    const key = this.key;
    key[K_PORTS] = (this.byLocalPort ? row.localPort << 16 : 0) | (this.byRemotePort ? row.remotePort : 0);
    key[K_PROCESS] = this.byProcess && owner !== undefined ? this.processId(owner.name) : 0;
    if (this.byNetwork) this.networkKey(row, v6, key);
    const group = this.findOrAdd(key);
    if (group === OVERFLOW) this.overflow[state]!++;
    else {
      this.counts[group * STATE_SLOTS + state]!++;
      this.totals[group]!++;
    }
    if (this.spec.percentiles && row.infoLen > 0) this.addSample(group, row);
  }

  /** The cycle's groups as event fields: the top ones by count, then `other` when anything was folded. */
  finish(): AggregateResult {
    const n = this.groupCount;
    const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => this.totals[b]! - this.totals[a]! || this.compareKeys(a, b));
    const kept = Math.min(n, this.spec.top);
    const folded = n - kept;
    const hasOther = folded > 0 || this.capped;
    /** Bucket of each group: its rank when kept, else `kept` (other). */
    const bucketOf = new Int32Array(n).fill(kept);
    for (let r = 0; r < kept; r++) bucketOf[order[r]!] = r;
    const buckets = kept + (hasOther ? 1 : 0);
    const percentiles = this.percentilesByBucket(bucketOf, kept, buckets);
    const groups: EventFields[] = [];
    for (let r = 0; r < kept; r++) {
      const g = order[r]!;
      groups.push(this.groupEvent(this.groupFields(g), this.counts.subarray(g * STATE_SLOTS, (g + 1) * STATE_SLOTS), percentiles[r]));
    }
    if (hasOther) {
      const states = Float64Array.from(this.overflow);
      for (let r = kept; r < n; r++) {
        const g = order[r]!;
        for (let s = 0; s < STATE_SLOTS; s++) states[s]! += this.counts[g * STATE_SLOTS + s]!;
      }
      const aggregate = { by: this.spec.by, other: true, folded_groups: folded, capped: this.capped };
      groups.push(this.groupEvent({ network: { transport: this.spec.transport }, aggregate }, states, percentiles[kept]));
    }
    return { groups, capped: this.capped };
  }

  private processId(name: string): number {
    let id = this.processIds.get(name);
    if (id === undefined) {
      id = this.processNames.length;
      this.processNames.push(name);
      this.processIds.set(name, id);
    }
    return id;
  }

  /** The remote address masked to the family's prefix; family 0 (and zeros) when the socket has no peer. */
  private networkKey(row: InetRow, v6: boolean, key: Uint32Array): void {
    const r = row.remote;
    key.fill(0, K_FAMILY);
    // No peer: a listener, an unconnected UDP socket (netstat's 0.0.0.0:*).
    if (row.remotePort === 0 && r[0] === 0 && (!v6 || (r[1] === 0 && r[2] === 0 && r[3] === 0))) return;
    // A v4-mapped peer of a v6 socket is an IPv4 peer (its packets are IPv4).
    if (!v6 || isV4MappedWords(r)) {
      key[K_FAMILY] = 4;
      key[K_NETWORK] = (v6 ? r[3]! : r[0]!) & this.maskV4;
      return;
    }
    key[K_FAMILY] = 6;
    for (let w = 0; w < 4; w++) key[K_NETWORK + w] = r[w]! & this.maskV6[w]!;
  }

  /** The group of `key`, added when new; OVERFLOW when new and maxGroups are tracked already. */
  private findOrAdd(key: Uint32Array): number {
    const mask = this.slots.length - 1;
    let slot = hashKey(key) & mask;
    for (;;) {
      const g = this.slots[slot]!;
      if (g < 0) break;
      if (this.keyEquals(g, key)) return g;
      slot = (slot + 1) & mask;
    }
    if (this.groupCount >= this.spec.maxGroups) {
      this.capped = true;
      return OVERFLOW;
    }
    const g = this.groupCount++;
    if (g * KEY_WORDS >= this.keys.length) this.grow();
    this.keys.set(key, g * KEY_WORDS);
    this.counts.fill(0, g * STATE_SLOTS, (g + 1) * STATE_SLOTS);
    this.totals[g] = 0;
    this.slots[slot] = g;
    return g;
  }

  private keyEquals(g: number, key: Uint32Array): boolean {
    const at = g * KEY_WORDS;
    for (let w = 0; w < KEY_WORDS; w++) if (this.keys[at + w] !== key[w]) return false;
    return true;
  }

  /** Doubles the per-group arrays (up to maxGroups: findOrAdd adds no more). */
  private grow(): void {
    const groups = Math.min(this.spec.maxGroups, (this.keys.length / KEY_WORDS) * 2);
    this.keys = grown(this.keys, groups * KEY_WORDS);
    this.counts = grown(this.counts, groups * STATE_SLOTS);
    this.totals = grown(this.totals, groups);
  }

  private addSample(group: number, row: InetRow): void {
    const i = this.sampleCount++;
    if (i >= this.sampleGroups.length) {
      this.sampleGroups = grown(this.sampleGroups, this.sampleGroups.length * 2);
      this.sampleValues = grown(this.sampleValues, this.sampleGroups.length * METRICS);
    }
    this.sampleGroups[i] = group;
    const { attrs, infoAt, infoLen } = row;
    for (let m = 0; m < METRICS; m++) {
      const end = METRIC_ENDS[m]!;
      const raw = end <= infoLen ? readU32(attrs, infoAt + end - 4) : NaN;
      this.sampleValues[i * METRICS + m] = raw === METRIC_NONE[m] ? NaN : raw / METRIC_DIVISOR[m]!;
    }
  }

  /**
   * `tcp.info_percentiles` of each bucket (undefined for a bucket without samples): the samples
   * placed bucket by bucket (a counting sort), then each bucket's values of each metric selected.
   */
  private percentilesByBucket(bucketOf: Int32Array, kept: number, buckets: number): (EventFields | undefined)[] {
    const out: (EventFields | undefined)[] = new Array(buckets).fill(undefined);
    const samples = this.sampleCount;
    if (samples === 0) return out;
    const bucketOfSample = (i: number) => {
      const g = this.sampleGroups[i]!;
      return g === OVERFLOW ? kept : bucketOf[g]!;
    };
    const starts = new Int32Array(buckets + 1);
    for (let i = 0; i < samples; i++) starts[bucketOfSample(i) + 1]!++;
    for (let b = 0; b < buckets; b++) starts[b + 1]! += starts[b]!;
    const next = starts.slice(0, buckets);
    const at = new Int32Array(samples);
    for (let i = 0; i < samples; i++) at[i] = next[bucketOfSample(i)]!++;
    const values = new Float64Array(samples);
    for (let m = 0; m < METRICS; m++) {
      for (let i = 0; i < samples; i++) values[at[i]!] = this.sampleValues[i * METRICS + m]!;
      for (let b = 0; b < buckets; b++) {
        if (starts[b] === starts[b + 1]) continue;
        const stats = percentilesOf(values.subarray(starts[b]!, starts[b + 1]!));
        if (stats) ((out[b] ??= {}) as Record<string, unknown>)[PERCENTILE_FIELDS[m]!.name] = stats;
      }
    }
    return out;
  }

  /** The key fields of a kept group: ECS fields where they mean what they mean in tcp.socket. */
  private groupFields(g: number): EventFields {
    const at = g * KEY_WORDS;
    const fields: EventFields = { network: { transport: this.spec.transport } };
    const aggregate: Record<string, unknown> = { by: this.spec.by, other: false };
    if (this.byLocalPort) fields.source = { port: this.keys[at + K_PORTS]! >>> 16 };
    if (this.byRemotePort) fields.destination = { port: this.keys[at + K_PORTS]! & 0xffff };
    const processId = this.keys[at + K_PROCESS]!;
    if (processId !== 0) fields.process = { name: this.processNames[processId] };
    const family = this.keys[at + K_FAMILY]!;
    if (family !== 0) {
      const v6 = family === 6;
      const words = v6 ? this.keys.subarray(at + K_NETWORK, at + K_NETWORK + 4) : this.keys.subarray(at + K_NETWORK, at + K_NETWORK + 1);
      fields.network = { transport: this.spec.transport, type: v6 ? 'ipv6' : 'ipv4' };
      aggregate.remote_network = `${procAddressText(words, v6)}/${v6 ? this.spec.remotePrefix.ipv6 : this.spec.remotePrefix.ipv4}`;
    }
    fields.aggregate = aggregate;
    return fields;
  }

  private groupEvent(fields: EventFields, counts: Float64Array, percentiles: EventFields | undefined): EventFields {
    const states: Record<string, number> = {};
    for (const name of this.spec.states) states[name] = 0;
    let count = 0;
    for (let s = 0; s < STATE_SLOTS; s++) {
      const c = counts[s]!;
      if (c === 0) continue;
      const name = this.spec.stateName(s);
      states[name] = (states[name] ?? 0) + c;
      count += c;
    }
    fields.socket = { count, states };
    if (percentiles) fields.tcp = { info_percentiles: percentiles };
    return fields;
  }

  /** Ties in count are ordered by key (ports, then network, then process name): the same input, the same events. */
  private compareKeys(a: number, b: number): number {
    const ka = a * KEY_WORDS;
    const kb = b * KEY_WORDS;
    for (const w of TIE_BREAK_WORDS) {
      const d = this.keys[ka + w]! - this.keys[kb + w]!;
      if (d !== 0) return d;
    }
    const [na, nb] = [this.processNames[this.keys[ka + K_PROCESS]!]!, this.processNames[this.keys[kb + K_PROCESS]!]!];
    return na < nb ? -1 : na > nb ? 1 : 0;
  }
}

/**
 * The aggregate of a tcp or udp collector's options, or null when `aggregate` is not set. Only
 * the states the collector reads can be counted; percentiles need `info: true`.
 */
export function socketAggregateFor(transport: Transport, options: InetOptions): SocketAggregate | null {
  const a = options.aggregate;
  if (a === undefined) return null;
  const read = options.states.length > 0 ? new Set<string>(options.states) : null;
  return new SocketAggregate({
    transport,
    by: a.by,
    remotePrefix: a.remote_prefix,
    top: a.top,
    maxGroups: a.max_groups,
    states: read ? a.states.filter((s) => read.has(s)) : a.states,
    stateName: transport === 'tcp' ? stateName : udpStateName,
    percentiles: options.info === true,
  });
}

/**
 * count, p50, p90, p99 (nearest rank) and max of `values` (NaN: absent, not counted); null when
 * none. Reorders `values`: each rank is found by quickselect, O(n), where sorting 100k doubles
 * took ~10 ms (4 values a socket: 40 ms a cycle at 100k connections).
 */
export function percentilesOf(values: Float64Array): Record<string, number> | null {
  let count = values.length;
  for (let i = 0; i < count; ) {
    if (Number.isNaN(values[i]!)) {
      values[i] = values[--count]!;
      values[count] = NaN;
    } else i++;
  }
  if (count === 0) return null;
  const out: Record<string, number> = { count };
  // Ranks ascending: after selecting rank k, everything from k on is ≥ it, so the next rank is sought there.
  let from = 0;
  for (const p of PERCENTILES) {
    const k = Math.max(0, Math.ceil((p / 100) * count) - 1);
    selectRank(values, from, count - 1, k);
    out[`p${p}`] = values[k]!;
    from = k;
  }
  let max = values[from]!;
  for (let i = from + 1; i < count; i++) if (values[i]! > max) max = values[i]!;
  out.max = max;
  return out;
}

/** Reorders a[lo..hi] so that a[k] holds the value of rank k, smaller ones before, larger after (Hoare's quickselect). */
function selectRank(a: Float64Array, lo: number, hi: number, k: number): void {
  while (hi > lo) {
    const x = a[lo]!;
    const y = a[(lo + hi) >>> 1]!;
    const z = a[hi]!;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i++] = a[j]!;
        a[j--] = t;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

/** A prefix's mask over `bytes` network-order bytes, as /proc words (each 4 bytes read in host order). */
export function prefixMaskWords(prefix: number, bytes: number): Uint32Array {
  const mask = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    mask[i] = (0xff00 >> bits) & 0xff;
  }
  return Uint32Array.from({ length: bytes / 4 }, (_, w) => readU32(mask, w * 4));
}

/** FNV-1a over the key's words, then murmur3's finalizer: the low bits index the table. */
function hashKey(key: Uint32Array): number {
  let h = 0x811c9dc5;
  for (let w = 0; w < KEY_WORDS; w++) h = Math.imul(h ^ key[w]!, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function grown<T extends Uint32Array | Float64Array | Int32Array>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a);
  return b;
}

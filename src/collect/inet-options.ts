/**
 * The options schema of the tcp, udp, udplite and raw collectors (one definition, parametrised by
 * transport). Kept free of anything heavier than TypeBox: manifests import it at start-up.
 */
import { Type, type Static } from '@sinclair/typebox';
import { TCP_STATES, UDP_STATES } from './inet-states.js';

/** What `aggregate.by` may group by (socket-aggregate.ts makes the keys). */
export const AGGREGATE_BY = ['local_port', 'remote_port', 'remote_network', 'process'] as const;

/** The `aggregate` option of tcp and udp: `<transport>.aggregate` events, counts per group (issue 13). */
function aggregateSchema(transport: Transport, states: readonly string[]) {
  // A listener is no connection: counted, it would add one to every service's connections.
  const counted = transport === 'tcp' ? states.filter((s) => s !== 'LISTEN') : states;
  return Type.Object(
    {
      by: Type.Array(Type.Union(AGGREGATE_BY.map((d) => Type.Literal(d))), {
        minItems: 1,
        uniqueItems: true,
        default: ['local_port'],
        description:
          'the group key: one event per distinct combination of local_port (source.port), remote_port (destination.port), remote_network (the peer address masked to remote_prefix) and process (process.name; scans /proc/*/fd like processes: true)',
      }),
      remote_prefix: Type.Object(
        {
          ipv4: Type.Integer({ minimum: 0, maximum: 32, default: 24, description: 'prefix length of an IPv4 peer network (a v4-mapped peer is IPv4)' }),
          ipv6: Type.Integer({ minimum: 0, maximum: 128, default: 64, description: 'prefix length of an IPv6 peer network' }),
        },
        { default: {}, additionalProperties: false },
      ),
      top: Type.Integer({
        minimum: 1,
        default: 20,
        description: 'groups given an event of their own per cycle, by socket count; the others are summed into one event with aggregate.other: true',
      }),
      max_groups: Type.Integer({
        minimum: 1,
        maximum: 1_000_000,
        default: 10_000,
        description: `distinct groups tracked per cycle (bounds memory); sockets of further groups are counted in the other event (aggregate.capped: true, counted in agent.stats as aggregate_capped)`,
      }),
      states: Type.Array(Type.Union(states.map((s) => Type.Literal(s))), {
        default: counted,
        description: transport === 'tcp' ? 'the states counted in groups; by default all but LISTEN (a listener is no connection)' : 'the states counted in groups',
      }),
    },
    {
      additionalProperties: false,
      description: `${transport}.aggregate events: socket counts per group${transport === 'tcp' ? ' (with info: true also tcp.info percentiles)' : ''}, the top groups and one other; beside what mode emits; absent: off`,
    },
  );
}

const PortSpec = Type.Union(
  [
    Type.Integer({ minimum: 0, maximum: 65535 }),
    Type.String({ pattern: '^[0-9]{1,5}-[0-9]{1,5}$', description: 'an inclusive range, e.g. "8000-8099"' }),
  ],
  { description: 'a port number or an inclusive range "LOW-HIGH"' },
);

/** The socket tables the inet collectors read: /proc/net/<transport> and <transport>6. */
export type Transport = 'tcp' | 'udp' | 'udplite' | 'raw';

/** netstat's option listing each (-t, -u, -U, -w). */
export const NETSTAT_FLAG: Readonly<Record<Transport, string>> = { tcp: 't', udp: 'u', udplite: 'U', raw: 'w' };

export function inetOptionsSchema(transport: Transport) {
  const states = transport === 'tcp' ? TCP_STATES : UDP_STATES;
  return Type.Object(
    {
      mode: Type.Union([Type.Literal('sockets'), Type.Literal('summary'), Type.Literal('both')], {
        default: 'sockets',
        description: `sockets: one ${transport}.socket event per socket (netstat -${NETSTAT_FLAG[transport]}an); summary: one ${transport}.summary event with counts per state and family; both`,
      }),
      states: Type.Array(Type.Union(states.map((s) => Type.Literal(s))), {
        default: [],
        description:
          transport === 'tcp'
            ? 'only sockets in these states (netstat names); [LISTEN] is `netstat -l`; empty: all'
            : 'only sockets in these states: ESTABLISHED (connected) or CLOSE (bound only, what `netstat -l` lists); empty: all',
      }),
      families: Type.Array(Type.Union([Type.Literal('ipv4'), Type.Literal('ipv6')]), {
        default: ['ipv4', 'ipv6'],
        description: `which families: ipv4 (the AF_INET dump, or /proc/net/${transport}), ipv6 (AF_INET6, or /proc/net/${transport}6: IPv6 sockets, including v4-mapped peers)`,
      }),
      local_ports: Type.Array(PortSpec, {
        default: [],
        description: 'only sockets whose local (source) port is one of these; empty: all',
      }),
      remote_ports: Type.Array(PortSpec, {
        default: [],
        description: 'only sockets whose remote (destination) port is one of these (0 = unconnected); empty: all',
      }),
      processes: Type.Boolean({
        default: false,
        description: 'add process.pid and process.name of the owning process (netstat -p); scans /proc/*/fd, cached across cycles',
      }),
      users: Type.Boolean({
        default: true,
        description: 'add user.name from the passwd file next to proc_root (netstat -e); user.id is always there',
      }),
      timers: Type.Boolean({
        default: true,
        description: 'add socket.timer.{name,expires_s,retransmits,probes} (netstat -o)',
      }),
      // udplite and raw: /proc only (their sock_diag handlers are not wired here).
      ...(transport === 'tcp' || transport === 'udp'
        ? {
            source: Type.Union([Type.Literal('auto'), Type.Literal('proc'), Type.Literal('netlink')], {
              default: 'auto',
              description: `where the sockets are read: netlink = the kernel's sock_diag dump (what ss reads; state filters applied by the kernel); proc = /proc/net/${transport}{,6} (what netstat reads); auto = netlink, or proc (logged once, with the reason) where netlink is refused or its namespace cannot be entered`,
            }),
            aggregate: Type.Optional(aggregateSchema(transport, states)),
          }
        : {}),
      ...(transport === 'tcp'
        ? {
            info: Type.Boolean({
              default: false,
              description:
                'add tcp.info.* per socket: TCP_INFO (rtt, cwnd, retransmits, bytes, rates…) and the congestion algorithm, named as `ss -ti` names them; needs the netlink source',
            }),
          }
        : {}),
      ...(transport === 'tcp' || transport === 'udp' ? lifecycleOptions(transport) : {}),
    },
    { additionalProperties: false },
  );
}

export type InetOptions = Static<ReturnType<typeof inetOptionsSchema>>;
export type AggregateOptions = Static<ReturnType<typeof aggregateSchema>>;

/** A 65536-entry membership table of port specs, or null when the list is empty (no filter). */
export function portTable(specs: readonly (number | string)[]): Uint8Array | null {
  if (specs.length === 0) return null;
  const t = new Uint8Array(65536);
  for (const spec of specs) {
    if (typeof spec === 'number') t[spec] = 1;
    else {
      const [lo, hi] = spec.split('-').map(Number) as [number, number];
      for (let p = Math.max(0, lo); p <= Math.min(65535, hi); p++) t[p] = 1;
    }
  }
  return t;
}

/** `max_tracked` when not set: sockets tracked per view and tracker (~1 KB each). */
export const DEFAULT_MAX_TRACKED = 200_000;

/**
 * The lifecycle options of tcp and udp (issue 13): events of what opened or closed since the last
 * cycle (src/collect/connection-tracker.ts), beside what `mode` emits.
 */
function lifecycleOptions(transport: 'tcp' | 'udp') {
  return {
    listeners: Type.Boolean({
      default: false,
      description: `${transport}.listener events: a ${transport === 'tcp' ? 'listener' : 'bound, unconnected socket'} that appeared (event.type start) or went away (end) since the last cycle; the first cycle reports every one once (info)`,
    }),
    ...(transport === 'tcp'
      ? {
          connections: Type.Boolean({
            default: false,
            description:
              'tcp.connection events: a connection that opened (event.type start) or closed (end, with event.duration and its last fields) since the last cycle; with netlink also from the kernel\'s destroy notifications (final counters, and connections shorter than a cycle)',
          }),
        }
      : {}),
    max_tracked: Type.Integer({
      minimum: 1,
      maximum: 10_000_000,
      default: DEFAULT_MAX_TRACKED,
      description: `sockets tracked per network view for listeners and connections each (~1 KB of memory each); further new ones get no events, counted in agent.stats as lifecycle_dropped`,
    }),
  };
}

/** The unix collector's options schema (TypeBox only: the manifest imports it at start-up). */
import { Type, type Static } from '@sinclair/typebox';

const TYPES = ['STREAM', 'DGRAM', 'RAW', 'RDM', 'SEQPACKET', 'UNKNOWN'];
const STATES = ['LISTENING', 'CONNECTED', 'CONNECTING', 'DISCONNECTING', 'FREE', 'UNCONNECTED', 'UNKNOWN'];

export const unixOptions = Type.Object(
  {
    mode: Type.Union([Type.Literal('sockets'), Type.Literal('summary')], {
      default: 'sockets',
      description:
        'sockets: one unix.socket event per socket; summary: one unix.summary event per namespace with counts per type and state (socket.types, socket.states, socket.count), cheaper than ss -xa',
    }),
    types: Type.Array(Type.Union(TYPES.map((t) => Type.Literal(t))), {
      default: [],
      description: 'only sockets of these types (netstat names); empty: all',
    }),
    states: Type.Array(Type.Union(STATES.map((s) => Type.Literal(s))), {
      default: [],
      description:
        'only sockets in these states (netstat names; UNCONNECTED = the blank state netstat prints for e.g. a bound DGRAM socket); [LISTENING] is `netstat -xl`; empty: all',
    }),
    processes: Type.Boolean({
      default: false,
      description: 'add process.pid and process.name of the owning process (netstat -xp); scans /proc/*/fd, cached across cycles; sockets mode only',
    }),
  },
  { additionalProperties: false },
);

export type UnixOptions = Static<typeof unixOptions>;

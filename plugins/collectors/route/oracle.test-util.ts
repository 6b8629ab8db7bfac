/** Parsers of what `netstat -rn` and `netstat -rn -A inet6` print: the oracle of the tests. */
import type { EventFields } from '../../../src/core/plugin.js';
import { tableRows } from '../../../test/helpers/netstat-oracle.js';

export interface NetstatRoute4 {
  destination: string;
  gateway: string;
  genmask: string;
  flags: string;
  mss: number;
  window: number;
  irtt: number;
  iface: string;
}

export function netstatRoutes4(out: string): NetstatRoute4[] {
  return tableRows(out, 'Destination', 'netstat -rn').map((f) => {
    if (f[1] === '-') {
      // reject route: Destination - Genmask Flags - - - -
      return { destination: f[0]!, gateway: '-', genmask: f[2]!, flags: f[3]!, mss: NaN, window: NaN, irtt: NaN, iface: '-' };
    }
    return {
      destination: f[0]!, gateway: f[1]!, genmask: f[2]!, flags: f[3]!,
      mss: Number(f[4]), window: Number(f[5]), irtt: Number(f[6]), iface: f[7]!,
    };
  });
}

export interface NetstatRoute6 {
  destination: string;
  gateway: string;
  flags: string;
  metric: number;
  ref: number;
  use: number;
  iface: string;
}

export function netstatRoutes6(out: string): NetstatRoute6[] {
  return tableRows(out, 'Destination', 'netstat -rn -A inet6').map((f) => {
    return {
      destination: f[0]!, gateway: f[1]!, flags: f[2]!, metric: Number(f[3]), ref: Number(f[4]),
      use: Number(f[5]), iface: f[6]!,
    };
  });
}

type R = { route: Record<string, unknown>; interface?: { name: string } };

/** `dest gateway flags iface` of IPv4 events, printed as netstat prints them (reject: `-`). */
export function routeTuples4(events: EventFields[]): string[] {
  return events.map((e) => {
    const { route, interface: itf } = e as unknown as R;
    const reject = String(route.flags).startsWith('!');
    const dest = String(route.destination).split('/')[0];
    return `${dest} ${reject ? '-' : route.gateway} ${route.flags} ${reject ? '-' : itf?.name ?? '*'}`;
  }).sort();
}

export function routeTuples6(events: EventFields[]): string[] {
  return events.map((e) => {
    const { route, interface: itf } = e as unknown as R;
    return `${route.destination} ${route.gateway} ${route.flags} ${itf?.name}`;
  }).sort();
}

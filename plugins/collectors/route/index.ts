/** `route`: the routing tables as `netstat -rn` and `netstat -rn -A inet6` show them. */
import { fileURLToPath } from 'node:url';
import { Type, type Static } from '@sinclair/typebox';
import { defineCollector } from '../../../src/core/plugin.js';

export const RouteOptions = Type.Object(
  {
    ipv4: Type.Boolean({ default: true, description: 'Read /proc/net/route (netstat -rn).' }),
    ipv6: Type.Boolean({ default: true, description: 'Read /proc/net/ipv6_route (netstat -rn -A inet6).' }),
    include: Type.Array(Type.String(), {
      default: [],
      description: "Interface name globs to keep (e.g. ['eth*']); empty keeps all.",
    }),
    exclude: Type.Array(Type.String(), {
      default: [],
      description: "Interface name globs to drop (e.g. ['veth*']); wins over include.",
    }),
  },
  { additionalProperties: false },
);
export type RouteOptions = Static<typeof RouteOptions>;

export const routeCollector = defineCollector({
  kind: 'collector',
  type: 'route',
  description: 'Routing tables (netstat -rn, netstat -rn -A inet6): one route.entry event per route',
  options: RouteOptions,
  datasets: ['route.entry'],
  sample: fileURLToPath(new URL('./sample.yaml', import.meta.url)),
  load: () => import('./collector.js').then((m) => m.RouteCollector),
});
export default routeCollector;

/** `iface`: the interface table as `netstat -i` / `netstat -ie` show it, with changes and rates. */
import { fileURLToPath } from 'node:url';
import { Type, type Static } from '@sinclair/typebox';
import { defineCollector } from '../../../src/core/plugin.js';

export const IfaceOptions = Type.Object(
  {
    include: Type.Array(Type.String(), {
      default: [],
      description: "Interface name globs to keep (e.g. ['eth*', 'bond*']); empty keeps all.",
    }),
    exclude: Type.Array(Type.String(), {
      default: [],
      description: "Interface name globs to drop (e.g. ['veth*'] on hosts with hundreds of them); wins over include.",
    }),
    all: Type.Boolean({
      default: false,
      description:
        'Also report interfaces that are administratively down, like `netstat -ia`; by default only those up, ' +
        'like `netstat -i`. (Without sysfs for a namespace, all are reported.)',
    }),
    sys_root: Type.String({
      default: '/sys',
      description:
        "sysfs of the agent's own network namespace (MTU, flags, MAC…), e.g. /host/sys in a container. Other " +
        'namespaces are read through <proc_root>/<pid>/root/sys.',
    }),
    addresses: Type.Boolean({
      default: true,
      description: 'Add the IPv6 addresses of each interface (/proc/net/if_inet6), as netstat -ie shows them.',
    }),
    counter_bits: Type.Union([Type.Literal('auto'), Type.Literal(32), Type.Literal(64)], {
      default: 'auto',
      description:
        'Width a decreasing counter may have wrapped at: auto (32 or 64, whichever explains it within half the ' +
        'range), 32 or 64. A decrease no width explains, or a new ifindex, is a reset.',
    }),
  },
  { additionalProperties: false },
);
export type IfaceOptions = Static<typeof IfaceOptions>;

export const ifaceCollector = defineCollector({
  kind: 'collector',
  type: 'iface',
  description: 'Interface table (netstat -i, -ie): one iface.stats event per interface with changes and rates',
  options: IfaceOptions,
  datasets: ['iface.stats'],
  sample: fileURLToPath(new URL('./sample.yaml', import.meta.url)),
  load: () => import('./collector.js').then((m) => m.IfaceCollector),
});
export default ifaceCollector;

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
      description:
        'Add the IPv4 and IPv6 addresses of each interface, as `ip -o addr` shows them: IPv6 from /proc/net/if_inet6, ' +
        "IPv4 from /proc/net/fib_trie and route (and getifaddrs in the agent's own namespace); see the README for what " +
        'IPv4 misses in other namespaces.',
    }),
    fib_max_prefixes: Type.Integer({
      minimum: 0,
      default: 10000,
      description:
        'Read IPv4 addresses from /proc/net/fib_trie only while the namespace\'s routing tables hold at most this many ' +
        'prefixes (fib_triestat): the kernel prints the whole trie, ~7.5 ms per 1000 prefixes (0.75 s at 100k). ' +
        "Above it, that namespace has IPv4 addresses only if it is the agent's own (getifaddrs). 0: never read it.",
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

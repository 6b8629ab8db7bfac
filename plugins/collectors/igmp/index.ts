/** `igmp`: multicast group memberships as `netstat -g` shows them. */
import { fileURLToPath } from 'node:url';
import { Type, type Static } from '@sinclair/typebox';
import { defineCollector } from '../../../src/core/plugin.js';

export const IgmpOptions = Type.Object(
  {
    ipv4: Type.Boolean({ default: true, description: 'Read /proc/net/igmp (IPv4 groups).' }),
    ipv6: Type.Boolean({ default: true, description: 'Read /proc/net/igmp6 (IPv6 groups).' }),
    names: Type.Boolean({
      default: false,
      description:
        'Also resolve each group to a name (igmp.group_name), as `netstat -g` without -n does, through the ' +
        "system resolver (getnameinfo: /etc/hosts, DNS). Results are cached; igmp.group stays numeric.",
    }),
    name_cache_ttl: Type.Integer({
      default: 3600,
      minimum: 0,
      description: 'Seconds a resolved (or unresolvable) group name is cached.',
    }),
    include: Type.Array(Type.String(), {
      default: [],
      description: 'Interface name globs to keep; empty keeps all.',
    }),
    exclude: Type.Array(Type.String(), {
      default: [],
      description: 'Interface name globs to drop; wins over include.',
    }),
  },
  { additionalProperties: false },
);
export type IgmpOptions = Static<typeof IgmpOptions>;

export const igmpCollector = defineCollector({
  kind: 'collector',
  type: 'igmp',
  description: 'Multicast group memberships (netstat -g): one igmp.membership event per interface and group, v4 and v6',
  options: IgmpOptions,
  datasets: ['igmp.membership'],
  sample: fileURLToPath(new URL('./sample.yaml', import.meta.url)),
  load: () => import('./collector.js').then((m) => m.IgmpCollector),
});
export default igmpCollector;

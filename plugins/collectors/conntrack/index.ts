/** `conntrack`: the connection tracking table of each namespace, as `conntrack -S`, `-C`, `-L` and `netstat -M` show it. */
import { fileURLToPath } from 'node:url';
import { Type, type Static } from '@sinclair/typebox';
import { StringEnum } from '../../../src/core/config/types.js';
import { defineCollector } from '../../../src/core/plugin.js';

export const ConntrackOptions = Type.Object(
  {
    per_cpu: Type.Boolean({
      default: false,
      description: 'Also one conntrack.stats event per CPU (conntrack.cpu set), like `conntrack -S`; the namespace total is always emitted.',
    }),
    entries: StringEnum(['off', 'group', 'list'], {
      default: 'off',
      description:
        'Read the table itself (/proc/net/nf_conntrack): off; group: one conntrack.entry event per family, protocol, ' +
        'state, assured and NAT kind with the number of entries; list: one conntrack.entry event per entry, like ' +
        '`conntrack -L`. The kernel prints the whole table at read time: see max_entries.',
    }),
    max_entries: Type.Integer({
      minimum: 1,
      default: 10000,
      description:
        'Read at most this many entries per namespace and cycle (reading stops there, so the kernel prints no more); ' +
        'conntrack.stats says when the table had more (entries_truncated).',
    }),
  },
  { additionalProperties: false },
);
export type ConntrackOptions = Static<typeof ConntrackOptions>;

export const conntrackCollector = defineCollector({
  kind: 'collector',
  type: 'conntrack',
  description: 'Connection tracking (conntrack -S/-C/-L, netstat -M): table size and limit, per-CPU statistics with change and rate, entries',
  options: ConntrackOptions,
  datasets: ['conntrack.stats', 'conntrack.entry'],
  sample: fileURLToPath(new URL('./sample.yaml', import.meta.url)),
  load: () => import('./collector.js').then((m) => m.ConntrackCollector),
});
export default conntrackCollector;

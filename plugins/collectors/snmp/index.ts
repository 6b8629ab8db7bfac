/** `snmp`: the kernel's protocol counters as `nstat -az` / `netstat -s` show them, and socket totals. */
import { fileURLToPath } from 'node:url';
import { Type, type Static } from '@sinclair/typebox';
import { defineCollector } from '../../../src/core/plugin.js';

export const SnmpOptions = Type.Object(
  {
    include: Type.Array(Type.String(), {
      default: [],
      description: "nstat-style patterns of counter names to keep (e.g. ['Tcp*', 'IpExt*']); empty keeps all.",
    }),
    exclude: Type.Array(Type.String(), {
      default: [],
      description: "Patterns of counter names to drop (e.g. ['MPTcpExt*']); wins over include.",
    }),
    zeros: Type.Boolean({
      default: true,
      description:
        'Emit counters whose value is 0, like `nstat -z` (the default here, as in Telegraf: a stable set of ' +
        'fields every cycle). false omits them, like plain `nstat -a`.',
    }),
    non_counters: Type.Boolean({
      default: false,
      description:
        'Also emit the values nstat hides because they are settings or gauges (IpForwarding, IpDefaultTTL, ' +
        'TcpRtoAlgorithm, TcpRtoMin, TcpRtoMax, TcpMaxConn, TcpCurrEstab) as snmp.gauges.',
    }),
    counter_bits: Type.Union([Type.Literal('auto'), Type.Literal(32), Type.Literal(64)], {
      default: 'auto',
      description:
        'Width a decreasing counter may have wrapped at: auto (32 or 64, whichever explains it within half ' +
        'the range), 32 (32-bit kernels) or 64. A decrease no width explains is a reset.',
    }),
    sockstat: Type.Boolean({
      default: true,
      description: 'Also emit /proc/net/sockstat and sockstat6 totals as one sockstat.totals event.',
    }),
  },
  { additionalProperties: false },
);
export type SnmpOptions = Static<typeof SnmpOptions>;

export const snmpCollector = defineCollector({
  kind: 'collector',
  type: 'snmp',
  description: 'Protocol counters (nstat -az, netstat -s) with change and rate, and socket totals (sockstat)',
  options: SnmpOptions,
  datasets: ['snmp.counters', 'sockstat.totals'],
  sample: fileURLToPath(new URL('./sample.yaml', import.meta.url)),
  load: () => import('./collector.js').then((m) => m.SnmpCollector),
});
export default snmpCollector;

/**
 * The `udp` collector: what `netstat -uan` (with -e, -o, -p) and `ss -uan` show, from
 * /proc/<pid>/net/udp and udp6. The implementation is shared with the tcp collector (src/collect/).
 */
import { fileURLToPath } from 'node:url';
import { defineCollector } from '../../../src/core/plugin.js';
import { inetOptionsSchema } from '../../../src/collect/inet-options.js';

export const udpCollector = defineCollector({
  kind: 'collector',
  type: 'udp',
  description: 'UDP sockets like netstat -uan/-e/-o/-p: one event per socket, or counts per state and family',
  options: inetOptionsSchema('udp'),
  datasets: ['udp.socket', 'udp.summary', 'udp.aggregate', 'udp.listener'],
  sample: fileURLToPath(new URL('./sample.yaml', import.meta.url)),
  load: () => import('./collector.js').then((m) => m.UdpCollector),
});

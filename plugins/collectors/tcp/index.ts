/**
 * The `tcp` collector: what `netstat -tan` (with -e, -o, -p) and `ss -tan` show, from
 * /proc/<pid>/net/tcp and tcp6. The implementation is shared with the udp collector (src/collect/).
 */
import { fileURLToPath } from 'node:url';
import { defineCollector } from '../../../src/core/plugin.js';
import { inetOptionsSchema } from '../../../src/collect/inet-options.js';

export const tcpCollector = defineCollector({
  kind: 'collector',
  type: 'tcp',
  description: 'TCP sockets like netstat -tan/-e/-o/-p: one event per socket, or counts per state and family',
  options: inetOptionsSchema('tcp'),
  datasets: ['tcp.socket', 'tcp.summary', 'tcp.aggregate', 'tcp.connection', 'tcp.listener'],
  sample: fileURLToPath(new URL('./sample.yaml', import.meta.url)),
  load: () => import('./collector.js').then((m) => m.TcpCollector),
});

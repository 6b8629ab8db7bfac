/**
 * The `udplite` collector: what `netstat -Uan` (with -e, -o, -p) shows, from
 * /proc/<pid>/net/udplite and udplite6. The implementation is shared with the tcp and udp
 * collectors (src/collect/).
 */
import { fileURLToPath } from 'node:url';
import { defineCollector } from '../../../src/core/plugin.js';
import { inetOptionsSchema } from '../../../src/collect/inet-options.js';

export const udpliteCollector = defineCollector({
  kind: 'collector',
  type: 'udplite',
  description: 'UDP-Lite sockets like netstat -Uan/-e/-p: one event per socket, or counts per state and family',
  options: inetOptionsSchema('udplite'),
  datasets: ['udplite.socket', 'udplite.summary'],
  sample: fileURLToPath(new URL('./sample.yaml', import.meta.url)),
  load: () => import('./collector.js').then((m) => m.UdpliteCollector),
});

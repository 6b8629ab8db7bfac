/**
 * The `raw` collector: what `netstat -wan` (with -e, -o, -p) shows, from /proc/<pid>/net/raw and
 * raw6. The implementation is shared with the tcp and udp collectors (src/collect/).
 */
import { fileURLToPath } from 'node:url';
import { defineCollector } from '../../../src/core/plugin.js';
import { inetOptionsSchema } from '../../../src/collect/inet-options.js';

export const rawCollector = defineCollector({
  kind: 'collector',
  type: 'raw',
  description: 'Raw IP sockets like netstat -wan/-e/-p: one event per socket (source.port = the IP protocol), or counts per state and family',
  options: inetOptionsSchema('raw'),
  datasets: ['raw.socket', 'raw.summary'],
  sample: fileURLToPath(new URL('./sample.yaml', import.meta.url)),
  load: () => import('./collector.js').then((m) => m.RawCollector),
});

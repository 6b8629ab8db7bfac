/** The `unix` collector: what `netstat -xa` (and -p) shows, from /proc/<pid>/net/unix. */
import { fileURLToPath } from 'node:url';
import { defineCollector } from '../../../src/core/plugin.js';
import { unixOptions } from './options.js';

export const unixCollector = defineCollector({
  kind: 'collector',
  type: 'unix',
  description: 'UNIX domain sockets like netstat -xa/-p: one event per socket with type, state, flags, refcnt, inode and path, or counts per type and state',
  options: unixOptions,
  datasets: ['unix.socket', 'unix.summary'],
  sample: fileURLToPath(new URL('./sample.yaml', import.meta.url)),
  load: () => import('./collector.js').then((m) => m.UnixCollector),
});

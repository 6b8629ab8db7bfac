/** `softnet`: per-CPU packet processing of /proc/net/softnet_stat, with changes and rates. */
import { fileURLToPath } from 'node:url';
import { Type, type Static } from '@sinclair/typebox';
import { defineCollector } from '../../../src/core/plugin.js';

export const SoftnetOptions = Type.Object(
  {
    per_cpu: Type.Boolean({
      default: true,
      description: 'One softnet.stats event per CPU (softnet.cpu set).',
    }),
    total: Type.Boolean({
      default: true,
      description: 'One softnet.stats event with every CPU summed (softnet.cpus set, no softnet.cpu).',
    }),
  },
  { additionalProperties: false },
);
export type SoftnetOptions = Static<typeof SoftnetOptions>;

export const softnetCollector = defineCollector({
  kind: 'collector',
  type: 'softnet',
  description: 'Per-CPU packet processing (/proc/net/softnet_stat): processed, dropped, time_squeeze… with change and rate',
  options: SoftnetOptions,
  datasets: ['softnet.stats'],
  sample: fileURLToPath(new URL('./sample.yaml', import.meta.url)),
  load: () => import('./collector.js').then((m) => m.SoftnetCollector),
});
export default softnetCollector;

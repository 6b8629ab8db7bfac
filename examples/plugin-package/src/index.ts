/**
 * The manifest: what `netagent plugins` lists and what the registry loads. Kept light (only the
 * options schema); the implementation is imported by load() when an instance is configured.
 */
import { fileURLToPath } from 'node:url';
import { defineCollector, Type, type Static } from 'netagent';

export const SoftnetOptions = Type.Object(
  {
    per_cpu: Type.Boolean({ default: true, description: 'One softnet.cpu event per CPU.' }),
    total: Type.Boolean({ default: false, description: 'Also one softnet.total event with the sums over all CPUs.' }),
  },
  { additionalProperties: false },
);
export type SoftnetOptions = Static<typeof SoftnetOptions>;

export default defineCollector({
  type: 'softnet-example',
  kind: 'collector',
  description: 'Per-CPU packet processing counters from /proc/net/softnet_stat (processed, dropped, time_squeeze).',
  datasets: ['softnet.cpu', 'softnet.total'],
  options: SoftnetOptions,
  sample: fileURLToPath(new URL('../sample.yaml', import.meta.url)),
  load: () => import('./collector.js').then((m) => m.SoftnetCollector),
});

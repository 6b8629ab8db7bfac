/**
 * What `validate` checks of a kafka sink's options beyond their schema (src/core/sink-checks.ts has
 * the parts every spooled sink shares): what the sink would otherwise find only in open(), and then
 * retry forever, or refuse at start without a position (idempotent with acks 1).
 */
import type { OptionsCheck } from '../../../src/core/plugin.js';
import { secretSources } from '../../../src/core/secrets.js';
import { checkSecret, checkSpooledDelivery, checkTemplates, checkTlsFiles } from '../../../src/core/sink-checks.js';
import { parseSize } from '../../../src/core/units.js';
import type { KafkaSinkOptions } from './index.js';

export async function checkKafkaOptions(ctx: OptionsCheck<KafkaSinkOptions>): Promise<void> {
  const { options: o, problem } = ctx;
  if (o.idempotent && o.acks !== 'all' && o.acks !== -1) problem('acks', 'idempotent: true needs acks: all');
  o.brokers.forEach((broker, i) => {
    const port = Number(broker.slice(broker.lastIndexOf(':') + 1));
    if (!(port >= 1 && port <= 65535)) problem(`brokers.${i}`, `port ${port} of "${broker}" is not a TCP port (1-65535)`);
  });
  const templates: [string, string][] = [['topic', o.topic], ...Object.entries(o.headers).map(([k, v]): [string, string] => [`headers.${k}`, v])];
  if (o.key !== '') templates.push(['key', o.key]);
  checkTemplates(ctx, templates);
  if (o.sasl) {
    const sources = secretSources(o.sasl, 'password');
    if (sources !== 1) problem('sasl', `give exactly one of password, password_env, password_file (${sources === 0 ? 'none' : sources} given)`);
    else checkSecret(ctx, 'sasl', o.sasl, 'password');
  }
  if (o.ssl.enabled) await checkTlsFiles(ctx, 'ssl', o.ssl);
  const spoolBytes = parseSize(o.spool.max_size)!;
  const batchBytes = parseSize(o.batch.max_bytes)!;
  if (spoolBytes < batchBytes) problem('spool.max_size', `must hold at least one batch: batch.max_bytes is ${batchBytes} bytes`);
  await checkSpooledDelivery(ctx, o);
}

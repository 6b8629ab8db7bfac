/**
 * What `validate` checks of a kafka sink's options beyond their schema: all that the sink would
 * otherwise find only in open(), and then retry forever (a password source that is not there, a CA
 * file missing) or refuse at start without a position (idempotent with acks 1, a broken template).
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathProblem } from '../../../src/core/fs-check.js';
import { stateDirOf } from '../../../src/core/identity.js';
import type { OptionsCheck } from '../../../src/core/plugin.js';
import { parseSize } from '../../../src/core/units.js';
import type { KafkaSinkOptions } from './index.js';
import { compileTemplate } from './template.js';

async function unreadable(file: string): Promise<string | undefined> {
  try {
    await access(file, constants.R_OK);
    return undefined;
  } catch (err) {
    return `cannot read ${resolve(file)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
}

export async function checkKafkaOptions({ options: o, agent, instance, env, problem, claim }: OptionsCheck<KafkaSinkOptions>): Promise<void> {
  if (o.idempotent && o.acks !== 'all' && o.acks !== -1) problem('acks', 'idempotent: true needs acks: all');
  o.brokers.forEach((broker, i) => {
    const port = Number(broker.slice(broker.lastIndexOf(':') + 1));
    if (!(port >= 1 && port <= 65535)) problem(`brokers.${i}`, `port ${port} of "${broker}" is not a TCP port (1-65535)`);
  });
  const templates: [string, string][] = [['topic', o.topic], ...Object.entries(o.headers).map(([k, v]): [string, string] => [`headers.${k}`, v])];
  if (o.key !== '') templates.push(['key', o.key]);
  for (const [path, template] of templates) {
    try {
      compileTemplate(template);
    } catch (err) {
      problem(path, (err as Error).message);
    }
  }
  if (o.sasl) {
    const s = o.sasl;
    const sources = [s.password !== undefined, s.password_env !== undefined, s.password_file !== undefined].filter(Boolean).length;
    if (sources !== 1) problem('sasl', `give exactly one of password, password_env, password_file (${sources === 0 ? 'none' : sources} given)`);
    else if (s.password_env !== undefined && env[s.password_env] === undefined) problem('sasl.password_env', `environment variable ${s.password_env} is not set`);
    else if (s.password_file !== undefined) {
      const why = await unreadable(s.password_file);
      if (why) problem('sasl.password_file', why);
    }
  }
  if (o.ssl.enabled) {
    for (const what of ['ca', 'cert', 'key'] as const) {
      const file = o.ssl[what];
      const why = file === undefined ? undefined : await unreadable(file);
      if (why) problem(`ssl.${what}`, why);
    }
    if ((o.ssl.cert === undefined) !== (o.ssl.key === undefined)) problem(o.ssl.cert === undefined ? 'ssl.key' : 'ssl.cert', 'mutual TLS needs both ssl.cert and ssl.key');
  }
  const spoolBytes = parseSize(o.spool.max_size)!;
  const batchBytes = parseSize(o.batch.max_bytes)!;
  if (spoolBytes < batchBytes) problem('spool.max_size', `must hold at least one batch: batch.max_bytes is ${batchBytes} bytes`);
  // As the sink resolves it (sink.ts spoolDir()).
  const spool = resolve(o.spool.path || join(stateDirOf(agent), 'spool', `kafka-${instance.id}`));
  const why = await pathProblem(spool, 'directory');
  if (why) problem('spool.path', why);
  claim(`directory:${spool}`, 'spool.path');
}

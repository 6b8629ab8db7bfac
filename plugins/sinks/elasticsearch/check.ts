/**
 * What `validate` checks of an elasticsearch sink's options beyond their schema (src/core/sink-checks.ts
 * has the parts every spooled sink shares): an auth that cannot be read or names two methods, TLS
 * files, the index and id templates.
 */
import type { OptionsCheck } from '../../../src/core/plugin.js';
import { SecretError } from '../../../src/core/secrets.js';
import { checkSpooledDelivery, checkTemplates, checkTlsFiles } from '../../../src/core/sink-checks.js';
import { AuthError, authorization } from './client.js';
import type { ElasticsearchSinkOptions } from './index.js';

export async function checkElasticsearchOptions(ctx: OptionsCheck<ElasticsearchSinkOptions>): Promise<void> {
  const { options: o, problem } = ctx;
  try {
    authorization(o.auth, ctx.env);
  } catch (err) {
    if (err instanceof SecretError) problem(`auth.${err.option}`, err.reason);
    else if (err instanceof AuthError) problem('auth', err.reason);
    else throw err;
  }
  if (o.hosts.some((h) => h.startsWith('https:'))) await checkTlsFiles(ctx, 'ssl', o.ssl);
  const templates: [string, string][] = [];
  if (o.index !== '') templates.push(['index', o.index]);
  if (o.document_id !== '') templates.push(['document_id', o.document_id]);
  checkTemplates(ctx, templates);
  await checkSpooledDelivery(ctx, o);
}

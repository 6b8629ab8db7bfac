/**
 * What `validate` checks of the options that several sinks share, beyond their schema: what a
 * sink would otherwise find only in open() and then retry forever (a password source that is not
 * there, a CA file missing, a spool path under a regular file) or refuse at start without a
 * position (a broken template). Each sink's check() calls those it has.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathProblem } from './fs-check.js';
import type { OptionsCheck } from './plugin.js';
import { readSecret, SecretError } from './secrets.js';
import { spoolDir, type SpoolSettings } from './spool/options.js';
import { compileTemplate } from './template.js';
import type { TlsFileOptions } from './tls.js';
import { deadLetterPath } from './dead-letter.js';

async function unreadable(file: string): Promise<string | undefined> {
  try {
    await access(file, constants.R_OK);
    return undefined;
  } catch (err) {
    return `cannot read ${resolve(file)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
}

/** Each `[option path, template]` compiles. */
export function checkTemplates(ctx: OptionsCheck<unknown>, templates: readonly (readonly [string, string])[]): void {
  for (const [path, template] of templates) {
    try {
      compileTemplate(template);
    } catch (err) {
      ctx.problem(path, (err as Error).message);
    }
  }
}

/** The secret `name` of the option group at `group` can be read as the sink would (one source, set, readable). */
export function checkSecret(ctx: OptionsCheck<unknown>, group: string, options: Record<string, unknown>, name: string): void {
  try {
    readSecret(group, options, name, ctx.env);
  } catch (err) {
    if (!(err instanceof SecretError)) throw err;
    ctx.problem(`${group}.${err.option}`, err.reason);
  }
}

/** The TLS files at `group` are readable, and a client certificate comes with its key. */
export async function checkTlsFiles(ctx: OptionsCheck<unknown>, group: string, tls: TlsFileOptions): Promise<void> {
  for (const what of ['ca', 'cert', 'key'] as const) {
    const file = tls[what];
    const why = file === undefined ? undefined : await unreadable(file);
    if (why) ctx.problem(`${group}.${what}`, why);
  }
  if ((tls.cert === undefined) !== (tls.key === undefined)) ctx.problem(tls.cert === undefined ? `${group}.key` : `${group}.cert`, 'mutual TLS needs both cert and key');
}

/** The spool and dead-letter paths, resolved as the sink does, can be made, and no other instance has them. */
export async function checkSpooledDelivery(
  ctx: OptionsCheck<unknown>,
  o: { spool: SpoolSettings; dead_letter: { path: string } },
): Promise<void> {
  const spool = spoolDir(o.spool, ctx.instance, ctx.agent);
  const spoolWhy = await pathProblem(spool, 'directory');
  if (spoolWhy) ctx.problem('spool.path', spoolWhy);
  ctx.claim(`directory:${spool}`, 'spool.path');
  const dead = deadLetterPath(o.dead_letter, ctx.instance, ctx.agent);
  const deadWhy = await pathProblem(dead, 'file');
  if (deadWhy) ctx.problem('dead_letter.path', deadWhy);
  ctx.claim(`file:${dead}`, 'dead_letter.path');
}

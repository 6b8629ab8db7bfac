/**
 * Secrets in sink options (passwords, API keys, tokens), given in one of three ways: the value
 * itself (`password`), the name of an environment variable holding it (`password_env`), or a file
 * holding it (`password_file`, a trailing newline ignored). Keeping secrets out of the config file
 * is what the `_env` and `_file` forms are for; all sinks read them through this one function.
 */
import { readFileSync } from 'node:fs';
import { Type, type TOptional, type TString } from '@sinclair/typebox';
import { SinkError } from './errors.js';

/** The three option keys of the secret `name`, for a TypeBox object schema. */
export function secretOptions<N extends string>(name: N, what: string): { [K in N | `${N}_env` | `${N}_file`]: TOptional<TString> } {
  return {
    [name]: Type.Optional(Type.String({ description: `${what} (prefer ${name}_env or ${name}_file).` })),
    [`${name}_env`]: Type.Optional(Type.String({ minLength: 1, description: `Name of an environment variable holding the ${what.toLowerCase()}.` })),
    [`${name}_file`]: Type.Optional(Type.String({ minLength: 1, description: `File holding the ${what.toLowerCase()} (trailing newline ignored).` })),
  } as { [K in N | `${N}_env` | `${N}_file`]: TOptional<TString> };
}

/** How many of the three forms of `name` are given. */
export function secretSources(options: Record<string, unknown>, name: string): number {
  return [name, `${name}_env`, `${name}_file`].filter((k) => options[k] !== undefined).length;
}

/** A secret that cannot be read: `option` is the key at fault within its group (`password_env`). */
export class SecretError extends SinkError {
  constructor(
    label: string,
    readonly option: string,
    readonly reason: string,
  ) {
    super(`${label}.${option}: ${reason}`, false);
    this.name = 'SecretError';
  }
}

/**
 * The secret `name` of `options` (`label` prefixes errors, e.g. `kafka: sasl`), or undefined when
 * none of its forms is given. Throws a SecretError (not retriable) for two forms at once, an unset
 * variable or an unreadable file: no retry can mend those.
 */
export function readSecret(label: string, options: Record<string, unknown>, name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const n = secretSources(options, name);
  if (n === 0) return undefined;
  if (n > 1) throw new SecretError(label, name, `give only one of ${name}, ${name}_env, ${name}_file`);
  const varName = options[`${name}_env`] as string | undefined;
  if (varName !== undefined) {
    const v = env[varName];
    if (v === undefined) throw new SecretError(label, `${name}_env`, `environment variable ${varName} is not set`);
    return v;
  }
  const file = options[`${name}_file`] as string | undefined;
  if (file !== undefined) {
    try {
      return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      throw new SecretError(label, `${name}_file`, `cannot read ${file}: ${(e as Error).message}`);
    }
  }
  return options[name] as string;
}

/**
 * TLS client settings shared by the sinks that connect out (kafka, elasticsearch): the same option
 * names everywhere, read into what node:tls takes, with an error naming the option when a file is
 * unreadable.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Type, type Static } from '@sinclair/typebox';
import { SinkError } from './errors.js';

export const tlsFileProperties = {
  ca: Type.Optional(Type.String({ description: 'PEM file of the CA(s) to trust (default: the system CAs).' })),
  cert: Type.Optional(Type.String({ description: 'PEM file of the client certificate (mutual TLS).' })),
  key: Type.Optional(Type.String({ description: 'PEM file of the client key (mutual TLS).' })),
  key_password: Type.Optional(Type.String({ description: 'Passphrase of the client key.' })),
  reject_unauthorized: Type.Boolean({ default: true, description: 'Verify the server certificate.' }),
  servername: Type.Optional(Type.String({ description: 'TLS SNI / certificate name to expect.' })),
};

const tlsFiles = Type.Object(tlsFileProperties);
export type TlsFileOptions = Static<typeof tlsFiles>;

/** node:tls options from the settings; `label` names the option group in errors (`kafka: ssl`). */
export function readTlsOptions(label: string, t: TlsFileOptions): ConnectionOptions {
  const read = (what: string, file: string | undefined) => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(file, 'utf8');
    } catch (e) {
      throw new SinkError(`${label}.${what}: cannot read ${file}: ${(e as Error).message}`, false);
    }
  };
  const out: ConnectionOptions = { rejectUnauthorized: t.reject_unauthorized };
  const ca = read('ca', t.ca);
  const cert = read('cert', t.cert);
  const key = read('key', t.key);
  if (ca) out.ca = ca;
  if (cert) out.cert = cert;
  if (key) out.key = key;
  if (t.key_password !== undefined) out.passphrase = t.key_password;
  if (t.servername !== undefined) out.servername = t.servername;
  return out;
}

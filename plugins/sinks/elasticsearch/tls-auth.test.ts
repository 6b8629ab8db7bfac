/**
 * TLS and authentication of the elasticsearch sink. The test node (OpenSearch without its security
 * plugin) speaks plain HTTP with no users, so the test puts in front of it what a secured node's
 * HTTP layer does: a TLS listener on 127.0.0.1 that demands a client certificate signed by the
 * test CA (scripts/kafka-local.sh makes them) and an Authorization header, and forwards the request
 * to the real node. What the sink's requests carry is checked at that front; what they do is the
 * real node's.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { Value } from '@sinclair/typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLogger, ensureKafka, makeEvent, tempDir, TLS_DIR } from '../../../test/helpers/kafka.js';
import { deleteMatching, ensureOpenSearch, OPENSEARCH_PORT, osOk, refresh } from '../../../test/helpers/opensearch.js';
import { elasticsearchOptions, type ElasticsearchSinkOptions } from './index.js';
import { ElasticsearchSink } from './sink.js';

const tls = (f: string) => path.join(TLS_DIR, f);
/** What the front saw of each request: the client certificate's subject and the Authorization header. */
const seen: { cn: string | undefined; authorization: string | undefined }[] = [];
let front: https.Server;
let frontUrl = '';
const ns = `x${randomBytes(4).toString('hex')}`; // not t*: the sink test's template matches those

beforeAll(async () => {
  ensureKafka(); // makes the test CA and certificates
  ensureOpenSearch();
  await osOk('PUT', '/_index_template/netagent-tls-test', { index_patterns: [`logs-netagent.*-${ns}*`], data_stream: {}, priority: 510 });
  front = https.createServer(
    { key: readFileSync(tls('server.key')), cert: readFileSync(tls('server.crt')), ca: readFileSync(tls('ca.pem')), requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      const cert = (req.socket as TLSSocket).getPeerCertificate();
      const cn = cert?.subject?.CN;
      seen.push({ cn: Array.isArray(cn) ? cn.join(',') : cn, authorization: req.headers.authorization });
      if (!req.headers.authorization) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"missing authentication credentials"}');
        return;
      }
      const { authorization: _a, ...headers } = req.headers;
      const upstream = http.request({ host: '127.0.0.1', port: OPENSEARCH_PORT, path: req.url, method: req.method, headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      req.pipe(upstream);
    },
  );
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  frontUrl = `https://127.0.0.1:${(front.address() as AddressInfo).port}`;
}, 300_000);

afterAll(async () => {
  front?.close();
  await deleteMatching(`logs-netagent.*-${ns}*`); // first: a template in use cannot go
  await osOk('DELETE', '/_index_template/netagent-tls-test');
});

function sink(options: Partial<ElasticsearchSinkOptions>, suffix: string) {
  const log = captureLogger();
  const opts = Value.Default(elasticsearchOptions, {
    hosts: [frontUrl],
    ssl: { ca: tls('ca.pem'), cert: tls('client.pem'), key: tls('client.key') },
    data_stream: { namespace: `${ns}${suffix}` },
    spool: { path: tempDir() },
    dead_letter: { path: path.join(tempDir(), 'dead.ndjson') },
    retry: { initial: '100ms', max: '500ms' },
    ...options,
  }) as ElasticsearchSinkOptions;
  return { s: new ElasticsearchSink(opts, log.logger, { id: `tls-${suffix}`, type: 'elasticsearch' }), log };
}

async function deliveredTo(s: ElasticsearchSink, suffix: string): Promise<number> {
  const deadline = Date.now() + 30_000;
  while (s.stats().queue_depth !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await refresh(`logs-netagent.tcp.socket-${ns}${suffix}`);
  return (await osOk('GET', `/logs-netagent.tcp.socket-${ns}${suffix}/_count`)).count;
}

describe('elasticsearch sink: TLS and authentication', () => {
  const cases: [string, Partial<ElasticsearchSinkOptions>, string][] = [
    ['basic', { auth: { username: 'netagent', password: 'netagent-secret' } }, `Basic ${Buffer.from('netagent:netagent-secret').toString('base64')}`],
    ['apikey', { auth: { api_key: 'key-id:key-secret' } }, `ApiKey ${Buffer.from('key-id:key-secret').toString('base64')}`],
    ['bearer', { auth: { bearer_token_env: 'NETAGENT_TEST_TOKEN' } }, 'Bearer t0ken'],
  ];
  for (const [suffix, options, header] of cases) {
    it(`mutual TLS with the CA file and client certificate, ${suffix} authentication`, async () => {
      process.env.NETAGENT_TEST_TOKEN = 't0ken';
      seen.length = 0;
      const { s } = sink(options, suffix);
      await s.open();
      await s.write([makeEvent(1), makeEvent(2), makeEvent(3)]);
      expect(await deliveredTo(s, suffix)).toBe(3);
      await s.close();
      expect(seen.length).toBeGreaterThan(0);
      for (const r of seen) expect(r).toEqual({ cn: 'netagent', authorization: header });
    });
  }

  it('without a client certificate the handshake fails: a clear error, events stay spooled', async () => {
    const { s } = sink({ auth: { bearer_token: 'x' }, ssl: { ca: tls('ca.pem'), reject_unauthorized: true } }, 'nocert');
    await s.open();
    await s.write([makeEvent(1)]);
    const deadline = Date.now() + 20_000;
    while (!String(s.stats().last_error).includes('no host answered') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(s.stats()).toMatchObject({ queue_depth: 1, delivered: 0 });
    expect(String(s.stats().last_error)).toMatch(/no host answered \(https:\/\/127\.0\.0\.1:\d+: .*(certificate|alert|socket hang up|reset)/i);
    await s.close();
  });

  it('without the CA file the node is not trusted', async () => {
    const { s } = sink({ auth: { bearer_token: 'x' }, ssl: { cert: tls('client.pem'), key: tls('client.key'), reject_unauthorized: true } }, 'noca');
    await s.open();
    await s.write([makeEvent(1)]);
    const deadline = Date.now() + 20_000;
    while (!String(s.stats().last_error).includes('no host answered') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(String(s.stats().last_error)).toMatch(/self[- ]signed|unable to verify|certificate/i);
    await s.close();
  });

  it('a node answering 401 is a retried failure that names the cause, not a crash', async () => {
    const { s } = sink({}, 'noauth');
    await s.open();
    await s.write([makeEvent(1)]);
    const deadline = Date.now() + 20_000;
    while (!String(s.stats().last_error).includes('401') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(String(s.stats().last_error)).toMatch(/HTTP 401 \(check auth\)/);
    expect(s.stats().queue_depth).toBe(1);
    await s.close();
  });
});

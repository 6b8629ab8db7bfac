/**
 * A small HTTP client for Elasticsearch and OpenSearch: keep-alive connections, gzip request
 * bodies, several hosts with failover, basic / API key / bearer authentication, TLS with a CA file
 * and client certificates. Used by the sink's bulk delivery and by `netagent setup elasticsearch`.
 *
 * It answers every HTTP response as it came (the caller reads statuses and bodies); only a host
 * that cannot be reached, or answers 502/503/504 (a proxy or a node that is starting), makes it
 * try the next host. A host that failed is tried last for a while.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { ConnectionOptions } from 'node:tls';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { SinkError } from '../../../src/core/errors.js';
import { readSecret } from '../../../src/core/secrets.js';
import { readTlsOptions } from '../../../src/core/tls.js';
import { parseDuration } from '../../../src/core/units.js';
import type { ElasticsearchSinkOptions } from './index.js';

const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.gunzip);

/** How long a host that failed is tried only after the others. */
const HOST_PENALTY_MS = 10_000;

export interface ConnectionSettings {
  readonly hosts: readonly URL[];
  /** The Authorization header, if any. */
  readonly authorization: string | null;
  readonly tls: ConnectionOptions;
  readonly gzip: boolean;
  readonly requestTimeoutMs: number;
}

export interface EsResponse {
  readonly status: number;
  /** The body parsed as JSON; null when empty or not JSON. */
  readonly body: unknown;
  readonly text: string;
  /** The host that answered. */
  readonly host: string;
}

/** The `auth` options name no usable method. */
export class AuthError extends SinkError {
  constructor(readonly reason: string) {
    super(`elasticsearch: auth: ${reason}`, false);
    this.name = 'AuthError';
  }
}

/** No host could be reached (or every one answered 502/503/504): retriable. */
export class EsUnavailableError extends SinkError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, true, options);
    this.name = 'EsUnavailableError';
  }
}

/** The sink's (or setup's) connection options as the client takes them; throws on unusable ones. */
export function connectionSettings(o: Pick<ElasticsearchSinkOptions, 'hosts' | 'auth' | 'ssl' | 'compression' | 'timeouts'>): ConnectionSettings {
  const hosts = o.hosts.map((h) => {
    try {
      return new URL(h.endsWith('/') ? h : `${h}/`);
    } catch {
      throw new SinkError(`elasticsearch: hosts: not a URL: ${JSON.stringify(h)}`, false);
    }
  });
  return {
    hosts,
    authorization: authorization(o.auth),
    tls: hosts.some((h) => h.protocol === 'https:') ? readTlsOptions('elasticsearch: ssl', o.ssl) : {},
    gzip: o.compression === 'gzip',
    requestTimeoutMs: parseDuration(o.timeouts.request)!,
  };
}

/** The Authorization header of the `auth` options. Throws a SecretError, or an AuthError naming what is wrong. */
export function authorization(a: ElasticsearchSinkOptions['auth'], env: NodeJS.ProcessEnv = process.env): string | null {
  const password = readSecret('elasticsearch: auth', a, 'password', env);
  const apiKey = readSecret('elasticsearch: auth', a, 'api_key', env);
  const token = readSecret('elasticsearch: auth', a, 'bearer_token', env);
  const methods = [a.username !== undefined || password !== undefined, apiKey !== undefined, token !== undefined].filter(Boolean).length;
  if (methods > 1) throw new AuthError('give one method: username and password, api_key, or bearer_token');
  if (a.username !== undefined || password !== undefined) {
    if (a.username === undefined || password === undefined) {
      throw new AuthError('basic authentication needs username and one of password, password_env, password_file');
    }
    return `Basic ${Buffer.from(`${a.username}:${password}`).toString('base64')}`;
  }
  // Kibana shows the key as base64 of "id:key"; either form is accepted.
  if (apiKey !== undefined) return `ApiKey ${apiKey.includes(':') ? Buffer.from(apiKey).toString('base64') : apiKey}`;
  if (token !== undefined) return `Bearer ${token}`;
  return null;
}

export interface RequestOptions {
  readonly signal?: AbortSignal;
  /** Content type of a string or Buffer body; objects are sent as JSON. */
  readonly contentType?: string;
}

export class EsClient {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  private readonly httpsAgent: https.Agent;
  /** Per host index: until when it is tried only after the others. */
  private readonly penalty: number[];

  constructor(private readonly settings: ConnectionSettings) {
    this.httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 4, ...settings.tls });
    this.penalty = settings.hosts.map(() => 0);
  }

  get hosts(): readonly string[] {
    return this.settings.hosts.map((h) => h.origin + h.pathname.replace(/\/$/, ''));
  }

  /**
   * Sends one request to the first host that answers. `path` is relative to the host URL (its
   * path prefix kept), e.g. `_bulk?filter_path=errors`. Throws EsUnavailableError when no host
   * answered usefully, or the signal's reason when it aborted.
   */
  async request(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<EsResponse> {
    let payload: Buffer | null = null;
    let contentType = options.contentType ?? 'application/json';
    if (body !== undefined && body !== null) {
      if (Buffer.isBuffer(body)) payload = body;
      else if (typeof body === 'string') payload = Buffer.from(body);
      else {
        payload = Buffer.from(JSON.stringify(body));
        contentType = 'application/json';
      }
    }
    const headers: Record<string, string> = { accept: 'application/json', 'accept-encoding': 'gzip' };
    if (this.settings.authorization) headers.authorization = this.settings.authorization;
    if (payload) {
      headers['content-type'] = contentType;
      if (this.settings.gzip && payload.length > 1024) {
        payload = await gzip(payload, { level: 1 });
        headers['content-encoding'] = 'gzip';
      }
      headers['content-length'] = String(payload.length);
    }
    const failures: string[] = [];
    for (const i of this.order()) {
      const host = this.settings.hosts[i]!;
      try {
        const res = await this.send(host, method, path, headers, payload, options.signal);
        if (res.status === 502 || res.status === 503 || res.status === 504) {
          failures.push(`${host.origin}: HTTP ${res.status}`);
          this.penalty[i] = Date.now() + HOST_PENALTY_MS;
          continue;
        }
        this.penalty[i] = 0;
        return res;
      } catch (e) {
        if (options.signal?.aborted) throw options.signal.reason ?? e;
        failures.push(`${host.origin}: ${(e as Error).message || (e as NodeJS.ErrnoException).code}`);
        this.penalty[i] = Date.now() + HOST_PENALTY_MS;
      }
    }
    throw new EsUnavailableError(`elasticsearch: no host answered (${failures.join('; ')})`);
  }

  /** What the node is: `GET /`. */
  async info(signal?: AbortSignal): Promise<{ distribution: 'elasticsearch' | 'opensearch'; version: string }> {
    const r = await this.request('GET', '', undefined, { signal });
    if (r.status !== 200) throw new SinkError(`elasticsearch: GET / answered HTTP ${r.status}: ${r.text.slice(0, 300)}`, r.status >= 500 || r.status === 429);
    const v = (r.body as { version?: { number?: string; distribution?: string } } | null)?.version;
    return { distribution: v?.distribution === 'opensearch' ? 'opensearch' : 'elasticsearch', version: v?.number ?? 'unknown' };
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  /** Host indices: those not recently failed first, in configured order, then the others. */
  private order(): number[] {
    const now = Date.now();
    const idx = this.settings.hosts.map((_, i) => i);
    return [...idx.filter((i) => this.penalty[i]! <= now), ...idx.filter((i) => this.penalty[i]! > now)];
  }

  private send(host: URL, method: string, path: string, headers: Record<string, string>, payload: Buffer | null, signal?: AbortSignal): Promise<EsResponse> {
    const url = new URL(path, host);
    const isHttps = url.protocol === 'https:';
    const timeout = AbortSignal.timeout(this.settings.requestTimeoutMs);
    const abort = signal ? AbortSignal.any([signal, timeout]) : timeout;
    return new Promise((resolve, reject) => {
      const req = (isHttps ? https : http).request(
        url,
        { method, headers, agent: isHttps ? this.httpsAgent : this.httpAgent, signal: abort },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const raw = Buffer.concat(chunks);
            const decoded = res.headers['content-encoding'] === 'gzip' ? gunzip(raw) : Promise.resolve(raw);
            decoded.then((buf) => {
              const text = buf.toString('utf8');
              let body: unknown = null;
              if (text.length > 0) {
                try {
                  body = JSON.parse(text);
                } catch {
                  /* not JSON: the caller has the text */
                }
              }
              resolve({ status: res.statusCode ?? 0, body, text, host: host.origin });
            }, reject);
          });
        },
      );
      req.on('error', (e) => reject(timeout.aborted && !signal?.aborted ? new Error(`no response within ${this.settings.requestTimeoutMs} ms`, { cause: e }) : e));
      req.end(payload ?? undefined);
    });
  }
}

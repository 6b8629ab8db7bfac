/**
 * The real local OpenSearch node for tests (scripts/opensearch-local.sh: 2.19, single node, no plugins,
 * so no ISM and no security) and small JSON helpers over its REST API. Never a mock: without Java or
 * with a port held by another process the tests fail with the script's reason.
 */
import { ensureService, serviceScript } from './service-script.js';

export const OPENSEARCH_PORT = Number(process.env.OPENSEARCH_PORT ?? 9200);
export const OPENSEARCH_URL = `http://127.0.0.1:${OPENSEARCH_PORT}`;

/** Makes sure this checkout's node runs and the cluster is yellow or green; starts it if needed. */
export function ensureOpenSearch(): void {
  ensureService('opensearch-local.sh', 'OpenSearch');
}

/** SIGKILL (outage tests); nodeStart() brings the same data back. */
export function nodeKill(): void {
  serviceScript('opensearch-local.sh', 'kill');
}

export function nodeStart(): void {
  serviceScript('opensearch-local.sh', 'start');
}

/** `status` of the script: "running PID URL", "stopped", "foreign: …". */
export function nodeStatus(): string {
  return serviceScript('opensearch-local.sh', 'status').trim();
}

export interface OsResponse<T = any> {
  status: number;
  body: T;
}

/**
 * One REST call. An object body is sent as JSON, a string as NDJSON (for _bulk); the answer is parsed
 * as JSON when it is JSON. Any HTTP status is returned, not thrown: tests look at errors too.
 */
export async function osRequest<T = any>(method: string, path: string, body?: unknown): Promise<OsResponse<T>> {
  const init: RequestInit = { method, signal: AbortSignal.timeout(30_000) };
  if (typeof body === 'string') {
    init.body = body.endsWith('\n') ? body : `${body}\n`;
    init.headers = { 'content-type': 'application/x-ndjson' };
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'content-type': 'application/json' };
  }
  const res = await fetch(`${OPENSEARCH_URL}${path.startsWith('/') ? path : `/${path}`}`, init);
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // HEAD answers and _cat text stay text.
  }
  return { status: res.status, body: parsed as T };
}

/** Like osRequest, but a status outside 2xx throws with the node's answer. */
export async function osOk<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const r = await osRequest<T>(method, path, body);
  if (r.status < 200 || r.status > 299) throw new Error(`${method} ${path}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/**
 * Deletes the data streams and indices matching `pattern` (wildcards allowed; missing ones are fine).
 * Data streams go first: their backing indices cannot be deleted while the stream exists.
 */
export async function deleteMatching(pattern: string): Promise<void> {
  const target = encodeURIComponent(pattern);
  for (const path of [`/_data_stream/${target}`, `/${target}?expand_wildcards=all&ignore_unavailable=true`]) {
    const r = await osRequest('DELETE', path);
    if (r.status !== 200 && r.status !== 404) throw new Error(`DELETE ${path}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  }
}

/** Makes what was indexed into `target` searchable now. */
export async function refresh(target = '_all'): Promise<void> {
  await osOk('POST', `/${encodeURIComponent(target)}/_refresh?expand_wildcards=all`);
}

/**
 * `netagent setup elasticsearch`, and the sink's `setup` on start: installs into Elasticsearch or
 * OpenSearch what netagent's events need (templates/, the one copy of them):
 * - component templates `netagent-settings` and `netagent-mappings` (every field the built-in
 *   collectors emit, explicitly);
 * - index templates `netagent-data-streams` (`logs-netagent.*-*`, `metrics-netagent.*-*` as data
 *   streams) and `netagent` (`netagent-*`: Logstash's daily indices, templated index names);
 * - lifecycle policies `netagent` (rollover, then delete) and `netagent-daily` (delete): ILM on
 *   Elasticsearch, ISM on OpenSearch when its index-management plugin is there.
 *
 * Idempotent. Templates are netagent's: each carries the hash of what setup would write
 * (`_meta.netagent_hash`), and is rewritten whenever it differs. A lifecycle policy is the
 * operator's to tune once created (retention is a site decision, as Beats' setup.ilm.overwrite
 * says): an existing one is never overwritten, and the report says when it differs from netagent's.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { EsClient } from './client.js';

/** What setup needs of the sink's HTTP client; paths are relative to the host URL. */
export type ElasticsearchApi = Pick<EsClient, 'request' | 'info'>;

export type SetupAction = 'created' | 'updated' | 'unchanged' | 'kept' | 'skipped';

export interface SetupItem {
  readonly kind: 'component template' | 'index template' | 'ILM policy' | 'ISM policy' | 'lifecycle' | 'data streams';
  readonly name: string;
  readonly action: SetupAction;
  /** Why, for `kept` and `skipped`; what follows, for an update. */
  readonly detail?: string;
}

export interface SetupReport {
  readonly distribution: 'elasticsearch' | 'opensearch';
  readonly version: string;
  /** Which lifecycle management the policies went to; `none` when the node has none. */
  readonly lifecycle: 'ilm' | 'ism' | 'none';
  readonly items: readonly SetupItem[];
}

export interface SetupOptions {
  readonly logger: Logger;
  readonly signal?: AbortSignal;
}

/** A request the node answered with an error, or could not be reached for. */
export class SetupError extends Error {}

type Json = Record<string, unknown>;

const template = (name: string): Json =>
  JSON.parse(readFileSync(new URL(`./templates/${name}.json`, import.meta.url), 'utf8')) as Json;

/** Component templates, in the order they are installed (before the index templates using them). */
export const COMPONENT_TEMPLATES = ['netagent-settings', 'netagent-mappings'] as const;
/** Index template names and their files. */
export const INDEX_TEMPLATES = [
  ['netagent-data-streams', 'netagent-data-streams'],
  ['netagent', 'netagent-indices'],
] as const;

export function componentTemplate(name: (typeof COMPONENT_TEMPLATES)[number]): Json {
  return template(name);
}

/**
 * The body of an index template as installed on this distribution: on Elasticsearch its ILM
 * policy (named in `_meta.lifecycle_policy`) goes into its settings; OpenSearch rejects that
 * setting, and ISM finds the indices through the policy's own `ism_template`.
 */
export function indexTemplate(file: (typeof INDEX_TEMPLATES)[number][1], lifecycle: SetupReport['lifecycle']): Json {
  const body = template(file);
  if (lifecycle !== 'ilm') return body;
  const policy = (body._meta as Json).lifecycle_policy as string;
  const own = (body.template ?? {}) as Json;
  const settings = (own.settings ?? {}) as Json;
  const index = { ...((settings.index ?? {}) as Json), lifecycle: { name: policy } };
  return { ...body, template: { ...own, settings: { ...settings, index } } };
}

/** The lifecycle policies for ILM or ISM, by name. */
export function lifecyclePolicies(kind: 'ilm' | 'ism'): Record<string, Json> {
  return template(`${kind}-policies`) as Record<string, Json>;
}

/** JSON text with keys sorted at every level, so that equal bodies hash alike. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((value as Json)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function bodyHash(body: unknown): string {
  return createHash('sha256').update(canonical(body)).digest('hex').slice(0, 16);
}

/** The node's error as one line: its reason, else the start of its answer. */
function reasonOf(res: { status: number; body: unknown; text: string }): string {
  const error = (res.body as { error?: unknown } | null)?.error;
  if (typeof error === 'string') return error;
  if (typeof error === 'object' && error !== null) {
    const e = error as { type?: string; reason?: string; root_cause?: { reason?: string }[] };
    return [e.type, e.reason ?? e.root_cause?.[0]?.reason].filter(Boolean).join(': ');
  }
  return res.text.slice(0, 300);
}

export async function setupElasticsearch(client: ElasticsearchApi, options: SetupOptions): Promise<SetupReport> {
  const { logger, signal } = options;
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await client.request(method, path, body, { signal });
    if (res.status === 401 || res.status === 403) {
      throw new SetupError(`${method} ${path}: HTTP ${res.status} (${reasonOf(res)}): the credentials may not manage templates and policies`);
    }
    return res;
  };
  const must = async (method: string, path: string, body?: unknown) => {
    const res = await call(method, path, body);
    if (res.status >= 300) throw new SetupError(`${method} ${path}: HTTP ${res.status}: ${reasonOf(res)}`);
    return res;
  };

  const { distribution, version } = await client.info(signal);
  const items: SetupItem[] = [];
  const done = (item: SetupItem) => {
    items.push(item);
    logger.info({ ...item }, `setup: ${item.kind} ${item.name} ${item.action}`);
  };

  // Lifecycle first: an index template may name a policy.
  let lifecycle: SetupReport['lifecycle'];
  if (distribution === 'elasticsearch') lifecycle = 'ilm';
  else {
    const plugins = (await must('GET', '_cat/plugins?format=json')).body as { component?: string }[];
    lifecycle = plugins.some((p) => p.component === 'opensearch-index-management') ? 'ism' : 'none';
  }
  if (lifecycle === 'none') {
    done({
      kind: 'lifecycle',
      name: 'netagent, netagent-daily',
      action: 'skipped',
      detail:
        'no lifecycle policy installed: this OpenSearch has no index-management plugin (ISM), so nothing rolls over ' +
        'or deletes netagent data streams and indices; install opensearch-index-management and run setup again',
    });
  } else {
    for (const [name, desired] of Object.entries(lifecyclePolicies(lifecycle))) {
      done(await ensurePolicy(lifecycle, name, desired, call, must));
    }
  }

  for (const name of COMPONENT_TEMPLATES) {
    done(await ensureTemplate('component template', `_component_template/${name}`, name, componentTemplate(name), call, must));
  }
  for (const [name, file] of INDEX_TEMPLATES) {
    done(await ensureTemplate('index template', `_index_template/${name}`, name, indexTemplate(file, lifecycle), call, must));
  }

  // Templates apply to indices created after them: a data stream keeps its mappings until it rolls over.
  if (items.some((i) => i.kind.endsWith('template') && i.action === 'updated')) {
    const res = await call('GET', '_data_stream/logs-netagent.*,metrics-netagent.*');
    const streams = res.status === 200 ? ((res.body as { data_streams?: { name: string }[] }).data_streams ?? []) : [];
    if (streams.length > 0) {
      done({
        kind: 'data streams',
        name: streams.map((s) => s.name).join(', '),
        action: 'unchanged',
        detail: 'existing data streams take the updated templates at their next rollover (POST <name>/_rollover to do it now)',
      });
    }
  }
  return { distribution, version, lifecycle, items };
}

type Call = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: unknown; text: string }>;

/** A template, made current: created when absent, rewritten when its hash differs. */
async function ensureTemplate(kind: SetupItem['kind'], path: string, name: string, desired: Json, call: Call, must: Call): Promise<SetupItem> {
  const hash = bodyHash(desired);
  const body = { ...desired, _meta: { ...((desired._meta ?? {}) as Json), netagent_hash: hash } };
  const current = await call('GET', path);
  if (current.status === 200) {
    const found = current.body as { component_templates?: { component_template: Json }[]; index_templates?: { index_template: Json }[] };
    const installed = found.component_templates?.[0]?.component_template ?? found.index_templates?.[0]?.index_template;
    if ((installed?._meta as Json | undefined)?.netagent_hash === hash) return { kind, name, action: 'unchanged' };
  } else if (current.status !== 404) {
    throw new SetupError(`GET ${path}: HTTP ${current.status}: ${reasonOf(current)}`);
  }
  await must('PUT', path, body);
  return { kind, name, action: current.status === 404 ? 'created' : 'updated' };
}

/** A lifecycle policy, created when absent; an existing one is left as it is. */
async function ensurePolicy(lifecycle: 'ilm' | 'ism', name: string, desired: Json, call: Call, must: Call): Promise<SetupItem> {
  const kind = lifecycle === 'ilm' ? 'ILM policy' : 'ISM policy';
  const path = lifecycle === 'ilm' ? `_ilm/policy/${name}` : `_plugins/_ism/policies/${name}`;
  const hash = bodyHash(desired);
  const policy = desired.policy as Json;
  // ILM keeps a policy's _meta; ISM has none, so the hash rides at the end of its description.
  const body =
    lifecycle === 'ilm'
      ? { policy: { ...policy, _meta: { ...((policy._meta ?? {}) as Json), netagent_hash: hash } } }
      : { policy: { ...policy, description: `${String(policy.description)} [netagent ${hash}]` } };
  const current = await call('GET', path);
  if (current.status === 404) {
    await must('PUT', path, body);
    return { kind, name, action: 'created' };
  }
  if (current.status !== 200) throw new SetupError(`GET ${path}: HTTP ${current.status}: ${reasonOf(current)}`);
  const installed =
    lifecycle === 'ilm'
      ? ((current.body as Record<string, { policy?: { _meta?: Json } }>)[name]?.policy?._meta?.netagent_hash as string | undefined)
      : /\[netagent ([0-9a-f]+)\]$/.exec(String((current.body as { policy?: { description?: string } }).policy?.description ?? ''))?.[1];
  if (installed === hash) return { kind, name, action: 'unchanged' };
  return {
    kind,
    name,
    action: 'kept',
    detail: `exists and differs from netagent's (${path}): left as it is, lifecycle policies are yours to tune; delete it and run setup again for netagent's`,
  };
}

/** The report as lines for a terminal: one per item, `target` first. */
export function formatSetupReport(target: string, report: SetupReport): string {
  const lines = [`${target}: ${report.distribution} ${report.version}`];
  for (const item of report.items) {
    lines.push(`  ${item.action.padEnd(9)} ${item.kind} ${item.name}${item.detail ? `: ${item.detail}` : ''}`);
  }
  return lines.join('\n');
}

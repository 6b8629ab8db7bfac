/**
 * setupElasticsearch() against the real local node (scripts/opensearch-local.sh, through the
 * sink's own client), and the template files' own consistency. The whole path with real events of
 * every collector, and `netagent setup elasticsearch` run twice, is in test/deploy.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { counterToNumber } from '../../../src/collect/counter-delta.js';
import { ECS_VERSION, OBJECT_ROOTS } from '../../../src/core/ecs.js';
import { deleteMatching, ensureOpenSearch, OPENSEARCH_URL, osRequest } from '../../../test/helpers/opensearch.js';
import { ROOT } from '../../../test/helpers/service-script.js';
import { connectionSettings, EsClient } from './client.js';
import { elasticsearchOptions } from './index.js';
import { optionsWithDefaults } from '../../../src/collect/options-defaults.js';
import { componentTemplate, indexTemplate, INDEX_TEMPLATES, lifecyclePolicies, setupElasticsearch } from './setup.js';

const logger = pino({ level: 'silent' });
const clientFor = (hosts: string[]) => new EsClient(connectionSettings(optionsWithDefaults(elasticsearchOptions, { hosts }) as never));

describe('the template files', () => {
  const mappings = componentTemplate('netagent-mappings') as { template: { mappings: any }; _meta: { ecs_version: string } };

  it('declare the ECS version the events carry', () => {
    expect(mappings._meta.ecs_version).toBe(ECS_VERSION);
  });

  it('map under top-level objects only what exec keeps as objects (src/core/ecs.ts OBJECT_ROOTS)', () => {
    const roots = Object.entries(mappings.template.mappings.properties as Record<string, { type?: string }>)
      .filter(([, m]) => m.type === undefined || m.type === 'object')
      .map(([name]) => name);
    expect(roots.filter((r) => !OBJECT_ROOTS.has(r))).toEqual([]);
  });

  it('give every dynamic template a value type, so none matches the objects on its path', () => {
    // `socket.families.*` without one matched `socket.families.ipv4` and mapped an object as long.
    for (const entry of mappings.template.mappings.dynamic_templates as Record<string, { match_mapping_type?: string }>[]) {
      const [name, t] = Object.entries(entry)[0]!;
      expect(t.match_mapping_type, name).toBeDefined();
    }
  });

  it('name for every index template a lifecycle policy that ILM and ISM both define', () => {
    for (const kind of ['ilm', 'ism'] as const) {
      const names = Object.keys(lifecyclePolicies(kind));
      for (const [, file] of INDEX_TEMPLATES) expect(names).toContain((indexTemplate(file, 'none')._meta as { lifecycle_policy: string }).lifecycle_policy);
    }
  });

  it('carry the ILM policy in the index settings on Elasticsearch only (OpenSearch rejects the setting)', () => {
    for (const [, file] of INDEX_TEMPLATES) {
      const policy = (indexTemplate(file, 'none')._meta as { lifecycle_policy: string }).lifecycle_policy;
      expect((indexTemplate(file, 'ilm').template as any).settings.index.lifecycle.name).toBe(policy);
      expect(JSON.stringify(indexTemplate(file, 'ism'))).not.toContain('"lifecycle":{');
      expect(JSON.stringify(indexTemplate(file, 'none'))).not.toContain('"lifecycle":{');
    }
  });
});

describe('setupElasticsearch on the local OpenSearch node', () => {
  let client: EsClient;
  const namespace = `setup${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(() => {
    ensureOpenSearch();
    client = clientFor([OPENSEARCH_URL]);
  });
  afterAll(async () => {
    client?.close();
    await deleteMatching(`*-netagent.*-${namespace}`);
  });

  it('is idempotent, and puts back a template someone changed', async () => {
    await setupElasticsearch(client, { logger });
    const again = await setupElasticsearch(client, { logger });
    expect(again.distribution).toBe('opensearch');
    expect(again.lifecycle).toBe('none');
    expect(again.items.filter((i) => i.kind.endsWith('template')).map((i) => i.action)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged']);

    const changed = await osRequest('PUT', '/_component_template/netagent-mappings', { template: { mappings: { properties: { x: { type: 'keyword' } } } } });
    expect(changed.status).toBe(200);
    const repaired = await setupElasticsearch(client, { logger });
    expect(repaired.items.find((i) => i.name === 'netagent-mappings')!.action).toBe('updated');
    const now = await osRequest('GET', '/_component_template/netagent-mappings');
    expect(now.body.component_templates[0].component_template.template.mappings.properties).toHaveProperty('socket');
  });

  it('says, when a data stream already exists, that updated templates reach it at its rollover', async () => {
    await setupElasticsearch(client, { logger });
    const stream = `logs-netagent.tcp.socket-${namespace}`;
    expect((await osRequest('PUT', `/_data_stream/${stream}`)).status).toBe(200);
    await osRequest('PUT', '/_index_template/netagent-data-streams', {
      ...indexTemplate('netagent-data-streams', 'none'),
      _meta: { netagent_hash: 'old' },
    });
    const report = await setupElasticsearch(client, { logger });
    const note = report.items.find((i) => i.kind === 'data streams')!;
    expect(note.name).toContain(stream);
    expect(note.detail).toMatch(/next rollover/);
  });

  it('makes u64 counters beyond 2^63 - 1 indexable, as the collectors print them', async () => {
    await setupElasticsearch(client, { logger });
    const huge = counterToNumber(2n ** 64n - 1n);
    const doc = {
      '@timestamp': new Date().toISOString(),
      event: { dataset: 'iface.stats', kind: 'metric' },
      interface: { name: 'eth0', rx: { bytes: huge }, delta: { rx: { bytes: huge } } },
      snmp: { counters: { IpExtInOctets: huge, TcpExtTW: 2 ** 63 + 4096 }, delta: { IpExtInOctets: huge, MPTcpExtMPCurrEstab: -2 } },
    };
    for (const stream of [`metrics-netagent.iface.stats-${namespace}`, `metrics-netagent.snmp.counters-${namespace}`]) {
      const r = await osRequest('POST', `/${stream}/_doc?op_type=create&refresh=true`, doc);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    const m = await osRequest('GET', `/metrics-netagent.snmp.counters-${namespace}/_mapping`);
    const props = (Object.values(m.body)[0] as any).mappings.properties.snmp.properties;
    expect(props.counters.properties.IpExtInOctets.type).toBe('unsigned_long');
    expect(props.delta.properties.MPTcpExtMPCurrEstab.type).toBe('double');
  });
});

describe('netagent setup elasticsearch', () => {
  const dir = mkdtempSync(join(tmpdir(), 'es-setup-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 1 with the reason when no node answers', async () => {
    // A port that was free a moment ago: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const config = join(dir, 'down.yaml');
    writeFileSync(config, `sinks:\n  - type: elasticsearch\n    id: es-down\n    options: {hosts: ["http://127.0.0.1:${port}"], timeouts: {request: 2s}}\n`);
    const r = spawnSync('node', [join(ROOT, 'bin/netagent'), 'setup', 'elasticsearch', '-c', config], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`sink es-down \\(http://127.0.0.1:${port}\\): setup failed: .*ECONNREFUSED`));
    expect(r.stdout).toBe('');
  });

  it('without an elasticsearch sink, or without a target, says what is missing', () => {
    const config = join(dir, 'none.yaml');
    writeFileSync(config, 'sinks:\n  - type: stdout\n');
    const none = spawnSync('node', [join(ROOT, 'bin/netagent'), 'setup', 'elasticsearch', '-c', config], { encoding: 'utf8' });
    expect(none.status).toBe(1);
    expect(none.stderr).toContain('no elasticsearch sink configured');
    const usage = spawnSync('node', [join(ROOT, 'bin/netagent'), 'setup', '-c', config], { encoding: 'utf8' });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('setup needs a target: elasticsearch');
  });
});

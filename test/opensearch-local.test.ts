/**
 * The local OpenSearch node (scripts/opensearch-local.sh) is real and this checkout's: started through
 * the test helper, run by an unprivileged user from this run's configuration, answering on the port
 * itself, keeping documents across a SIGKILL and a start.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPENSEARCH_PORT, OPENSEARCH_URL, deleteMatching, ensureOpenSearch, nodeKill, nodeStart, nodeStatus, osOk, osRequest, refresh } from './helpers/opensearch.js';

const INDEX = `netagent-local-test-${process.pid}`;

/** The value of -D<name>= on a JVM command line. */
function sysProp(cmdline: string[], name: string): string | undefined {
  return cmdline.find((a) => a.startsWith(`-D${name}=`))?.slice(name.length + 3);
}

describe('the local OpenSearch node', () => {
  beforeAll(() => ensureOpenSearch(), 300_000);
  afterAll(async () => {
    ensureOpenSearch();
    await deleteMatching(`${INDEX}*`);
  }, 300_000);

  it('is the node the pid file names: unprivileged, listening itself, configured from its run directory', async () => {
    const m = /^running (\d+) (\S+)$/.exec(nodeStatus());
    expect(m, 'status line').not.toBeNull();
    const pid = Number(m![1]);
    expect(m![2]).toBe(OPENSEARCH_URL);

    const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1];
    expect(Number(uid), 'OpenSearch refuses root; the script runs it as another user').not.toBe(0);

    const ss = spawnSync('ss', ['-Htlnp', `sport = :${OPENSEARCH_PORT}`], { encoding: 'utf8' });
    expect(ss.stdout).toContain(`pid=${pid},`);

    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const conf = sysProp(cmdline, 'opensearch.path.conf');
    expect(conf, cmdline.join(' ')).toBeDefined();
    const yml = readFileSync(`${conf}/opensearch.yml`, 'utf8');
    const root = await osOk<{ cluster_name: string; version: { number: string; distribution: string } }>('GET', '/');
    expect(yml).toContain(`cluster.name: ${root.cluster_name}\n`);
    expect(yml).toContain(`http.port: ${OPENSEARCH_PORT}\n`);
    expect(root.version).toMatchObject({ number: process.env.OPENSEARCH_VERSION ?? '2.19.6', distribution: 'opensearch' });
  });

  it('indexes a document, finds it by search, and has no ISM (the integ-test distribution has no plugins)', async () => {
    await deleteMatching(`${INDEX}*`);
    const doc = { '@timestamp': new Date().toISOString(), event: { dataset: 'tcp.summary', sequence: 7 } };
    const put = await osRequest('PUT', `/${INDEX}/_doc/one`, doc);
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    expect((await osOk('GET', `/${INDEX}/_doc/one`))._source).toEqual(doc);

    const bulk = [1, 2, 3].flatMap((i) => [JSON.stringify({ create: { _index: INDEX, _id: `b${i}` } }), JSON.stringify({ ...doc, event: { dataset: 'tcp.summary', sequence: i } })]);
    const b = await osOk<{ errors: boolean; items: unknown[] }>('POST', '/_bulk', bulk.join('\n'));
    expect(b.errors, JSON.stringify(b.items)).toBe(false);
    await refresh(INDEX);
    const found = await osOk<{ hits: { total: { value: number } } }>('POST', `/${INDEX}/_search`, { query: { term: { 'event.sequence': 2 } } });
    expect(found.hits.total.value).toBe(1);
    expect((await osOk<{ count: number }>('GET', `/${INDEX}/_count`)).count).toBe(4);

    const plugins = await osOk<string>('GET', '/_cat/plugins');
    expect(plugins.trim()).toBe('');
    expect((await osRequest('GET', '/_plugins/_ism/policies')).status).toBe(400);
  });

  it('keeps its data across a SIGKILL and a start (outage tests rely on it)', async () => {
    await deleteMatching(`${INDEX}-outage`);
    await osOk('PUT', `/${INDEX}-outage/_doc/kept?refresh=true`, { kept: true });
    nodeKill();
    expect(() => nodeStatus()).toThrow(/stopped/);
    await expect(fetch(`${OPENSEARCH_URL}/`)).rejects.toThrow();
    nodeStart();
    expect(nodeStatus()).toMatch(/^running \d+ /);
    expect((await osOk('GET', `/${INDEX}-outage/_doc/kept`))._source).toEqual({ kept: true });
  }, 300_000);

  it('deleteMatching removes data streams and indices by pattern', async () => {
    await osOk('PUT', `/_index_template/${INDEX}-ds`, { index_patterns: [`${INDEX}-ds-*`], data_stream: {}, priority: 500 });
    await osOk('POST', `/${INDEX}-ds-a/_doc`, { '@timestamp': new Date().toISOString(), n: 1 });
    await osOk('PUT', `/${INDEX}-plain`, {});
    await deleteMatching(`${INDEX}-ds-*`);
    await deleteMatching(`${INDEX}-plain`);
    expect((await osRequest('GET', `/_data_stream/${INDEX}-ds-a`)).status).toBe(404);
    expect((await osRequest('HEAD', `/${INDEX}-plain`)).status).toBe(404);
    await osOk('DELETE', `/_index_template/${INDEX}-ds`);
  });
});

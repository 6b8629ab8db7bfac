/**
 * The agent end to end into a real node (scripts/opensearch-local.sh): `netagent setup elasticsearch`,
 * then `netagent run` with every built-in collector into the elasticsearch sink and a file sink (the
 * ground truth), the node SIGKILLed for ten seconds mid-stream, the agent SIGTERMed and started again.
 * Every event of the file must then be in the node exactly once (its id is agent.ephemeral_id and
 * event.sequence), none rejected, no field mapped outside the templates, and the node's counts per
 * dataset and per TCP state equal the file's. Needs Java (the node), root (agent.netns: all), nf_conntrack.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exited, netagent, startNetagent, tempDir, writeConfig } from './helpers/cli.js';
import { declaredBy, mappedLeaves } from './helpers/es-templates.js';
import { requireConntrack } from './helpers/netns.js';
import { deleteMatching, ensureOpenSearch, nodeKill, nodeStart, OPENSEARCH_URL, osOk, refresh } from './helpers/opensearch.js';

function lines(path: string): Record<string, any>[] {
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/** Every document of the pattern, through a scroll (more than a search window can hold). */
async function allDocuments(pattern: string): Promise<Record<string, any>[]> {
  await refresh(pattern);
  const out: Record<string, any>[] = [];
  let page = await osOk('POST', `/${pattern}/_search?scroll=1m&size=5000`, { query: { match_all: {} }, sort: ['_doc'] });
  while (page.hits.hits.length > 0) {
    for (const h of page.hits.hits) out.push({ _id: h._id, _index: h._index, ...h._source });
    page = await osOk('POST', '/_search/scroll', { scroll: '1m', scroll_id: page._scroll_id });
  }
  await osOk('DELETE', '/_search/scroll', { scroll_id: page._scroll_id });
  return out;
}

const count = (xs: readonly string[]) => xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<string, number>());

describe('agent → elasticsearch through a node outage and an agent restart', () => {
  const ns = `e2e${randomBytes(3).toString('hex')}`;
  beforeAll(() => {
    requireConntrack();
    ensureOpenSearch();
  }, 180_000);
  afterAll(async () => {
    nodeStart();
    await deleteMatching(`*-netagent.*-${ns}`);
  }, 180_000);

  it('every event of the file sink is in the node exactly once, nothing rejected, no field outside the templates', async () => {
    const dir = tempDir();
    const truth = join(dir, 'events.ndjson');
    const dead = join(dir, 'dead.ndjson');
    const collectors = [
      '  - {type: tcp, interval: 2s, options: {mode: both, processes: true, info: true, listeners: true, connections: true, aggregate: {by: [local_port, remote_network, process], top: 5}}}',
      '  - {type: udp, interval: 2s, options: {mode: both, processes: true, listeners: true, aggregate: {by: [local_port, remote_port]}}}',
      ...['unix', 'iface', 'route', 'snmp', 'igmp', 'softnet', 'raw', 'udplite'].map((t) => `  - {type: ${t}, interval: 2s}`),
      '  - {type: conntrack, interval: 2s, options: {entries: group}}',
      '  - {type: exec, interval: 2s, options: {command: ["sh", "-c", "echo \'{\\"probe\\": {\\"ok\\": 1}}\'"], dataset: exec.probe}}',
    ].join('\n');
    const agent = `agent: {state_dir: ${dir}/state, stats_interval: 2s, shutdown_timeout: 10s, netns: all}\n`;
    const sinks =
      'sinks:\n' +
        `  - {type: file, options: {path: ${truth}, max_size: 1GB}}\n` +
        `  - type: elasticsearch\n    options:\n      hosts: ["${OPENSEARCH_URL}"]\n      data_stream: {namespace: ${ns}}\n` +
        `      spool: {path: ${dir}/spool}\n      dead_letter: {path: ${dead}}\n      retry: {max: 1s}\n      close_timeout: 8s\n`;
    const config = writeConfig(dir, `${agent}collectors:\n${collectors}\n${sinks}`);
    // The same sinks without collectors: what the last stop left in the spool goes out at this start.
    const drain = writeConfig(dir, `${agent}collectors: []\n${sinks}`, 'drain.yaml');
    const setup = netagent(['setup', 'elasticsearch', '-c', config], { timeout: 60_000 });
    expect(setup.stderr + setup.stdout).not.toMatch(/error/i);
    expect(setup.status).toBe(0);

    const run = async (seconds: number, outage: boolean) => {
      const agent = startNetagent(['run', '-c', config]);
      await new Promise((r) => setTimeout(r, seconds * 500));
      if (outage) {
        nodeKill();
        await new Promise((r) => setTimeout(r, 10_000));
        nodeStart();
      }
      await new Promise((r) => setTimeout(r, seconds * 500));
      agent.kill('SIGTERM');
      expect(await exited(agent)).toEqual({ code: 0, signal: null });
      return agent.output.stderr;
    };
    const first = await run(8, true);
    expect(first).toMatch(/elasticsearch/); // the outage was seen
    await run(6, false);
    const drainer = startNetagent(['run', '-c', drain]);
    const target = `*-netagent.*-${ns}`;
    const stored = async () => (await refresh(target), (await osOk('GET', `/${target}/_count`)).count as number);
    // Until the node holds what the file does, or stops catching up for 30 s.
    for (let last = -1, since = Date.now(); Date.now() - since < 30_000; await new Promise((r) => setTimeout(r, 500))) {
      const now = await stored();
      if (now >= lines(truth).length) break;
      if (now > last) [last, since] = [now, Date.now()];
    }
    drainer.kill('SIGTERM');
    expect(await exited(drainer)).toEqual({ code: 0, signal: null });

    const events = lines(truth);
    expect(events.length).toBeGreaterThan(100);
    const docs = await allDocuments(`*-netagent.*-${ns}`);
    const key = (e: Record<string, any>) => `${e.agent.ephemeral_id}-${e.event.sequence}`;
    expect(docs.length).toBe(events.length);
    expect(new Set(docs.map((d) => d._id)).size).toBe(docs.length);
    expect(new Set(docs.map((d) => d._id))).toEqual(new Set(events.map(key)));
    expect(existsSync(dead) ? readFileSync(dead, 'utf8') : '').toBe('');
    // Three agent starts (the last one only drains): three ephemeral ids, every sequence of each once.
    expect(new Set(events.map((e) => e.agent.ephemeral_id)).size).toBe(3);

    // The node's view equals the file's: documents per dataset, and TCP states from the summaries.
    const perDataset = await osOk('POST', `/*-netagent.*-${ns}/_search?size=0`, { aggs: { d: { terms: { field: 'event.dataset', size: 100 } } } });
    expect(new Map(perDataset.aggregations.d.buckets.map((b: any) => [b.key, b.doc_count]))).toEqual(count(events.map((e) => e.event.dataset)));
    const summaries = events.filter((e) => e.event.dataset === 'tcp.summary');
    const states = await osOk('POST', `/metrics-netagent.tcp.summary-${ns}/_search?size=0`, {
      aggs: { tw: { sum: { field: 'socket.states.TIME_WAIT' } }, est: { sum: { field: 'socket.states.ESTABLISHED' } } },
    });
    const sum = (state: string) => summaries.reduce((n, e) => n + (e.socket.states[state] ?? 0), 0);
    expect([states.aggregations.tw.value, states.aggregations.est.value]).toEqual([sum('TIME_WAIT'), sum('ESTABLISHED')]);

    // No field the templates do not declare (exec's own fields are the command's: typed catch-alls, by design).
    const live = await osOk('GET', `/*-netagent.*-${ns}/_mapping`);
    const undeclared: string[] = [];
    for (const [index, m] of Object.entries<any>(live)) {
      if (index.includes('netagent.exec.probe')) continue;
      for (const [field, type] of mappedLeaves(m.mappings.properties ?? {})) if (!declaredBy(field, type)) undeclared.push(`${index}: ${field} (${type})`);
    }
    expect(undeclared).toEqual([]);
  }, 600_000);
});

/**
 * The elasticsearch sink against a real node (scripts/opensearch-local.sh: OpenSearch 2.19, single
 * node, 127.0.0.1:$OPENSEARCH_PORT), never a mock. Each test writes to data streams of its own
 * namespace, or an index of its own, and reads back what the node holds.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SinkEvent } from '../../../src/core/plugin.js';
import { captureLogger, makeEvent, tempDir } from '../../../test/helpers/kafka.js';
import { deleteMatching, ensureOpenSearch, nodeKill, nodeStart, OPENSEARCH_URL, osOk, osRequest, refresh } from '../../../test/helpers/opensearch.js';
import { elasticsearchOptions, type ElasticsearchSinkOptions } from './index.js';
import { ElasticsearchSink } from './sink.js';

type Options = Partial<Omit<ElasticsearchSinkOptions, 'spool' | 'retry' | 'batch'>> & {
  spool?: Partial<ElasticsearchSinkOptions['spool']>;
  retry?: Partial<ElasticsearchSinkOptions['retry']>;
  batch?: Partial<ElasticsearchSinkOptions['batch']>;
};

function sink(options: Options = {}, id = 'es') {
  const log = captureLogger();
  const opts = Value.Default(elasticsearchOptions, {
    hosts: [OPENSEARCH_URL],
    spool: { path: tempDir() },
    retry: { initial: '100ms', max: '1s' },
    dead_letter: { path: path.join(tempDir(), 'dead.ndjson') },
    ...options,
  }) as ElasticsearchSinkOptions;
  return { sink: new ElasticsearchSink(opts, log.logger, { id, type: 'elasticsearch' }), log, opts };
}

/** A namespace of its own per test: data streams `logs-netagent.*-<ns>`. */
const namespace = () => `t${randomBytes(4).toString('hex')}`;

const metricEvent = (seq: number, dataset = 'snmp.counters'): SinkEvent =>
  makeEvent(seq, dataset, { event: { dataset, kind: 'metric', sequence: seq }, snmp: { counters: { TcpInSegs: seq } } });

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function drained(s: ElasticsearchSink): Promise<void> {
  await until('the spool to drain', () => s.stats().queue_depth === 0);
}

/** Every document of `target`, by _id (none while it does not exist). */
async function documents(target: string): Promise<Map<string, Record<string, any>>> {
  if ((await osRequest('HEAD', `/${target}`)).status === 404) return new Map();
  await refresh(target);
  const r = await osOk('POST', `/${target}/_search?size=10000`, { query: { match_all: {} } });
  return new Map((r.hits.hits as { _id: string; _source: Record<string, any> }[]).map((h) => [h._id, h._source]));
}

beforeAll(async () => {
  ensureOpenSearch();
  // Data streams need a matching template; the shipped ones (setup) are tested on their own.
  await osOk('PUT', '/_index_template/netagent-sink-test', {
    index_patterns: ['logs-netagent.*-t*', 'metrics-netagent.*-t*'],
    data_stream: {},
    priority: 500,
    template: { mappings: { properties: { snmp: { properties: { counters: { properties: { TcpInSegs: { type: 'long' } } } } } } } },
  });
}, 180_000);

afterAll(async () => {
  await deleteMatching('*-netagent.*-t*'); // first: a template in use cannot go
  await deleteMatching('netagent-test-*');
  await osOk('DELETE', '/_index_template/netagent-sink-test');
});

describe('elasticsearch sink', () => {
  it('writes state rows to logs-netagent.<dataset>-<ns> and metrics to metrics-…, with data_stream fields and event ids', async () => {
    const ns = namespace();
    const { sink: s } = sink({ data_stream: { namespace: ns } });
    await s.open();
    const states = Array.from({ length: 300 }, (_, i) => makeEvent(i + 1, 'tcp.socket', { source: { ip: '127.0.0.1', port: 1000 + i } }));
    const metrics = Array.from({ length: 50 }, (_, i) => metricEvent(301 + i));
    await s.write([...states.slice(0, 150), ...metrics, ...states.slice(150)]);
    await drained(s);
    const logs = await documents(`logs-netagent.tcp.socket-${ns}`);
    const mets = await documents(`metrics-netagent.snmp.counters-${ns}`);
    expect([...logs.keys()].sort()).toEqual(states.map((e) => `eph-test-${e.sequence}`).sort());
    expect([...mets.keys()].sort()).toEqual(metrics.map((e) => `eph-test-${e.sequence}`).sort());
    const one = logs.get('eph-test-7')!;
    expect(one.data_stream).toEqual({ type: 'logs', dataset: 'netagent.tcp.socket', namespace: ns });
    expect(one.source).toEqual({ ip: '127.0.0.1', port: 1006 });
    expect(one.event.sequence).toBe(7);
    expect(mets.get('eph-test-301')!.data_stream.type).toBe('metrics');
    expect(s.stats()).toMatchObject({ delivered: 350, duplicates: 0, rejected: 0, queue_depth: 0 });
    await s.close();
  });

  it('a batch sent again stores nothing twice: the node answers 409, counted as duplicates', async () => {
    const ns = namespace();
    const { sink: s } = sink({ data_stream: { namespace: ns } });
    await s.open();
    const events = Array.from({ length: 100 }, (_, i) => makeEvent(i + 1));
    await s.write(events);
    await s.write(events.slice(0, 40)); // as the pipeline does after a write it thought failed
    await drained(s);
    expect((await documents(`logs-netagent.tcp.socket-${ns}`)).size).toBe(100);
    expect(s.stats()).toMatchObject({ delivered: 100, duplicates: 40 });
    await s.close();
  });

  it('a mapping conflict goes to the dead-letter file, counted and logged once per field, while the rest flows', async () => {
    const index = `netagent-test-${randomBytes(4).toString('hex')}`;
    await osOk('PUT', `/${index}`, { mappings: { properties: { socket: { properties: { inode: { type: 'long' } } } } } });
    const { sink: s, log, opts } = sink({ index });
    await s.open();
    const events = Array.from({ length: 20 }, (_, i) =>
      makeEvent(i + 1, 'tcp.socket', { socket: { inode: i % 5 === 0 ? `not-a-number-${i}` : i } }),
    );
    await s.write(events);
    await drained(s);
    const docs = await documents(index);
    expect(docs.size).toBe(16);
    expect(s.stats()).toMatchObject({ delivered: 16, rejected: 4 });
    const letters = readFileSync(opts.dead_letter.path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(letters.map((l) => l.event.event.sequence)).toEqual([1, 6, 11, 16]);
    expect(letters[0]).toMatchObject({ destination: index, status: 400, error: { type: 'mapper_parsing_exception', field: 'socket.inode' } });
    expect(letters[0].event.socket.inode).toBe('not-a-number-0');
    const warnings = log.lines().filter((l) => String(l.msg).includes('written to the dead-letter file'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ field: 'socket.inode', error_type: 'mapper_parsing_exception' });
    await s.close();
  });

  it('documents the node refuses for now (429) are sent again alone until it takes them', async () => {
    const open = `netagent-test-${randomBytes(4).toString('hex')}`;
    const blocked = `netagent-test-${randomBytes(4).toString('hex')}`;
    await osOk('PUT', `/${blocked}`, { settings: { 'index.blocks.read_only_allow_delete': true } });
    const { sink: s } = sink({ index: '{{labels.target}}' });
    await s.open();
    const events = Array.from({ length: 40 }, (_, i) => makeEvent(i + 1, 'tcp.socket', { labels: { target: i % 2 === 0 ? open : blocked } }));
    await s.write(events);
    await until('the open index to have its half', async () => (await documents(open)).size === 20);
    await until('the blocked ones to be retried', () => Number(s.stats().retried_items) >= 40);
    expect(s.stats().queue_depth).toBe(40); // the batch is acknowledged only once every item is settled
    await osOk('PUT', `/${blocked}/_settings`, { 'index.blocks.read_only_allow_delete': null });
    await drained(s);
    expect((await documents(blocked)).size).toBe(20);
    expect(s.stats()).toMatchObject({ delivered: 40, duplicates: 0, rejected: 0 });
    await s.close();
  });

  it('fails over to the next host; an unreachable node is a state: events spool and arrive later', async () => {
    const ns = namespace();
    const { sink: s } = sink({ hosts: ['http://127.0.0.1:1', OPENSEARCH_URL], data_stream: { namespace: ns } });
    await s.open();
    await s.write(Array.from({ length: 10 }, (_, i) => makeEvent(i + 1)));
    await drained(s);
    expect((await documents(`logs-netagent.tcp.socket-${ns}`)).size).toBe(10);
    await s.close();

    const { sink: down } = sink({ hosts: ['http://127.0.0.1:1'], data_stream: { namespace: ns } });
    await down.open();
    await down.write(Array.from({ length: 5 }, (_, i) => makeEvent(100 + i)));
    await until('a connection error', () => String(down.stats().last_error).includes('no host answered'));
    expect(down.stats()).toMatchObject({ connected: false, queue_depth: 5 });
    await down.close();
  });

  it('setup: true installs the templates before the first delivery, so each data stream gets netagent\'s', async () => {
    const ns = `s${randomBytes(4).toString('hex')}`; // not t*: the shipped templates, not this file's
    const { sink: s, log } = sink({ setup: true, data_stream: { namespace: ns } });
    await s.open();
    await s.write([makeEvent(1), metricEvent(2)]);
    await drained(s);
    const streams = await osOk('GET', `/_data_stream/*-netagent.*-${ns}`);
    expect(streams.data_streams.map((d: { name: string; template: string }) => [d.name, d.template]).sort()).toEqual([
      [`logs-netagent.tcp.socket-${ns}`, 'netagent-data-streams'],
      [`metrics-netagent.snmp.counters-${ns}`, 'netagent-data-streams'],
    ]);
    expect(log.text()).toMatch(/templates and lifecycle policy set up/);
    await s.close();
    await deleteMatching(`*-netagent.*-${ns}`);
  });

  it('node SIGKILLed mid-stream and restarted, and the sink restarted on its spool: nothing lost, nothing twice', async () => {
    const ns = namespace();
    const spoolPath = tempDir();
    const { sink: s } = sink({ data_stream: { namespace: ns }, spool: { path: spoolPath } });
    await s.open();
    let seq = 0;
    const next = (n: number) => Array.from({ length: n }, () => makeEvent(++seq));
    await s.write(next(500));
    await drained(s);
    nodeKill();
    for (let i = 0; i < 10; i++) await s.write(next(100));
    await until('the outage to be seen', () => s.stats().connected === false);
    await s.close(); // the agent stops during the outage: the spool keeps the rest
    nodeStart();
    const { sink: again } = sink({ data_stream: { namespace: ns }, spool: { path: spoolPath } });
    await again.open();
    await again.write(next(200));
    await drained(again);
    const docs = await documents(`logs-netagent.tcp.socket-${ns}`);
    expect(docs.size).toBe(seq);
    expect([...docs.values()].map((d) => d.event.sequence).sort((a, b) => a - b)).toEqual(Array.from({ length: seq }, (_, i) => i + 1));
    await again.close();
  }, 240_000);
});

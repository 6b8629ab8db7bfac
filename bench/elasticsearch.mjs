#!/usr/bin/env node
// Elasticsearch sink throughput into the local OpenSearch node (scripts/opensearch-local.sh), compared
// with `curl` posting the same NDJSON as plain _bulk requests (the same create actions, ids and batch
// size, over one keep-alive connection) to the same node in the same run. Needs the build (`npm run
// build`), Java for the node and curl.
//
//   node bench/elasticsearch.mjs [--events 100000] [--rounds 2] [--json]
//
// Prints events/s of the sink (write() of 1000-event batches until the node stored the last one, with
// its disk spool on, gzip and without) and of curl, and the sink/curl ratios. Rounds take turns.
import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pino } from 'pino';
import { benchArgs, requireBuilt, requireTool, ROOT, startLocalService } from './prelude.mjs';

const URL_ = `http://127.0.0.1:${process.env.OPENSEARCH_PORT ?? 9200}`;
const args = benchArgs();
const EVENTS = Number(args.events ?? 100_000);
const ROUNDS = Number(args.rounds ?? 2);
const WRITE_BATCH = 1000;
const BULK_DOCS = 2000; // the sink's default batch.max_events: curl posts requests of the same size

const dist = (p) => path.join(ROOT, 'dist', p);
requireBuilt('bench/elasticsearch.mjs', 'dist/plugins/sinks/elasticsearch/sink.js');
requireTool('bench/elasticsearch.mjs', 'curl', '--version', 'curl');
startLocalService('bench/elasticsearch.mjs', 'scripts/opensearch-local.sh', 'node');
const { ElasticsearchSink } = await import(dist('plugins/sinks/elasticsearch/sink.js'));
const { elasticsearchOptions } = await import(dist('plugins/sinks/elasticsearch/index.js'));
const { EventStamper } = await import(dist('src/core/envelope.js'));
const { Value } = await import('@sinclair/typebox/value');

async function os_(method, p, body) {
  const res = await fetch(`${URL_}/${p}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok && res.status !== 404) throw new Error(`${method} /${p}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

const stamper = new EventStamper({
  hostName: 'edge-42',
  agentVersion: '0.1.0',
  agentId: '6f1c0a52-2f0e-4c4b-9d57-0d9c1f1b8e11',
  ephemeralId: 'b0a1f3c2-1d2e-4f50-8a9b-7c6d5e4f3a21',
  labels: { env: 'bench' },
});
// Held for the whole benchmark: unheld, a block of lines would be written over.
const events = Array.from({ length: EVENTS }, (_, i) =>
  stamper
    .stamp('tcp.socket', 'state', {
      network: { transport: 'tcp', type: 'ipv4' },
      source: { ip: '10.1.2.3', port: 40000 + (i % 20000) },
      destination: { ip: '10.9.8.7', port: 443 },
      socket: { state: 'ESTABLISHED', recv_q: 0, send_q: 0, inode: 100000 + i },
      user: { id: '1000' },
    }, 1_700_000_000_000 + i)
    .hold(),
);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'netagent-bench-es-'));
const logger = pino({ level: 'warn' }, pino.destination(2));

await os_('PUT', '_index_template/netagent-bench', {
  index_patterns: ['logs-netagent.*-bench*'],
  data_stream: {},
  priority: 500,
  template: { settings: { number_of_replicas: 0, refresh_interval: '30s' } },
});

async function count(stream) {
  await os_('POST', `${stream}/_refresh`);
  return (await os_('GET', `${stream}/_count`))?.count ?? 0;
}

/** The same documents as the sink sends, as NDJSON files of BULK_DOCS each, posted by one curl. */
function curlRun(ns) {
  const stream = `logs-netagent.tcp.socket-${ns}`;
  const files = [];
  for (let i = 0; i < EVENTS; i += BULK_DOCS) {
    const lines = [];
    for (const e of events.slice(i, i + BULK_DOCS)) {
      const doc = `{"data_stream":{"type":"logs","dataset":"netagent.tcp.socket","namespace":"${ns}"},${e.line.slice(1)}`;
      lines.push(`{"create":{"_index":"${stream}","_id":"${e.field('agent.ephemeral_id')}-${e.sequence}"}}\n${doc}\n`);
    }
    const f = path.join(tmp, `bulk-${ns}-${i}.ndjson`);
    writeFileSync(f, lines.join(''));
    files.push(f);
  }
  const argv = ['-s', '-o', '/dev/null'];
  files.forEach((f, i) => {
    if (i > 0) argv.push('--next', '-s', '-o', '/dev/null');
    // No "Expect: 100-continue" (curl adds it to large POSTs and then waits for the node's go-ahead).
    argv.push('-H', 'content-type: application/x-ndjson', '-H', 'Expect:', '--data-binary', `@${f}`, `${URL_}/_bulk?filter_path=errors`);
  });
  const t0 = process.hrtime.bigint();
  const r = spawnSync('curl', argv, { encoding: 'utf8' });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`curl failed: ${r.stderr}`);
  return { s, stream };
}

async function sinkRun(ns, compression) {
  const stream = `logs-netagent.tcp.socket-${ns}`;
  const options = Value.Default(elasticsearchOptions, {
    hosts: [URL_],
    compression,
    data_stream: { namespace: ns },
    spool: { path: path.join(tmp, `spool-${ns}`) },
    dead_letter: { path: path.join(tmp, `dead-${ns}.ndjson`) },
  });
  const sink = new ElasticsearchSink(options, logger, { id: `bench-${ns}`, type: 'elasticsearch' });
  await sink.open();
  const t0 = process.hrtime.bigint();
  const done = new Promise((resolve) => {
    sink.onDelivered = (n) => n >= EVENTS && resolve();
  });
  for (let i = 0; i < EVENTS; i += WRITE_BATCH) await sink.write(events.slice(i, i + WRITE_BATCH));
  await done;
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const stats = sink.stats();
  await sink.close();
  if (stats.rejected || stats.duplicates) throw new Error(`sink: ${JSON.stringify(stats)}`);
  return { s, stream };
}

const results = { curl: [], sink_gzip: [], sink_none: [] };
let n = 0;
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of [
      ['curl', () => curlRun(`bench${n++}`)],
      ['sink_gzip', () => sinkRun(`bench${n++}`, 'gzip')],
      ['sink_none', () => sinkRun(`bench${n++}`, 'none')],
    ]) {
      const { s, stream } = await run();
      const stored = await count(stream);
      if (stored !== EVENTS) throw new Error(`${name}: ${stored} of ${EVENTS} documents stored`);
      results[name].push(EVENTS / s);
      await os_('DELETE', `_data_stream/${stream}`);
    }
  }
} finally {
  await os_('DELETE', '_index_template/netagent-bench');
  rmSync(tmp, { recursive: true, force: true });
}

const best = (xs) => Math.max(...xs);
const summary = {
  events: EVENTS,
  bytes_per_event: Math.round(events.reduce((a, e) => a + e.bytes.length, 0) / EVENTS),
  curl_events_per_s: Math.round(best(results.curl)),
  sink_gzip_events_per_s: Math.round(best(results.sink_gzip)),
  sink_none_events_per_s: Math.round(best(results.sink_none)),
};
summary.ratio_gzip = +(summary.sink_gzip_events_per_s / summary.curl_events_per_s).toFixed(2);
summary.ratio_none = +(summary.sink_none_events_per_s / summary.curl_events_per_s).toFixed(2);
if (args.json) console.log(JSON.stringify({ ...summary, runs: results }));
else {
  console.log(`elasticsearch sink into OpenSearch at ${URL_}: ${EVENTS} tcp.socket events (~${summary.bytes_per_event} B), best of ${ROUNDS} rounds taken in turns`);
  console.log(`  curl _bulk (${BULK_DOCS} docs a request, one connection): ${summary.curl_events_per_s} events/s`);
  console.log(`  sink, spool on, gzip:  ${summary.sink_gzip_events_per_s} events/s  (${summary.ratio_gzip}x curl; goal >= 0.8x)`);
  console.log(`  sink, spool on, none:  ${summary.sink_none_events_per_s} events/s  (${summary.ratio_none}x curl)`);
}
process.exit(0);

// Runs inside the benchmark namespace (started by bench/sockets.mjs): the tcp collector from
// dist/ in a loop, as a running agent would, reporting CPU per cycle and RSS as one JSON line.
// usage: node bench/sockets-worker.mjs MODE CYCLES SINK PROCESSES
//   MODE: summary | sockets | both;  SINK: none (emit only) | json (the agent's EventStamper,
//   batched writes to /dev/null, roughly what the pipeline and a file sink do) | json-raw (the
//   same, using the collector's pre-encoded FIELDS_JSON text as a stamper honouring it would)
import 'reflect-metadata';
import { openSync, writeSync } from 'node:fs';
import { TcpCollector } from '../dist/plugins/collectors/tcp/collector.js';
import { tcpCollector } from '../dist/plugins/collectors/tcp/index.js';
import { SelfProcFs } from '../dist/src/core/procfs.js';
import { Value } from '@sinclair/typebox/value';
import pino from 'pino';
import { EventStamper } from '../dist/src/core/envelope.js';

const FIELDS_JSON = Symbol.for('netagent.fieldsJson');
// An empty fields object: stamping it costs what the envelope costs without JSON.stringify.
const RAW_PROBE = {};

const [mode = 'sockets', cyclesArg = '20', sink = 'none', processes = 'false'] = process.argv.slice(2);
const cycles = Number(cyclesArg);
const extra = process.env.BENCH_OPTIONS ? JSON.parse(process.env.BENCH_OPTIONS) : {};
const options = Value.Default(tcpCollector.options, { mode, processes: processes === 'true', ...extra });
const collector = new TcpCollector(options, new SelfProcFs('/proc'), pino({ level: 'warn' }), { id: 'tcp', type: 'tcp' });

const out = openSync('/dev/null', 'w');
let events = 0;
let batch = [];
let batchBytes = 0;
// The agent's own envelope encoder: one JSON.stringify of the fields per event.
const stamper = new EventStamper({
  hostName: 'bench-host',
  agentVersion: '0.1.0',
  agentId: '6d7f3a52-0f0e-4b59-9d0c-1f2e3d4c5b6a',
  ephemeralId: 'a1b2c3d4-e5f6-4a1b-8c9d-0e1f2a3b4c5d',
  labels: {},
});
function flush() {
  if (batch.length) writeSync(out, batch.join('\n') + '\n');
  batch = [];
  batchBytes = 0;
}
const ctx = {
  emit(dataset, kind, fields) {
    events++;
    if (sink === 'json' || sink === 'json-raw') {
      // json-raw: as the stamper would do if it honoured FIELDS_JSON (the proposed core change).
      const raw = sink === 'json-raw' ? fields[FIELDS_JSON] : undefined;
      const line =
        typeof raw === 'string'
          ? stamper.stamp(dataset, kind, RAW_PROBE, Date.now()).line.slice(0, -1) + ',' + raw.slice(1)
          : stamper.stamp(dataset, kind, fields, Date.now()).line;
      batch.push(line);
      batchBytes += line.length;
      if (batchBytes > 1 << 20) flush();
    }
    return true;
  },
  drained: async () => {},
  malformed(source, count, example) {
    console.error('malformed', source, count, example);
  },
  signal: new AbortController().signal,
  startedAt: Date.now(),
};

const cpu = [];
const rss = {};
for (let i = 1; i <= cycles; i++) {
  events = 0;
  const t0 = process.cpuUsage();
  await collector.collect(ctx);
  flush();
  const d = process.cpuUsage(t0);
  cpu.push((d.user + d.system) / 1e6);
  if (i === 1 || i === 10 || i === cycles) rss[i] = process.memoryUsage().rss;
}
const steady = cpu.slice(1).sort((a, b) => a - b);
const median = steady.length ? steady[Math.floor(steady.length / 2)] : cpu[0];
console.log(JSON.stringify({ mode, sink, processes, events, first: cpu[0], median, rss }));

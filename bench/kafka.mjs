#!/usr/bin/env node
// Kafka sink throughput and latency against the local broker (scripts/kafka-local.sh), compared with
// `kcat -P` producing the same NDJSON (same keys, same compression, acks=all) to the same broker in the
// same run. Needs the build (`npm run build`: dist/plugins/sinks/kafka/sink.js), Java for the broker and
// kcat (Debian: apt-get install -y kcat).
//
//   node bench/kafka.mjs [--events 200000] [--codecs gzip,lz4] [--rate 10000] [--seconds 10] [--json]
//
// Prints events/s of the sink (write() of 1000-event batches until the last broker ack, default
// options: spool fsync on an interval, linger 5ms), of kafkajs's own producer (no spool) and of kcat
// for each codec, the sink/kcat ratio, and the enqueue->ack latency percentiles at a steady rate.
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pino } from 'pino';
import { benchArgs, requireBuilt, requireTool, ROOT, startLocalService } from './prelude.mjs';

const BROKER = `127.0.0.1:${process.env.KAFKA_PORT ?? 9092}`;
const args = benchArgs();
const EVENTS = Number(args.events ?? 200_000);
const CODECS = String(args.codecs ?? 'gzip,lz4').split(',');
const RATE = Number(args.rate ?? 10_000);
const SECONDS = Number(args.seconds ?? 10);
const BATCH = 1000;
/** Each measured phase must finish within this (the broker is shared with test runs that kill it). */
const PHASE_TIMEOUT_MS = 120_000;

const sinkJs = path.join(ROOT, 'dist/plugins/sinks/kafka/sink.js');
requireBuilt('bench/kafka.mjs', 'dist/plugins/sinks/kafka/sink.js');
requireTool('bench/kafka.mjs', 'kcat', '-V', 'kcat');
startLocalService('bench/kafka.mjs', 'scripts/kafka-local.sh', 'broker');
const { KafkaSink } = await import(sinkJs);
const { loadCompressor } = await import(path.join(ROOT, 'dist/plugins/sinks/kafka/codecs.js'));

// --- the events: tcp.socket rows stamped by the agent's own envelope encoder ---
const { EventStamper } = await import(path.join(ROOT, 'dist/src/core/envelope.js'));
const stamper = new EventStamper({
  hostName: 'edge-42',
  agentVersion: '0.1.0',
  agentId: '6f1c0a52-2f0e-4c4b-9d57-0d9c1f1b8e11',
  ephemeralId: 'b0a1f3c2-1d2e-4f50-8a9b-7c6d5e4f3a21',
  labels: { env: 'bench' },
});
// Each event is held for the whole benchmark: unheld, its block of lines would be written over.
function makeEvent(sequence) {
  return stamper.stamp('tcp.socket', 'state', {
    network: { transport: 'tcp', type: 'ipv4' },
    source: { ip: '10.1.2.3', port: 40000 + (sequence % 20000) },
    destination: { ip: '10.9.8.7', port: 443 },
    socket: { state: 'ESTABLISHED', recv_q: 0, send_q: 0, inode: 100000 + sequence },
    user: { id: '1000' },
  }, 1_700_000_000_000 + sequence).hold();
}

const events = Array.from({ length: EVENTS }, (_, i) => makeEvent(i + 1));
const avgBytes = Math.round(events.reduce((n, e) => n + e.line.length, 0) / events.length);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'netagent-bench-kafka-'));
const ndjson = path.join(tmp, 'events.ndjson');
writeFileSync(ndjson, events.map((e) => `edge-42\t${e.line}\n`).join(''));
const logger = pino({ level: 'warn' }, pino.destination(2));
const run = `${process.pid}-${Date.now().toString(36)}`;

const created = [];
async function createTopic(topic) {
  created.push(topic);
  const kafkajs = (await import('kafkajs')).default;
  const admin = new kafkajs.Kafka({ brokers: [BROKER], logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic }], waitForLeaders: true });
  await admin.disconnect();
}

function newSink(topic, compression, extra = {}) {
  return new KafkaSink(
    { brokers: [BROKER], topic, compression, spool: { path: path.join(tmp, `spool-${topic}`) }, ...extra },
    logger,
    { id: 'bench', type: 'kafka' },
  );
}

async function sinkThroughput(compression) {
  const topic = `bench.sink.${compression}.${run}`;
  await createTopic(topic);
  const sink = newSink(topic, compression);
  await sink.open();
  const done = new Promise((resolve, reject) => {
    sink.onDelivered = (n) => n >= EVENTS && resolve();
    setTimeout(() => reject(new Error(`sink: not all delivered within ${PHASE_TIMEOUT_MS / 1000}s (broker stopped?): ${JSON.stringify(sink.stats())}`)), PHASE_TIMEOUT_MS).unref();
  });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < EVENTS; i += BATCH) await sink.write(events.slice(i, i + BATCH));
  await done;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  await sink.close();
  return EVENTS / secs;
}

/** kafkajs's own producer (which the sink does not use for encoding): sendBatch of the same messages, 4 in flight, no spool. */
async function kafkajsThroughput(compression) {
  const topic = `bench.kafkajs.${compression}.${run}`;
  await createTopic(topic);
  const kafkajs = (await import('kafkajs')).default;
  const types = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };
  if (compression !== 'none' && compression !== 'gzip') {
    // kafkajs has gzip only; lend it the sink's compressor for the others.
    const c = await loadCompressor(compression);
    kafkajs.CompressionCodecs[types[compression]] = () => ({ compress: (encoder) => c.compress(encoder.buffer) });
  }
  const producer = new kafkajs.Kafka({ brokers: [BROKER], logLevel: kafkajs.logLevel.NOTHING }).producer({
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const t0 = process.hrtime.bigint();
  const inflight = [];
  for (let i = 0; i < EVENTS; i += BATCH) {
    const messages = events.slice(i, i + BATCH).map((e) => ({ key: 'edge-42', value: e.line }));
    inflight.push(producer.sendBatch({ topicMessages: [{ topic, messages }], acks: -1, compression: types[compression] }));
    if (inflight.length >= 4) await inflight.shift();
  }
  await Promise.all(inflight);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  await producer.disconnect();
  return EVENTS / secs;
}

function kcatThroughput(compression) {
  const topic = `bench.kcat.${compression}.${run}`;
  return createTopic(topic).then(
    () =>
      new Promise((resolve, reject) => {
        const t0 = process.hrtime.bigint();
        const p = spawn('kcat', ['-P', '-b', BROKER, '-t', topic, '-K', '\t', '-z', compression, '-X', 'acks=all', '-l', ndjson], {
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let err = '';
        p.stderr.on('data', (d) => (err += d));
        const timer = setTimeout(() => p.kill('SIGKILL'), PHASE_TIMEOUT_MS);
        p.on('exit', (code) => {
          clearTimeout(timer);
          if (code !== 0) return reject(new Error(`kcat exited ${code}: ${err}`));
          resolve(EVENTS / (Number(process.hrtime.bigint() - t0) / 1e9));
        });
      }),
  );
}

async function steadyLatency(compression, linger) {
  const topic = `bench.latency.${compression}.${linger}.${run}`;
  await createTopic(topic);
  const sink = newSink(topic, compression, { batch: { linger } });
  await sink.open();
  const perTick = Math.max(1, Math.round(RATE / 100)); // a batch every 10 ms
  const total = perTick * 100 * SECONDS;
  const enqueuedAt = new Float64Array(total);
  const ackedAt = new Float64Array(total);
  let acked = 0;
  sink.onDelivered = (n) => {
    const now = performance.now();
    for (; acked < n && acked < total; acked++) ackedAt[acked] = now;
  };
  const evs = Array.from({ length: total }, (_, i) => makeEvent(i + 1));
  const t0 = performance.now();
  for (let sent = 0, tick = 0; sent < total; tick++) {
    const due = t0 + tick * 10;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const batch = evs.slice(sent, sent + perTick);
    const now = performance.now();
    for (let i = 0; i < batch.length; i++) enqueuedAt[sent + i] = now;
    await sink.write(batch);
    sent += batch.length;
  }
  const achieved = total / ((performance.now() - t0) / 1000);
  const until = Date.now() + PHASE_TIMEOUT_MS;
  while (acked < total) {
    if (Date.now() > until) throw new Error(`latency: not all delivered within ${PHASE_TIMEOUT_MS / 1000}s (broker stopped?)`);
    await new Promise((r) => setTimeout(r, 10));
  }
  await sink.close();
  const lat = Array.from({ length: total }, (_, i) => ackedAt[i] - enqueuedAt[i]).sort((a, b) => a - b);
  const pct = (p) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))];
  return { rate: achieved, p50: pct(50), p99: pct(99), max: lat[lat.length - 1] };
}

const results = { events: EVENTS, avg_event_bytes: avgBytes, throughput: [], latency: [] };
console.log(`kafka sink vs kcat -P: ${EVENTS} tcp.socket events of ~${avgBytes} bytes, keyed, acks=all, broker ${BROKER}`);
for (const codec of CODECS) {
  // kcat first, sink second, then once more each: the better of two runs, to tame the noise of a shared machine.
  const k = Math.max(await kcatThroughput(codec), await kcatThroughput(codec));
  const s = Math.max(await sinkThroughput(codec), await sinkThroughput(codec));
  const j = Math.max(await kafkajsThroughput(codec), await kafkajsThroughput(codec));
  results.throughput.push({ codec, sink: Math.round(s), kafkajs_alone: Math.round(j), kcat: Math.round(k), ratio: +(s / k).toFixed(2) });
  console.log(
    `  ${codec.padEnd(6)} sink ${Math.round(s).toString().padStart(8)} ev/s   kafkajs alone ${Math.round(j).toString().padStart(8)} ev/s   ` +
      `kcat ${Math.round(k).toString().padStart(8)} ev/s   sink/kcat ${(s / k).toFixed(2)}`,
  );
}
const latCodec = CODECS.includes('lz4') ? 'lz4' : CODECS[0];
results.latency = [];
for (const linger of ['50ms', '5ms']) {
  const l = await steadyLatency(latCodec, linger);
  results.latency.push({ codec: latCodec, linger, target_rate: RATE, ...l });
  console.log(
    `  enqueue->ack at a steady ${RATE} ev/s (${latCodec}, batch.linger ${linger}, ${SECONDS}s, achieved ${Math.round(l.rate)} ev/s): ` +
      `p50 ${l.p50.toFixed(1)} ms, p99 ${l.p99.toFixed(1)} ms, max ${l.max.toFixed(1)} ms`,
  );
}
if (args.json === 'true') console.log(JSON.stringify(results));
rmSync(tmp, { recursive: true, force: true });
{
  const kafkajs = (await import('kafkajs')).default;
  const admin = new kafkajs.Kafka({ brokers: [BROKER], logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.deleteTopics({ topics: created }).catch(() => {});
  await admin.disconnect();
}
process.exit(0);

// A minimal "agent" for the SIGKILL tests: opens the kafka sink (path of the transpiled sink.js in argv[2]),
// writes CHILD_EVENTS events in batches of 100 and prints "spooled N" after each write resolved (durable).
import 'reflect-metadata';
import { pino } from 'pino';

const { KafkaSink } = await import(process.argv[2]);
const total = Number(process.env.CHILD_EVENTS ?? 1000);
const pace = Number(process.env.CHILD_PACE_MS ?? 0);
const options = JSON.parse(process.env.CHILD_OPTIONS);
const sink = new KafkaSink(options, pino({ level: 'warn' }, pino.destination(2)), { id: 'child', type: 'kafka' });
await sink.open();

function event(sequence) {
  const obj = {
    '@timestamp': new Date(1_700_000_000_000 + sequence).toISOString(),
    event: { dataset: 'tcp.socket', kind: 'state', sequence },
    host: { name: 'edge-42' },
    agent: { name: 'netagent', version: '0.1.0', id: 'agent-test', ephemeral_id: 'eph-test' },
    labels: { env: 'test' },
    source: { ip: '127.0.0.1', port: 40000 + (sequence % 20000) },
  };
  const line = JSON.stringify(obj);
  return {
    dataset: 'tcp.socket',
    sequence,
    line,
    bytes: Buffer.from(line),
    field(p) {
      let cur = obj;
      for (const part of p.split('.')) cur = cur?.[part];
      return cur;
    },
  };
}

for (let seq = 1; seq <= total; seq += 100) {
  const batch = [];
  for (let i = seq; i < seq + 100 && i <= total; i++) batch.push(event(i));
  await sink.write(batch);
  process.stdout.write(`spooled ${batch[batch.length - 1].sequence}\n`);
  if (pace) await new Promise((r) => setTimeout(r, pace));
}
// wait to be killed
setInterval(() => {}, 1000);

/**
 * The real local Kafka broker for tests (scripts/kafka-local.sh), kcat to read topics back,
 * hand-made SinkEvents and a capturing logger. Never a mock: without Java the tests fail with the reason.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pino, type Logger } from 'pino';
import type { SinkEvent } from '../../src/core/plugin.js';
import { ROOT, ensureService, serviceScript } from './service-script.js';

export const BROKER = `127.0.0.1:${process.env.KAFKA_PORT ?? 9092}`;
export const SASL_BROKER = `127.0.0.1:${process.env.KAFKA_SASL_PORT ?? 9094}`;
export const SSL_BROKER = `127.0.0.1:${process.env.KAFKA_SSL_PORT ?? 9095}`;
/** The broker's test certificates (scripts/kafka-local.sh makes them): ca.pem, client.pem, client.key. */
export const TLS_DIR = path.join(process.env.KAFKA_RUN_DIR ?? path.join(ROOT, '.run/kafka'), 'tls');
export const SASL_USER = 'netagent';
export const SASL_PASSWORD = 'netagent-secret';
/** Nothing listens there (port 1 on loopback: connection refused at once). */
export const UNREACHABLE = '127.0.0.1:1';

/**
 * Makes sure this checkout's broker runs, serves and takes every codec; starts it if needed.
 * Throws (loudly) when it cannot, e.g. when another process holds the port.
 */
export function ensureKafka(): void {
  ensureService('kafka-local.sh', 'Kafka');
}

export function brokerKill(): void {
  serviceScript('kafka-local.sh', 'kill');
}

/** SIGSTOP: the broker keeps its connections and answers nothing until brokerResume(). */
export function brokerPause(): void {
  serviceScript('kafka-local.sh', 'pause');
}

export function brokerResume(): void {
  serviceScript('kafka-local.sh', 'resume');
}

export function brokerStart(): void {
  serviceScript('kafka-local.sh', 'start');
}

let topicCounter = 0;
/** A fresh topic name per test (the broker keeps data between runs). */
export function uniqueTopic(prefix: string): string {
  return `t.${prefix}.${process.pid}.${Date.now().toString(36)}.${++topicCounter}`;
}

export function tempDir(prefix = 'netagent-kafka-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A SinkEvent as the pipeline would hand it: envelope plus fields, with field(path) lookup. */
export function makeEvent(sequence: number, dataset = 'tcp.socket', extra: Record<string, unknown> = {}, host = 'edge-42'): SinkEvent {
  const obj = {
    '@timestamp': new Date(1_700_000_000_000 + sequence).toISOString(),
    event: { dataset, kind: 'state', sequence },
    host: { name: host },
    agent: { name: 'netagent', version: '0.1.0', id: 'agent-test', ephemeral_id: 'eph-test' },
    labels: { env: 'test' },
    ...extra,
  };
  const line = JSON.stringify(obj);
  return {
    dataset,
    sequence,
    line,
    bytes: Buffer.from(line),
    field(p: string) {
      let cur: unknown = obj;
      for (const part of p.split('.')) {
        if (cur === null || typeof cur !== 'object') return undefined;
        cur = (cur as Record<string, unknown>)[part];
      }
      return cur;
    },
  };
}

export function makeEvents(from: number, count: number, dataset = 'tcp.socket'): SinkEvent[] {
  return Array.from({ length: count }, (_, i) =>
    makeEvent(from + i, dataset, { source: { ip: '127.0.0.1', port: 40000 + ((from + i) % 20000) } }),
  );
}

export interface CapturedLogger {
  logger: Logger;
  lines: () => Record<string, unknown>[];
  text: () => string;
}

/** A pino logger that records its JSON lines (level debug) instead of printing them. */
export function captureLogger(level = 'debug'): CapturedLogger {
  const out: string[] = [];
  const logger = pino({ level }, { write: (s: string) => void out.push(s) });
  return {
    logger,
    lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>),
    text: () => out.join(''),
  };
}

export interface ReadMessage {
  key: string | null;
  value: string;
  headers: Record<string, string>;
  offset: string;
  partition: number;
}

/**
 * Reads a topic from the beginning with kcat (librdkafka: a client that is not ours, with its own record
 * batch decoder and codecs) until `expected` messages are there and no more came for `quietMs`, or
 * `timeoutMs` passed.
 */
export async function readTopic(
  topic: string,
  opts: { expected: number; timeoutMs?: number; quietMs?: number },
): Promise<ReadMessage[]> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  const quiet = opts.quietMs ?? 500;
  let got: ReadMessage[] = [];
  let stableSince = Date.now();
  for (;;) {
    const now = readTopicOnce(topic);
    if (now.length !== got.length) stableSince = Date.now();
    got = now;
    if ((got.length >= opts.expected && Date.now() - stableSince >= quiet) || Date.now() > deadline) return got;
    await new Promise((r) => setTimeout(r, Math.min(quiet, 200)));
  }
}

function readTopicOnce(topic: string): ReadMessage[] {
  const r = spawnSync('kcat', ['-C', '-b', BROKER, '-t', topic, '-o', 'beginning', '-e', '-q', '-J'], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    timeout: 60_000,
  });
  if (r.error) throw new Error(`kcat: ${r.error.message} (tests read topics with kcat: apt-get install kcat)`);
  // A topic that does not exist (yet) reads as empty.
  if (r.status !== 0 && !/Unknown topic/.test(r.stderr)) throw new Error(`kcat -C ${topic} failed: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const m = JSON.parse(line) as { key: string | null; payload: string; headers?: string[]; offset: number; partition: number };
      const headers: Record<string, string> = {};
      for (let i = 0; m.headers && i < m.headers.length; i += 2) headers[m.headers[i]!] = m.headers[i + 1]!;
      return { key: m.key, value: m.payload, headers, offset: String(m.offset), partition: m.partition };
    });
}

/** Sequence numbers of messages (event.sequence of their JSON value). */
export function sequences(msgs: readonly ReadMessage[]): number[] {
  return msgs.map((m) => (JSON.parse(m.value) as { event: { sequence: number } }).event.sequence);
}

/**
 * Transpiles the kafka sink and every project file it imports, transitively, to JavaScript under
 * .kafka/tsbuild (ignored), so a child `node` process can use the sink as the agent would, whether
 * or not dist/ is up to date. Returns the path of sink.js.
 */
export async function buildSinkForChild(): Promise<string> {
  const ts = (await import('typescript')).default;
  const outRoot = path.join(ROOT, '.kafka', 'tsbuild');
  const pending = ['plugins/sinks/kafka/sink.ts'];
  const done = new Set<string>();
  while (pending.length > 0) {
    const rel = pending.pop()!;
    if (done.has(rel)) continue;
    done.add(rel);
    const src = readFileSync(path.join(ROOT, rel), 'utf8');
    for (const m of src.matchAll(/(?:from |import\()\s*'(\.{1,2}\/[^']+)\.js'/g)) {
      pending.push(path.posix.join(path.posix.dirname(rel), `${m[1]}.ts`));
    }
    const out = ts.transpileModule(src, {
      compilerOptions: {
        module: ts.ModuleKind.ES2022,
        target: ts.ScriptTarget.ES2022,
        experimentalDecorators: true,
        emitDecoratorMetadata: true,
      },
      fileName: rel,
    }).outputText;
    const dest = path.join(outRoot, rel.replace(/\.ts$/, '.js'));
    mkdirSync(path.dirname(dest), { recursive: true });
    writeFileSync(dest, out);
  }
  writeFileSync(path.join(outRoot, 'package.json'), '{"type":"module"}\n');
  return path.join(outRoot, 'plugins/sinks/kafka/sink.js');
}

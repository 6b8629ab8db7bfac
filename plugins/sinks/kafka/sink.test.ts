/**
 * The kafka sink against a real broker (scripts/kafka-local.sh: Apache Kafka 4.x, KRaft, 127.0.0.1:$KAFKA_PORT,
 * SASL on $KAFKA_SASL_PORT). Events are read back with kcat (librdkafka), a client that is not ours.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SinkError } from '../../../src/core/errors.js';
import {
  BROKER,
  SASL_BROKER,
  SASL_PASSWORD,
  SASL_USER,
  SSL_BROKER,
  TLS_DIR,
  UNREACHABLE,
  brokerKill,
  brokerPause,
  brokerResume,
  brokerStart,
  buildSinkForChild,
  captureLogger,
  ensureKafka,
  makeEvent,
  makeEvents,
  readTopic,
  sequences,
  tempDir,
  uniqueTopic,
} from '../../../test/helpers/kafka.js';
import type { KafkaSinkOptions } from './index.js';
import { KafkaSink } from './sink.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));

function sink(options: Record<string, unknown>, id = 'kafka-test') {
  const cap = captureLogger();
  const s = new KafkaSink(
    {
      brokers: [BROKER],
      spool: { path: tempDir() },
      dead_letter: { path: path.join(tempDir(), 'dead.ndjson') },
      batch: { linger: '5ms' },
      retry: { initial: '100ms', max: '1s' },
      ...options,
    } as KafkaSinkOptions,
    cap.logger,
    { id, type: 'kafka' },
  );
  return { s, cap };
}

async function waitFor(cond: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(() => ensureKafka(), 300_000);
afterAll(() => ensureKafka(), 120_000); // leave the broker running for the next file


/** testdata/spool-child.mjs with the sink built for it; `spooled` follows what it reports. */
function spawnSpoolingChild(sinkJs: string, options: Record<string, unknown>, env: Record<string, string>) {
  const child = spawn(process.execPath, [path.join(HERE, 'testdata/spool-child.mjs'), sinkJs], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, CHILD_OPTIONS: JSON.stringify(options), ...env },
  });
  const tracked = Object.assign(child, { spooled: 0 });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    const m = out.match(/spooled (\d+)\n/g);
    if (m) tracked.spooled = Number(m[m.length - 1]!.match(/\d+/)![0]);
  });
  return tracked;
}

describe('kafka sink: roundtrip', () => {
  for (const compression of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
    // Twice, by two sink instances one after the other: a config reload opens the sinks again, and
    // the second instance must not disturb the codec the first one loaded.
    it.each([1, 2])(`delivers every event with key and headers (compression ${compression}, instance %i)`, async () => {
      const base = uniqueTopic(`rt-${compression}`);
      const { s } = sink({
        topic: `${base}.{{event.dataset}}`,
        compression,
        headers: { dataset: '{{event.dataset}}', seq: '{{event.sequence}}', fixed: 'netagent' },
      });
      await s.open();
      const tcp = makeEvents(1, 3000, 'tcp.socket');
      const udp = makeEvents(3001, 200, 'udp.socket');
      await s.write(tcp.slice(0, 1500));
      await s.write(udp);
      await s.write(tcp.slice(1500));
      await waitFor(() => s.stats().delivered === 3200, 20_000, 'delivery');
      await s.close();
      const st = s.stats();
      expect(st).toMatchObject({ delivered: 3200, dropped: 0, duplicates: 0, queue_depth: 0, spool_bytes: 0 });
      for (const [ds, evs] of [['tcp.socket', tcp], ['udp.socket', udp]] as const) {
        const msgs = await readTopic(`${base}.${ds}`, { expected: evs.length });
        expect(msgs.map((m) => m.value)).toEqual(evs.map((e) => e.line));
        for (const m of msgs) {
          const seq = (JSON.parse(m.value) as { event: { sequence: number } }).event.sequence;
          expect(m.key).toBe('edge-42');
          expect(m.headers).toEqual({ dataset: ds, seq: String(seq), fixed: 'netagent' });
        }
      }
    });
  }

  it('keys by template, no key when key is empty, idempotent producer with acks all', async () => {
    const t1 = uniqueTopic('key');
    const { s } = sink({ topic: t1, key: '{{source.ip}}:{{source.port}}', idempotent: true });
    await s.open();
    await s.write(makeEvents(1, 50));
    await waitFor(() => s.stats().delivered === 50);
    await s.close();
    const msgs = await readTopic(t1, { expected: 50 });
    expect(msgs.map((m) => m.key)).toEqual(makeEvents(1, 50).map((e) => `127.0.0.1:${e.field('source.port')}`));

    const t2 = uniqueTopic('nokey');
    const { s: s2 } = sink({ topic: t2, key: '' });
    await s2.open();
    await s2.write(makeEvents(1, 10));
    await waitFor(() => s2.stats().delivered === 10);
    await s2.close();
    expect((await readTopic(t2, { expected: 10 })).every((m) => m.key === null)).toBe(true);
  });

  for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
    it(`authenticates with SASL ${mechanism} (password from env or file)`, async () => {
      const topic = uniqueTopic(`sasl-${mechanism}`);
      let sasl: Record<string, string>;
      if (mechanism === 'plain') {
        const f = path.join(tempDir(), 'pw');
        writeFileSync(f, `${SASL_PASSWORD}\n`);
        sasl = { mechanism, username: SASL_USER, password_file: f };
      } else {
        process.env.NETAGENT_TEST_KAFKA_PW = SASL_PASSWORD;
        sasl = { mechanism, username: SASL_USER, password_env: 'NETAGENT_TEST_KAFKA_PW' };
      }
      const { s, cap } = sink({ brokers: [SASL_BROKER], topic, sasl });
      await s.open();
      await s.write(makeEvents(1, 20));
      await waitFor(() => s.stats().delivered === 20);
      await s.close();
      expect(sequences(await readTopic(topic, { expected: 20 }))).toEqual([...Array(20).keys()].map((i) => i + 1));
      expect(cap.text()).not.toContain(SASL_PASSWORD);
    });
  }

  it('connects with mutual TLS (CA, client certificate and key from files); without a client certificate: a clear error', async () => {
    const topic = uniqueTopic('tls');
    const ssl = { enabled: true, ca: path.join(TLS_DIR, 'ca.pem'), cert: path.join(TLS_DIR, 'client.pem'), key: path.join(TLS_DIR, 'client.key') };
    const { s } = sink({ brokers: [SSL_BROKER], topic, ssl });
    await s.open();
    await s.write(makeEvents(1, 20));
    await waitFor(() => s.stats().delivered === 20);
    await s.close();
    expect(sequences(await readTopic(topic, { expected: 20 }))).toEqual([...Array(20).keys()].map((i) => i + 1));

    const { s: s2 } = sink({ brokers: [SSL_BROKER], topic, ssl: { enabled: true, ca: ssl.ca }, close_timeout: '100ms' });
    await s2.open();
    await s2.write(makeEvents(21, 2));
    await waitFor(() => s2.stats().last_error !== null, 15_000, 'an error');
    expect(String(s2.stats().last_error)).toContain(`cannot connect to ${SSL_BROKER}`);
    expect(s2.stats()).toMatchObject({ connected: false, queue_depth: 2 });
    await s2.close();

    const { s: s3 } = sink({ brokers: [SSL_BROKER], topic, ssl: { enabled: true, ca: '/nonexistent/ca.pem' } });
    const err = await s3.open().then(() => null, (e: unknown) => e);
    expect(String((err as Error)?.message)).toMatch(/ssl\.ca: cannot read \/nonexistent\/ca\.pem/);
  });
});

describe('kafka sink: failures', () => {
  it('wrong credentials: a clear error, no crash, events stay spooled', async () => {
    const topic = uniqueTopic('badauth');
    const { s, cap } = sink({
      brokers: [SASL_BROKER],
      topic,
      sasl: { mechanism: 'scram-sha-512', username: SASL_USER, password: 'wrong-password' },
      close_timeout: '200ms',
    });
    await s.open();
    await s.write(makeEvents(1, 5));
    await waitFor(() => s.stats().last_error !== null, 15_000, 'an error');
    const st = s.stats();
    expect(st.connected).toBe(false);
    expect(st.queue_depth).toBe(5);
    expect(String(st.last_error)).toMatch(/authentication failed .*scram-sha-512, user netagent/i);
    await s.write(makeEvents(6, 5)); // still accepts
    await s.close();
    expect(cap.text()).toMatch(/authentication failed/);
    expect(cap.text()).not.toContain('wrong-password');
  });

  it('unreachable broker: a clear error, no crash; a missing password source fails open()', async () => {
    const { s } = sink({ brokers: [UNREACHABLE], close_timeout: '100ms' });
    await s.open();
    await s.write(makeEvents(1, 3));
    await waitFor(() => s.stats().last_error !== null, 10_000, 'an error');
    expect(String(s.stats().last_error)).toMatch(/cannot connect to 127\.0\.0\.1:1: .*ECONNREFUSED/);
    expect(s.stats()).toMatchObject({ connected: false, queue_depth: 3, delivered: 0 });
    const t0 = Date.now();
    await s.close();
    expect(Date.now() - t0).toBeLessThan(5_000);

    const { s: s2 } = sink({ sasl: { mechanism: 'plain', username: 'u', password_env: 'NETAGENT_TEST_UNSET_VAR' } });
    const err = await s2.open().then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(SinkError);
    expect(String((err as Error).message)).toMatch(/NETAGENT_TEST_UNSET_VAR is not set/);
  });

  it('missing topic with create_topics false: reported clearly, delivered once it exists', async () => {
    const topic = uniqueTopic('missing');
    const { s } = sink({ topic, create_topics: false });
    await s.open();
    await s.write(makeEvents(1, 4));
    await waitFor(() => s.stats().last_error !== null, 10_000, 'an error');
    expect(String(s.stats().last_error)).toContain(`topic "${topic}" does not exist and create_topics is false`);
    const { Kafka, logLevel } = await import('kafkajs');
    const admin = new Kafka({ brokers: [BROKER], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic }] });
    await admin.disconnect();
    await waitFor(() => s.stats().delivered === 4, 20_000, 'delivery');
    await s.close();
    expect(sequences(await readTopic(topic, { expected: 4 }))).toEqual([1, 2, 3, 4]);
  });

  it('a topic Kafka refuses (a.x.y collides with a.x_y) is dead-lettered; every other topic keeps flowing', async () => {
    const base = uniqueTopic('collide');
    const { s, cap } = sink({ topic: `${base}.{{labels.t}}` });
    await s.open();
    const ev = (seq: number, t: string) => makeEvent(seq, 'tcp.socket', { labels: { t } });
    await s.write([ev(1, 'a.x_y'), ev(2, 'ok')]);
    await waitFor(() => s.stats().delivered === 2, 20_000, 'the first topics');
    // Kafka folds "." and "_" together in metric names: a.x.y cannot exist beside a.x_y.
    await s.write([ev(3, 'a.x.y'), ev(4, 'ok'), ev(5, 'a.x_y'), ev(6, 'a.x.y'), ev(7, 'ok')]);
    await waitFor(() => s.stats().queue_depth === 0, 20_000, 'the spool to empty');
    expect(s.stats()).toMatchObject({ delivered: 5, rejected: 2 });
    expect(sequences(await readTopic(`${base}.ok`, { expected: 3 }))).toEqual([2, 4, 7]);
    expect(sequences(await readTopic(`${base}.a.x_y`, { expected: 2 }))).toEqual([1, 5]);
    const file = String(s.stats().dead_letter_file);
    await s.close();
    const letters = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(letters.map((l) => [l.destination, l.error.type, l.event.event.sequence])).toEqual([
      [`${base}.a.x.y`, 'INVALID_TOPIC_EXCEPTION', 3],
      [`${base}.a.x.y`, 'INVALID_TOPIC_EXCEPTION', 6],
    ]);
    expect(cap.text()).toMatch(/refused to create topic/);
  });

  it('a batch larger than the broker accepts is split; an event too large on its own is dropped and counted', async () => {
    const topic = uniqueTopic('too-large');
    const { s, cap } = sink({ topic, compression: 'none', batch: { max_events: 5000, max_bytes: '16MiB', linger: '200ms' } });
    await s.open();
    await s.write(makeEvents(1, 2500)); // ~1.3 MB uncompressed: over the broker's 1 MiB
    await s.write([makeEvent(2501, 'tcp.socket', { blob: 'x'.repeat(1_200_000) })]);
    await s.write(makeEvents(2502, 10));
    await waitFor(() => s.stats().queue_depth === 0, 30_000, 'the spool to empty');
    await s.close();
    expect(s.stats()).toMatchObject({ delivered: 2510, dropped: 1 });
    expect(String(s.stats().last_error)).toMatch(/larger than the broker accepts/);
    expect(cap.text()).toMatch(/sending smaller batches/);
    // Nothing twice: batches behind the refused one that Kafka took are not sent again.
    const got = sequences(await readTopic(topic, { expected: 2510 }));
    expect(got.sort((a, b) => a - b)).toEqual([...Array(2511).keys()].map((i) => i + 1).filter((i) => i !== 2501));
    expect(s.stats().duplicates).toBe(0);
  });

  it('batches in flight behind a refused one are not sent again once Kafka took them', async () => {
    const topic = uniqueTopic('too-large-inflight');
    const { s } = sink({ topic, compression: 'none', max_in_flight: 4, batch: { max_events: 10, max_bytes: '16MiB', linger: '300ms' } });
    await s.open();
    // Batch 1: 10 × 120 KB, over the broker's 1 MiB; batches 2-4 small, in flight beside it.
    await s.write([...Array(10).keys()].map((i) => makeEvent(i + 1, 'tcp.socket', { blob: 'x'.repeat(120_000) })));
    await s.write(makeEvents(11, 30));
    await waitFor(() => s.stats().queue_depth === 0, 30_000, 'the spool to empty');
    await s.close();
    const got = sequences(await readTopic(topic, { expected: 40 }));
    expect(got.sort((a, b) => a - b)).toEqual([...Array(40).keys()].map((i) => i + 1));
    expect(s.stats()).toMatchObject({ delivered: 40, duplicates: 0, dropped: 0 });
  });

  it('a spool on a 4 MB volume carries ten times that to a healthy broker: disk comes back as Kafka acknowledges', async () => {
    if (process.getuid?.() !== 0) throw new Error('this test mounts a 4 MB tmpfs and needs root');
    const vol = tempDir();
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', vol]);
    try {
      const topic = uniqueTopic('small-disk');
      const { s } = sink({ topic, compression: 'lz4', spool: { path: path.join(vol, 'spool') } });
      await s.open();
      const events = 80_000; // ~40 MB of event lines
      for (let i = 1; i <= events; i += 1000) await s.write(makeEvents(i, 1000));
      await waitFor(() => s.stats().delivered === events, 120_000, 'delivery');
      expect(s.stats()).toMatchObject({ dropped: 0, last_error: null });
      await s.close();
      expect(new Set(sequences(await readTopic(topic, { expected: events }))).size).toBe(events);
    } finally {
      execFileSync('umount', [vol]);
    }
  }, 180_000);

  it('spool full: drop_newest and drop_oldest count drops and keep the right events; block fails retriably', async () => {
    const one = Buffer.byteLength(makeEvent(1).line) + 60;
    for (const policy of ['drop_newest', 'drop_oldest'] as const) {
      const dir = tempDir();
      const topic = uniqueTopic(policy);
      const { s } = sink({ brokers: [UNREACHABLE], topic, spool: { path: dir, max_size: one * 50, when_full: policy }, close_timeout: '50ms' });
      await s.open();
      for (let i = 0; i < 10; i++) await s.write(makeEvents(1 + i * 10, 10));
      const st = s.stats();
      expect(Number(st.dropped)).toBeGreaterThan(0);
      expect(Number(st.queue_depth) + Number(st.dropped)).toBe(100);
      await s.close();
      // deliver what was kept with a reachable broker: the spool survives the instance
      const { s: s2 } = sink({ topic, spool: { path: dir } });
      await s2.open();
      const kept = Number(st.queue_depth);
      await waitFor(() => s2.stats().delivered === kept, 20_000, 'delivery');
      await s2.close();
      const got = sequences(await readTopic(topic, { expected: kept }));
      const all = [...Array(100).keys()].map((i) => i + 1);
      expect(got).toEqual(policy === 'drop_newest' ? all.slice(0, kept) : all.slice(100 - kept));
    }
    const { s } = sink({ brokers: [UNREACHABLE], spool: { path: tempDir(), max_size: one * 20, when_full: 'block', block_timeout: '300ms' }, close_timeout: '50ms' });
    await s.open();
    await s.write(makeEvents(1, 15));
    const err = await s.write(makeEvents(16, 15)).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(SinkError);
    expect((err as SinkError).retriable).toBe(true);
    expect((err as Error).message).toMatch(/spool full .*when_full=block/);
    expect(s.stats()).toMatchObject({ dropped: 0, queue_depth: 15 });
    await s.close();
  });
});

describe('kafka sink: outages', () => {
  it('broker down at start is a state: events spool, and arrive once the broker is up', async () => {
    const topic = uniqueTopic('down-at-start');
    brokerKill();
    try {
      const { s } = sink({ topic });
      await s.open();
      await s.write(makeEvents(1, 100));
      await waitFor(() => s.stats().last_error !== null, 10_000, 'an error');
      expect(s.stats()).toMatchObject({ connected: false, queue_depth: 100, delivered: 0 });
      brokerStart();
      await waitFor(() => s.stats().delivered === 100, 60_000, 'delivery after the broker came up');
      expect(s.stats().connected).toBe(true);
      await s.write(makeEvents(101, 20));
      await waitFor(() => s.stats().delivered === 120, 20_000, 'delivery');
      await s.close();
      expect(sequences(await readTopic(topic, { expected: 120 }))).toEqual([...Array(120).keys()].map((i) => i + 1));
    } finally {
      brokerStart();
    }
  }, 120_000);

  /** Writes until some are delivered, runs `outage` while writing on, then reads the topic back. */
  async function throughOutage(s: KafkaSink, topic: string, outage: () => Promise<void>) {
    await s.open();
    let seq = 1;
    let stopWriting = false;
    const writer = (async () => {
      while (!stopWriting) {
        await s.write(makeEvents(seq, 50));
        seq += 50;
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    try {
      await waitFor(() => Number(s.stats().delivered) > 1000, 20_000, 'some delivery');
      await outage();
      await new Promise((r) => setTimeout(r, 1_000));
    } finally {
      stopWriting = true;
      await writer;
      brokerStart();
    }
    const total = seq - 1;
    await waitFor(() => s.stats().delivered === total, 60_000, 'all delivered');
    await s.close();
    const got = sequences(await readTopic(topic, { expected: total, timeoutMs: 60_000, quietMs: 1_000 }));
    const unique = new Set(got);
    expect(unique.size).toBe(total);
    return { total, duplicates: got.length - unique.size, stats: s.stats() };
  }

  const brokerKilledFor3s = async (s: KafkaSink) => {
    brokerKill();
    await new Promise((r) => setTimeout(r, 3_000));
    expect(s.stats().connected).toBe(false);
    brokerStart();
  };

  /**
   * The broker stops answering with a produce request in flight; the request times out (the sink's
   * timeouts.request is 1s) and the sink gives the batch back; then the broker resumes and writes the
   * request it had already received. So the batch is in the topic although the sink saw no ack.
   */
  const ackLost = async (s: KafkaSink) => {
    brokerPause();
    try {
      await waitFor(() => s.stats().connected === false, 10_000, 'the request to time out');
    } finally {
      brokerResume();
    }
  };

  it('broker SIGKILLed mid-stream and restarted: everything arrives, duplicates counted', async () => {
    const topic = uniqueTopic('broker-kill');
    const { s } = sink({ topic, batch: { max_events: 200, linger: '5ms' } });
    const r = await throughOutage(s, topic, () => brokerKilledFor3s(s));
    expect(Number(r.stats.duplicates)).toBeGreaterThanOrEqual(r.duplicates);
    expect(r.stats.dropped).toBe(0);
    console.log(`broker-kill: ${r.total} events, ${r.duplicates} duplicates in the topic, ${r.stats.duplicates} counted as possible`);
  }, 180_000);

  it('an acknowledgement lost: the batch is sent again, and is twice in the topic (counted)', async () => {
    const topic = uniqueTopic('ack-lost');
    const { s } = sink({ topic, max_in_flight: 1, timeouts: { request: '1s' }, batch: { max_events: 200, linger: '5ms' } });
    const r = await throughOutage(s, topic, () => ackLost(s));
    // What the idempotent case below must avoid: proof that this outage does duplicate a batch.
    expect(r.duplicates).toBeGreaterThan(0);
    expect(Number(r.stats.duplicates)).toBeGreaterThanOrEqual(r.duplicates);
  }, 180_000);

  it('idempotent: an acknowledgement lost, or the broker SIGKILLed: every event exactly once', async () => {
    for (const [name, outage] of [
      ['ack-lost', ackLost],
      ['broker-kill', brokerKilledFor3s],
    ] as const) {
      const topic = uniqueTopic(`idem-${name}`);
      const { s } = sink({ topic, idempotent: true, timeouts: { request: '1s' }, batch: { max_events: 200, linger: '5ms' } });
      const r = await throughOutage(s, topic, () => outage(s));
      expect(r.duplicates, name).toBe(0);
      expect(r.stats.dropped).toBe(0);
      console.log(`idempotent, ${name}: ${r.total} events, ${r.stats.duplicates} re-sent, none twice in the topic`);
    }
  }, 180_000);

  it('agent SIGKILLed with a spool: the spooled events arrive after restart, exactly as written', async () => {
    const sinkJs = await buildSinkForChild();
    const dir = tempDir();
    const topic = uniqueTopic('agent-kill');
    const child = spawnSpoolingChild(sinkJs, { brokers: [UNREACHABLE], topic, spool: { path: dir } }, { CHILD_EVENTS: '2000' });
    await waitFor(() => child.spooled >= 2000, 30_000, 'the child to spool its events');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    const { s } = sink({ topic, spool: { path: dir } });
    await s.open();
    expect(s.stats().queue_depth).toBe(2000);
    await waitFor(() => s.stats().delivered === 2000, 30_000, 'delivery of the spool');
    await s.close();
    const msgs = await readTopic(topic, { expected: 2000 });
    expect(msgs.map((m) => m.value)).toEqual(makeEvents(1, 2000).map((e) => e.line));
    expect(msgs.every((m) => m.key === 'edge-42')).toBe(true);
  }, 90_000);

  it('agent SIGKILLed while delivering: every event the child had spooled arrives', async () => {
    const sinkJs = await buildSinkForChild();
    const dir = tempDir();
    const topic = uniqueTopic('agent-kill-live');
    const child = spawnSpoolingChild(
      sinkJs,
      { brokers: [BROKER], topic, spool: { path: dir }, batch: { max_events: 100, linger: '1ms' } },
      { CHILD_EVENTS: '1000000', CHILD_PACE_MS: '2' },
    );
    await waitFor(() => child.spooled >= 5000, 30_000, 'the child to get going');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const written = child.spooled; // at least this many were durably spooled before the kill

    const { s } = sink({ topic, spool: { path: dir } });
    await s.open();
    await waitFor(() => s.stats().queue_depth === 0, 30_000, 'delivery of the spool');
    await s.close();
    const got = sequences(await readTopic(topic, { expected: written, quietMs: 1_000 }));
    const unique = new Set(got);
    for (let i = 1; i <= written; i++) if (!unique.has(i)) throw new Error(`event ${i} lost`);
    expect(got.length - unique.size).toBeLessThanOrEqual(Number(s.stats().duplicates));
  }, 90_000);
});

/**
 * The agent end to end through a real broker: every collector each second into Kafka and a file
 * sink (the ground truth), the broker SIGKILLed for ten seconds and started again, SIGTERM to the
 * agent. Every event of the file must then be in the topic, read back with kcat (a client that is
 * not ours), as valid JSON and keyed by host.name. Needs Java + Maven (broker), kcat, root.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exited, startNetagent, tempDir, waitFor, writeConfig } from './helpers/cli.js';
import { BROKER, brokerKill, brokerStart, ensureKafka, uniqueTopic } from './helpers/kafka.js';

function requireKcat(): void {
  if (spawnSync('kcat', ['-V']).error) throw new Error('this test reads the topic with kcat (apt-get install kcat)');
}

function lines(path: string): Record<string, any>[] {
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

describe('agent → kafka through a broker outage', () => {
  beforeAll(() => {
    requireKcat();
    ensureKafka();
  });
  afterAll(() => brokerStart());

  it('delivers every event of the file sink to the topic, keyed, after the broker was down for 10 s', async () => {
    const dir = tempDir();
    const truth = join(dir, 'events.ndjson');
    const topic = uniqueTopic('e2e');
    const collectors = ['tcp', 'udp', 'unix', 'iface', 'route', 'snmp', 'igmp'].map((t) => `  - {type: ${t}, interval: 1s}`).join('\n');
    const config = writeConfig(
      dir,
      `agent: {state_dir: ${dir}/state, stats_interval: 1s, shutdown_timeout: 10s}\ncollectors:\n${collectors}\nsinks:\n` +
        `  - {type: file, options: {path: ${truth}, max_size: 1GB}}\n` +
        `  - type: kafka\n    options:\n      brokers: ["${BROKER}"]\n      topic: "${topic}"\n      spool: {path: ${dir}/spool}\n      close_timeout: 8s\n`,
    );
    const agent = startNetagent(['run', '-c', config]);
    const kafkaStats = () => {
      if (!existsSync(truth)) return undefined;
      const stats = lines(truth).filter((e) => e.event.dataset === 'agent.stats');
      return stats[stats.length - 1]?.netagent.sinks.kafka;
    };
    await waitFor(() => (kafkaStats()?.delivered ?? 0) > 0, 30_000, 'first delivery to kafka');
    brokerKill();
    await new Promise((r) => setTimeout(r, 10_000));
    expect(kafkaStats()?.connected).toBe(false);
    brokerStart();
    const before = lines(truth).length;
    await waitFor(() => lines(truth).length > before + 50 && kafkaStats()?.connected === true && kafkaStats()?.queue_depth === 0, 60_000, 'spool drained after restart');
    agent.kill('SIGTERM');
    expect((await exited(agent)).code).toBe(0);

    const written = lines(truth);
    const consumed = execFileSync('kcat', ['-C', '-b', BROKER, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%k\\t%s\\n'], {
      encoding: 'utf8',
      maxBuffer: 1 << 30,
    })
      .split('\n')
      .filter(Boolean);
    const bySequence = new Map<number, Record<string, any>>();
    for (const row of consumed) {
      const tab = row.indexOf('\t');
      const [key, value] = [row.slice(0, tab), row.slice(tab + 1)];
      const event = JSON.parse(value);
      expect(key).toBe(event.host.name);
      bySequence.set(event.event.sequence, event);
    }
    const missing = written.filter((e) => !bySequence.has(e.event.sequence));
    expect(missing.map((e) => `${e.event.sequence} ${e.event.dataset}`)).toEqual([]);
    for (const e of written) expect(bySequence.get(e.event.sequence)).toEqual(e);
    const datasets = new Set(written.map((e) => e.event.dataset));
    for (const d of ['tcp.socket', 'unix.socket', 'iface.stats', 'route.entry', 'snmp.counters', 'agent.stats']) expect(datasets).toContain(d);
  }, 180_000);
});

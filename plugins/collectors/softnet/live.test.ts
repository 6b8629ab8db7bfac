/**
 * The softnet collector on this machine's /proc/net/softnet_stat (global, not per namespace: no
 * namespace is needed), against the file read just before and just after: per CPU, every counter
 * between the two readings, the CPU ids the file's own column gives, the total their sum.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SelfProcFs } from '../../../src/core/procfs.js';
import { collectOnce } from '../../../test/helpers/collect.js';
import { silentLogger } from '../../../test/helpers/view-procfs.js';
import { SoftnetCollector } from './collector.js';

/** The file's lines as numbers per column (each `%08x`). */
const readFile = () =>
  readFileSync('/proc/net/softnet_stat', 'utf8').trim().split('\n').map((l) => l.trim().split(/ +/).map((h) => parseInt(h, 16)));

describe('softnet collector on this host', () => {
  it('equals /proc/net/softnet_stat between a reading before and one after', async () => {
    const before = readFile();
    const { events, malformed } = await collectOnce(new SoftnetCollector({ per_cpu: true, total: true }, new SelfProcFs('/proc'), silentLogger()));
    const after = readFile();
    expect(malformed).toEqual([]);
    const width = before[0]!.length;
    expect(width).toBeGreaterThanOrEqual(9);
    const cpus = events.slice(0, -1).map((e) => e.fields.softnet as Record<string, number>);
    expect(cpus.length).toBe(before.length);
    const columns: Record<string, number> = { processed: 0, dropped: 1, time_squeeze: 2 };
    if (width >= 10) columns.received_rps = 9;
    if (width >= 11) columns.flow_limit_count = 10;
    cpus.forEach((s, i) => {
      expect(s.cpu).toBe(width >= 13 ? before[i]![12] : i);
      for (const [name, c] of Object.entries(columns)) {
        expect(s[name]! >= before[i]![c]! && s[name]! <= after[i]![c]!, `cpu ${s.cpu} ${name}`).toBe(true);
      }
    });
    const total = events.at(-1)!.fields.softnet as Record<string, number>;
    expect(total.cpus).toBe(cpus.length);
    for (const name of Object.keys(columns)) expect(total[name]).toBe(cpus.reduce((n, s) => n + s[name]!, 0));
  });
});

/**
 * softnet_stat as the kernels wrote it: 9 columns (2.6.23), 10 (2.6.32, RPS), 11 (4.19, flow
 * limit), 13 (5.15: backlog and CPU id, here with CPU 2 offline), 15 (this host: input and process
 * queues), and odd lines (a wider future layout, a non-hex value, a cut line). The expectations
 * are read from the files column by column, per the kernel's own format strings.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { collectOnce } from '../../../test/helpers/collect.js';
import { fixtureProcFs, silentLogger } from '../../../test/helpers/view-procfs.js';
import { SoftnetCollector } from './collector.js';
import { parseSoftnet } from './parse-softnet.js';

const td = (f: string) => fileURLToPath(new URL(`./testdata/${f}`, import.meta.url));
const text = (f: string) => readFileSync(td(f), 'utf8');
/** Column i (0-based) of each line, as the number its `%08x` prints. */
const column = (f: string, i: number) => text(f).trim().split('\n').map((l) => parseInt(l.trim().split(/ +/)[i]!, 16));

describe('softnet_stat of every kernel layout', () => {
  const cases: [file: string, width: number, counters: Record<string, number>, gauges: Record<string, number>][] = [
    ['softnet_stat-2.6.23', 9, { processed: 0, dropped: 1, time_squeeze: 2, cpu_collision: 8 }, {}],
    ['softnet_stat-2.6.32', 10, { processed: 0, dropped: 1, time_squeeze: 2, cpu_collision: 8, received_rps: 9 }, {}],
    ['softnet_stat-4.19', 11, { processed: 0, dropped: 1, time_squeeze: 2, cpu_collision: 8, received_rps: 9, flow_limit_count: 10 }, {}],
    ['softnet_stat-5.15', 13, { processed: 0, dropped: 1, time_squeeze: 2, received_rps: 9, flow_limit_count: 10 }, { backlog_len: 11 }],
    ['softnet_stat-6.18', 15, { processed: 0, dropped: 1, time_squeeze: 2, received_rps: 9, flow_limit_count: 10 }, { backlog_len: 11, input_qlen: 13, process_qlen: 14 }],
  ];
  for (const [file, width, counters, gauges] of cases) {
    it(`${file}: ${width} columns, named for that kernel`, () => {
      const p = parseSoftnet(text(file));
      expect(p.malformed.count).toBe(0);
      expect(p.width).toBe(width);
      expect(p.unknownColumns).toBe(0);
      expect(p.rows.length).toBe(text(file).trim().split('\n').length);
      for (const [name, i] of Object.entries(counters)) expect(p.rows.map((r) => Object.fromEntries(r.counters)[name]), name).toEqual(column(file, i));
      for (const [name, i] of Object.entries(gauges)) expect(p.rows.map((r) => Object.fromEntries(r.gauges)[name]), name).toEqual(column(file, i));
      expect(p.rows.every((r) => r.counters.length === Object.keys(counters).length && r.gauges.length === Object.keys(gauges).length)).toBe(true);
      // the cpu column where the kernel writes one, else the line's position
      expect(p.rows.map((r) => r.cpu)).toEqual(width >= 13 ? column(file, 12) : p.rows.map((_, i) => i));
    });
  }

  it('an offline CPU leaves a gap in the ids of a 5.10+ file', () => {
    expect(parseSoftnet(text('softnet_stat-5.15')).rows.map((r) => r.cpu)).toEqual([0, 1, 3]);
  });

  it('odd lines: a wider layout is read as the widest known and its extra columns counted; bad lines skipped', () => {
    const p = parseSoftnet(text('softnet_stat-odd'));
    expect(p.malformed.count).toBe(2);
    expect(p.malformed.example).toContain('0000zz00');
    expect(p.width).toBe(16);
    expect(p.unknownColumns).toBe(2);
    expect(p.rows.map((r) => r.cpu)).toEqual([0, 1]);
    expect(Object.fromEntries(p.rows[1]!.counters)).toMatchObject({ processed: 0xa9b3c, dropped: 3 });
  });
});

describe('softnet collector', () => {
  const ctxFile = (dir: string, body: string) => writeFileSync(join(dir, 'net', 'softnet_stat'), body);
  const line = (processed: number, dropped: number, cpu: number) =>
    [processed, dropped, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, cpu, 1, 0].map((v) => v.toString(16).padStart(8, '0')).join(' ');
  type Softnet = { cpu?: number; cpus?: number; processed: number; dropped: number; backlog_len?: number; interval_ms?: number; delta?: Record<string, number>; rate?: Record<string, number> };
  const softnets = (events: { fields: Record<string, unknown> }[]) => events.map((e) => e.fields.softnet as Softnet);

  it('per CPU and in total: values, then changes and rates; a u32 wrap is a change, not a reset', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'softnet-'));
    (await import('node:fs')).mkdirSync(join(dir, 'net'));
    const c = new SoftnetCollector({ per_cpu: true, total: true }, fixtureProcFs(dir), silentLogger());
    ctxFile(dir, `${line(100, 1, 0)}\n${line(0xfffffff0, 0, 1)}\n`);
    const first = softnets((await collectOnce(c, 0)).events);
    expect(first.map((s) => s.cpu)).toEqual([0, 1, undefined]);
    expect(first[2]).toMatchObject({ cpus: 2, processed: 100 + 0xfffffff0, dropped: 1, backlog_len: 2 });
    expect(first.every((s) => s.delta === undefined)).toBe(true);

    ctxFile(dir, `${line(160, 4, 0)}\n${line(0x10, 0, 1)}\n`);
    const second = softnets((await collectOnce(c, 2000)).events);
    expect(second[0]).toMatchObject({ cpu: 0, interval_ms: 2000, delta: { processed: 60, dropped: 3 }, rate: { processed: 30, dropped: 1.5 } });
    expect(second[1]!.delta!.processed).toBe(0x20); // 0xfffffff0 → 0x10 wrapped
    expect(second[2]).toMatchObject({ cpus: 2, interval_ms: 2000, delta: { processed: 60 + 0x20, dropped: 3 }, rate: { processed: 46 } });
    expect(second[2]).not.toHaveProperty('cpu');
  });

  it('per_cpu: false, total: false; a missing file is no data; bad lines reach ctx.malformed with the full path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'softnet-'));
    const none = await collectOnce(new SoftnetCollector({ per_cpu: true, total: true }, fixtureProcFs(dir), silentLogger()));
    expect(none).toEqual({ events: [], malformed: [] });
    (await import('node:fs')).mkdirSync(join(dir, 'net'));
    writeFileSync(join(dir, 'net', 'softnet_stat'), text('softnet_stat-odd'));
    const totalOnly = await collectOnce(new SoftnetCollector({ per_cpu: false, total: true }, fixtureProcFs(dir), silentLogger()));
    expect(softnets(totalOnly.events)).toEqual([expect.objectContaining({ cpus: 2 })]);
    expect(totalOnly.malformed).toEqual([{ source: `${dir}/net/softnet_stat`, count: 2, example: expect.stringContaining('0000zz00') }]);
    const cpusOnly = await collectOnce(new SoftnetCollector({ per_cpu: true, total: false }, fixtureProcFs(dir), silentLogger()));
    expect(softnets(cpusOnly.events).map((s) => s.cpu)).toEqual([0, 1]);
  });
});

/**
 * The conntrack parsers on a capture of a namespace (read while `conntrack -L` and `-S` were run
 * there: their output is the oracle), on the statistics headers of older kernels (4.19: searched
 * … delete_list; 3.10: no search_restart), and on entries as other hosts print them (NAT, GRE,
 * SCTP, an unknown protocol, ICMPv6, hardware offload with secctx, zone-orig and delta-time, a cut
 * line).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { collectOnce } from '../../../test/helpers/collect.js';
import { fixtureProcFs, silentLogger } from '../../../test/helpers/view-procfs.js';
import { ConntrackCollector, entryFields } from './collector.js';
import { asConntrackLine, conntrackList, conntrackStats, type Entry } from './oracle.test-util.js';
import { natKind, parseConntrackLine, parseConntrackStat } from './parse-conntrack.js';

const td = (f: string) => fileURLToPath(new URL(`./testdata/${f}`, import.meta.url));
const text = (f: string) => readFileSync(td(f), 'utf8');
const lines = (f: string) => text(f).split('\n').filter((l) => l.trim() !== '');

describe('conntrack parsers on the capture', () => {
  it('entries equal conntrack -L, IPv6 addresses as inet_ntop prints them', () => {
    const entries = lines('capture/nf_conntrack').map(parseConntrackLine);
    expect(entries.every((e) => e !== null)).toBe(true);
    const tool = conntrackList(text('capture/conntrack-L.txt'));
    expect(tool.length).toBe(3);
    expect(entries.map((e) => asConntrackLine(entryFields(e!) as unknown as Entry)).sort()).toEqual(tool.sort());
  });

  it('statistics equal conntrack -S per CPU; entries is the table size', () => {
    const stat = parseConntrackStat(text('capture/stat-nf_conntrack'));
    expect(stat.malformed.count).toBe(0);
    expect(stat.count).toBe(lines('capture/nf_conntrack').length);
    const tool = conntrackStats(text('capture/conntrack-S.txt'));
    expect(stat.cpus.length).toBe(tool.length);
    stat.cpus.forEach((row, i) => {
      const ours = Object.fromEntries(row);
      for (const [k, v] of Object.entries(tool[i]!)) expect(ours[k], `cpu ${i} ${k}`).toBe(v);
    });
    expect(stat.columns).toEqual(['clashres', 'found', 'new', 'invalid', 'ignore', 'delete', 'chainlength', 'insert', 'insert_failed', 'drop', 'early_drop', 'icmp_error', 'expect_new', 'expect_create', 'expect_delete', 'search_restart']);
  });
});

describe('conntrack statistics of older kernels: columns as their header names them', () => {
  for (const [file, columns] of [['stat-nf_conntrack-4.19', 16], ['stat-nf_conntrack-3.10', 15]] as const) {
    it(file, () => {
      const stat = parseConntrackStat(text(file));
      expect(stat.malformed.count).toBe(0);
      const header = lines(file)[0]!.trim().split(/ +/);
      expect(stat.columns).toEqual(header.slice(1));
      expect(stat.columns).toHaveLength(columns);
      expect(stat.count).toBe(parseInt(lines(file)[1]!.trim().split(/ +/)[0]!, 16));
      lines(file).slice(1).forEach((l, i) => {
        const hex = l.trim().split(/ +/);
        expect(stat.cpus[i]!.map(([, v]) => v)).toEqual(hex.slice(1).map((h) => parseInt(h, 16)));
      });
    });
  }

  it('a line of another width, or a value that is not hex, is skipped and counted', () => {
    const stat = parseConntrackStat(`${text('stat-nf_conntrack-3.10')}00000001 00000002\n0000zz00${' 00000000'.repeat(15)}\n`);
    expect(stat.malformed.count).toBe(2);
    expect(stat.cpus).toHaveLength(2);
  });
});

describe('conntrack entries as other hosts print them', () => {
  const parsed = lines('nf_conntrack-other-hosts').map((l) => ({ line: l, e: parseConntrackLine(l) }));
  const at = (i: number) => parsed[i]!.e!;

  it('source and destination NAT, as netstat -M tells masqueraded connections', () => {
    expect(natKind(at(0))).toBe('snat');
    expect(at(0).reply.destination).toEqual({ ip: '203.0.113.5', port: 51000 });
    expect(natKind(at(1))).toBe('dnat');
    expect(at(1).mark).toBe(7);
    expect(natKind(at(2))).toBeNull();
  });

  it('GRE keys and its timeouts, SCTP state, an unknown protocol without ports, ICMPv6 ids', () => {
    expect(at(2)).toMatchObject({ transport: 'gre', protocol: 47, original: { gre: { source_key: 0, destination_key: 0 } }, other: { timeout: '180,', stream_timeout: '18000' } });
    expect(at(2).state).toBeUndefined();
    expect(at(3)).toMatchObject({ transport: 'sctp', protocol: 132, state: 'ESTABLISHED', original: { source: { port: 36412 } } });
    expect(at(4)).toMatchObject({ transport: 'unknown', protocol: 41, original: { source: { ip: '10.2.0.1' }, destination: { ip: '10.2.0.2' } } });
    expect(at(4).original.source.port).toBeUndefined();
    expect(at(5)).toMatchObject({ family: 'ipv6', transport: 'icmpv6', original: { source: { ip: '2001:db8::1' }, icmp: { type: 128, code: 0, id: 7 } }, reply: { icmp: { type: 129 } } });
  });

  it('hardware offload, secctx, a per-direction zone and the age', () => {
    expect(at(6)).toMatchObject({ flags: ['HW_OFFLOAD'], secctx: 'system_u:object_r:unlabeled_t:s0', age: 42, other: { 'zone-orig': '1' }, timeout: 86398 });
    expect(entryFields(at(6))).toMatchObject({ conntrack: { flags: ['HW_OFFLOAD'], age_s: 42, secctx: 'system_u:object_r:unlabeled_t:s0' } });
  });

  it('a cut line and a line that is no entry are not parsed', () => {
    expect(parsed.slice(7).map((p) => p.e)).toEqual([null, null]);
  });

  it('the collector lists them, reports the two bad lines with the full path, and notes a missing module as no data', async () => {
    const { mkdtempSync, mkdirSync, copyFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'conntrack-'));
    const opts = { per_cpu: false, entries: 'list' as const, max_entries: 100 };
    expect(await collectOnce(new ConntrackCollector(opts, fixtureProcFs(dir), silentLogger()))).toEqual({ events: [], malformed: [] });
    mkdirSync(join(dir, 'stat'));
    copyFileSync(td('stat-nf_conntrack-4.19'), join(dir, 'stat', 'nf_conntrack'));
    copyFileSync(td('nf_conntrack-other-hosts'), join(dir, 'nf_conntrack'));
    const { events, malformed } = await collectOnce(new ConntrackCollector(opts, fixtureProcFs(dir), silentLogger()));
    expect(events.filter((e) => e.dataset === 'conntrack.entry')).toHaveLength(7);
    expect(malformed).toEqual([{ source: `${dir}/fixture/net/nf_conntrack`, count: 2, example: lines('nf_conntrack-other-hosts')[7] }]);
    const stats = events.at(-1)!.fields.conntrack as Record<string, unknown>;
    expect(stats).toMatchObject({ count: 0xa3f1, cpus: 4, entries_read: 7, entries_truncated: false });
    expect((stats.stats as Record<string, number>).search_restart).toBe(0x11 + 0xe + 0x13 + 0xc);
  });
});

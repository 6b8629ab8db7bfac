/** The unix collector over the captured namespace, netstat -xa's text as the oracle; bad input. */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { optionsWithDefaults } from '../../../src/collect/options-defaults.js';
import { SocketOwners } from '../../../src/core/socket-owners.js';
import { SelfProcFs } from '../../../src/core/procfs.js';
import { collectOnce } from '../../../test/helpers/collect.js';
import { parseNetstatUnix, unixEventRow, type UnixToolRow } from '../../../test/helpers/netstat-oracle.js';
import { UnixCollector } from './collector.js';
import { unixCollector } from './index.js';

const data = fileURLToPath(new URL('./testdata/netns-basic/', import.meta.url));
const logger = pino({ level: 'silent' });

function collector(options: Record<string, unknown> = {}, root = data) {
  return new UnixCollector(optionsWithDefaults(unixCollector.options, options), new SelfProcFs(root), new SocketOwners(root), logger, {
    id: 'unix',
    type: 'unix',
  });
}

const sorted = (rows: UnixToolRow[]) => [...rows].sort((a, b) => a.inode - b.inode);

/** A proc root whose self/net/unix is `text`. */
function rootWith(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'unix-test-'));
  mkdirSync(join(dir, 'self/net'), { recursive: true });
  writeFileSync(join(dir, 'self/net/unix'), text);
  return dir;
}

describe('unix collector on the netns-basic capture', () => {
  it('gives exactly the rows of netstat -xa (type, state, flags, refcnt, inode, path)', async () => {
    const { events, malformed } = await collectOnce(collector());
    expect(malformed).toEqual([]);
    const expected = parseNetstatUnix(readFileSync(`${data}netstat-xa.txt`, 'utf8'));
    expect(expected.length).toBeGreaterThan(5);
    expect(sorted(events.map((e) => unixEventRow(e.fields)))).toEqual(sorted(expected));
    for (const e of events) expect([e.dataset, e.kind]).toEqual(['unix.socket', 'state']);
  });

  it('filters by state (netstat -xl) and type', async () => {
    const expected = parseNetstatUnix(readFileSync(`${data}netstat-xa.txt`, 'utf8'));
    const listening = await collectOnce(collector({ states: ['LISTENING'] }));
    expect(sorted(listening.events.map((e) => unixEventRow(e.fields)))).toEqual(
      sorted(expected.filter((r) => r.state === 'LISTENING')),
    );
    const unconnected = await collectOnce(collector({ states: ['UNCONNECTED'] }));
    expect(unconnected.events.map((e) => unixEventRow(e.fields))).toEqual(expected.filter((r) => r.state === ''));
    const dgram = await collectOnce(collector({ types: ['DGRAM', 'SEQPACKET'] }));
    expect(dgram.events.length).toBe(expected.filter((r) => r.type === 'DGRAM' || r.type === 'SEQPACKET').length);
  });

  it('skips malformed and truncated lines, counted once per file with an example', async () => {
    const good = readFileSync(`${data}self/net/unix`, 'utf8');
    const lines = good.split('\n');
    const text = [
      lines[0],
      lines[1],
      '0000000012345678: 00000002 zz000000 00010000 0001 01 448999 /bad/hex',
      'garbage',
      lines[2],
      '00000000462f8d61: 00000002 00000000 00010000 0001 01',
      lines[3],
      '00000000462f8d61: 00000002 00000000 00010000 0001 01 4489', // cut short: no newline
    ].join('\n');
    const { events, malformed } = await collectOnce(collector({}, rootWith(text)));
    expect(events.map((e) => (e.fields as any).socket.inode)).toEqual([448934, 448936, 448937]);
    expect(malformed).toHaveLength(1);
    expect(malformed[0]!.count).toBe(4);
    expect(malformed[0]!.source).toMatch(/net\/unix$/);
    expect(malformed[0]!.example).toContain('/bad/hex');
  });

  it('keeps a path with spaces whole and an abstract name with @', async () => {
    const text =
      'Num       RefCount Protocol Flags    Type St Inode Path\n' +
      '0000000000000000: 00000002 00000000 00010000 0001 01 12345 /run/my dir/s.sock\n' +
      '0000000000000000: 00000002 00000000 00000000 0002 01     7 @abs@name\n';
    const { events } = await collectOnce(collector({}, rootWith(text)));
    expect(events.map((e) => (e.fields as any).unix.path)).toEqual(['/run/my dir/s.sock', '@abs@name']);
    expect(events.map((e) => (e.fields as any).socket.inode)).toEqual([12345, 7]);
    expect((events[1]!.fields as any).socket).toMatchObject({ type: 'DGRAM', state: '', flags: [] });
  });

  it('a missing file is no error', async () => {
    expect(await collectOnce(collector({}, '/nonexistent'))).toEqual({ events: [], malformed: [] });
  });
});

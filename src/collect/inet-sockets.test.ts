/** The /proc/net/{tcp,udp} byte parser: fields, malformed and truncated lines. Address texts: inet-address.test.ts. */
import { describe, expect, it } from 'vitest';
import { procAddressText } from './inet-address.js';
import {
  countInetStates,
  newInetRow,
  NEXT,
  PAUSE_AFTER,
  PAUSE_BEFORE,
  parseInetLines,
  type InetRow,
} from './inet-sockets.js';

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const L1 = '   0: 0100007F:1F90 0100007F:E42A 01 00000010:000003E8 02:000001F4 00000003  1000        2 448920 1 00000000acbb2157 20 4 32 10 -1\n';
const L2 = '   1: 00000000:1538 00000000:0000 0A 00000000:00000002 00:00000000 00000000     0        0 448916 2 00000000fe28da63 100 0 0 10 0\n';
const V6 = '   0: 0000000000000000FFFF00000100007F:2328 B80D0120000000000000000001000000:99E4 01 00000000:00000000 00:00000000 00000000     0        0 7 1 0000000013fbbc05 100 0 0 10 0\n';

type NetlinkOnly = 'backlogMax' | 'attrs' | 'infoAt' | 'infoLen' | 'congAt' | 'congLen';

function parse(text: string, v6 = false) {
  const rows: (Omit<InetRow, 'local' | 'remote' | NetlinkOnly> & { localIp: string; remoteIp: string })[] = [];
  const bad: string[] = [];
  const buf = Buffer.from(text, 'latin1');
  const end = parseInetLines(buf, 0, { v6, stateMask: null }, newInetRow(), (r) => {
    const { local, remote, backlogMax, attrs, infoAt, infoLen, congAt, congLen, ...rest } = r;
    // What only the netlink source fills stays at "none".
    expect({ backlogMax, attrs: attrs.length, infoAt, infoLen, congAt, congLen }).toEqual({ backlogMax: -1, attrs: 0, infoAt: 0, infoLen: 0, congAt: 0, congLen: 0 });
    rows.push({ ...rest, localIp: procAddressText(local, v6), remoteIp: procAddressText(remote, v6) });
    return NEXT;
  }, (s, e) => bad.push(buf.toString('latin1', s, e)));
  expect(end).toBe(buf.length);
  return { rows, bad };
}

describe('parseInetLines', () => {
  it('decodes every field of a line', () => {
    const { rows, bad } = parse(HEADER + L1 + L2);
    expect(bad).toEqual([]);
    expect(rows[0]).toEqual({
      localIp: '127.0.0.1', localPort: 8080, remoteIp: '127.0.0.1', remotePort: 58410, state: 1,
      txQueue: 16, rxQueue: 1000, timer: 2, timerTicks: 500, retransmits: 3, uid: 1000, probes: 2, inode: 448920,
    });
    expect(rows[1]).toMatchObject({ localIp: '0.0.0.0', localPort: 5432, remoteIp: '0.0.0.0', remotePort: 0, state: 10, rxQueue: 2 });
  });

  it('decodes IPv6 words, v4-mapped as netstat prints it', () => {
    const { rows } = parse(V6, true);
    expect(rows[0]).toMatchObject({ localIp: '127.0.0.1', localPort: 9000, remoteIp: '2001:db8::1', remotePort: 39396 });
  });

  it('skips malformed and truncated lines, reporting each', () => {
    const cut = L1.slice(0, 60); // no newline at the end: a truncated read
    const text =
      HEADER + L1 + 'garbage line\n' + L1.replace('0100007F:1F90', '0100007G:1F90') + '\n' +
      L1.slice(0, L1.indexOf(' 448920')) + '\n' + // cut before the inode
      L1.slice(0, L1.indexOf(' 1 00000000acbb')) + '\n' + // nothing after the inode
      L2 + cut;
    const { rows, bad } = parse(text);
    expect(rows.map((r) => r.inode)).toEqual([448920, 448916]);
    expect(bad).toHaveLength(5);
    expect(bad[4]).toBe(cut);
  });

  it('pauses after or before a row and resumes where asked', () => {
    const buf = Buffer.from(HEADER + L1 + L2, 'latin1');
    const o = { v6: false, stateMask: null };
    const seen: number[] = [];
    let calls = 0;
    const onRow = (r: InetRow) => {
      calls++;
      if (calls === 1) return PAUSE_BEFORE;
      seen.push(r.inode);
      return calls === 2 ? PAUSE_AFTER : NEXT;
    };
    let pos = parseInetLines(buf, 0, o, newInetRow(), onRow, () => {});
    expect(pos).toBe(HEADER.length);
    pos = parseInetLines(buf, pos, o, newInetRow(), onRow, () => {});
    expect(pos).toBe(HEADER.length + L1.length);
    pos = parseInetLines(buf, pos, o, newInetRow(), onRow, () => {});
    expect(pos).toBe(buf.length);
    expect(seen).toEqual([448920, 448916]);
  });

  it('applies the state mask before decoding addresses', () => {
    const mask = new Uint8Array(256);
    mask[10] = 1;
    const rows: number[] = [];
    parseInetLines(Buffer.from(HEADER + L1 + L2), 0, { v6: false, stateMask: mask }, newInetRow(), (r) => {
      rows.push(r.state);
      return NEXT;
    }, () => {});
    expect(rows).toEqual([10]);
  });
});

describe('countInetStates', () => {
  it('counts states with the same line acceptance as the full parser', () => {
    const text = HEADER + L1 + L2 + L2 + 'garbage\n' + L1.slice(0, 40) + '\n' + L1.slice(0, 70);
    const counts = new Float64Array(256);
    const bad: number[] = [];
    countInetStates(Buffer.from(text), false, counts, (s) => bad.push(s));
    expect(counts[1]).toBe(1);
    expect(counts[10]).toBe(2);
    expect(bad).toHaveLength(3);
    const { rows } = parse(text);
    expect(rows).toHaveLength(3);
  });
  it('counts IPv6 lines', () => {
    const counts = new Float64Array(256);
    countInetStates(Buffer.from(V6 + V6), true, counts, () => {
      throw new Error('bad');
    });
    expect(counts[1]).toBe(2);
  });
});

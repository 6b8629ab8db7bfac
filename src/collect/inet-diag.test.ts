/**
 * The sock_diag parser on captured dumps (plugins/collectors/tcp/testdata/netlink-zoo: the
 * received messages of one namespace's tcp, tcp6, udp and udp6 dumps, TCP with TCP_INFO and the
 * congestion name, each beside the /proc file read right after it and what `ss -tinH`,
 * `ss -tlnH` and `netstat -tanuW` printed then; made by scripts/capture-sock-diag.mjs on x86_64).
 * /proc's parser and the tools are the oracles. The bytes are in the capturing host's byte order:
 * on a big-endian host these tests fail, as they should (the parser reads host order).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseNetstatInet } from '../../test/helpers/netstat-oracle.js';
import { parseSsInfo, SS_COMPARED, tcpInfoMismatches, type SsInfoRow } from '../../test/helpers/ss-oracle.js';
import { procAddressText } from './inet-address.js';
import {
  ALL_STATES,
  AF_INET6,
  countInetDiagStates,
  inetDiagRequest,
  parseInetDiag,
  readDumpEnd,
  stateBits,
  type DumpEnd,
} from './inet-diag.js';
import { JsonBytes } from '../core/json-bytes.js';
import { TCP_INFO_FIELDS, tcpInfoObject, writeTcpInfo } from './tcp-info.js';
import { NEXT, PAUSE_AFTER, PAUSE_BEFORE, newInetRow, parseInetLines, stateName, type InetRow } from './inet-sockets.js';

const data = fileURLToPath(new URL('../../plugins/collectors/tcp/testdata/netlink-zoo/', import.meta.url));
const bytes = (name: string) => readFileSync(`${data}${name}`);
const text = (name: string) => readFileSync(`${data}${name}`, 'utf8');

interface Parsed {
  row: Omit<InetRow, 'local' | 'remote' | 'attrs'> & { local: number[]; remote: number[] };
  local: string;
  peer: string;
  info?: Record<string, number | string>;
}

function copy(r: InetRow, v6: boolean): Parsed {
  const { local, remote, attrs: _attrs, ...rest } = r;
  const words = v6 ? 4 : 1;
  const text = (w: Uint32Array, port: number) => `${procAddressText(w, v6)}:${port === 0 ? '*' : port}`;
  return {
    row: { ...rest, local: [...local.subarray(0, words)], remote: [...remote.subarray(0, words)] },
    local: text(local, r.localPort),
    peer: text(remote, r.remotePort),
    ...(r.infoLen + r.congLen > 0 ? { info: tcpInfoObject(r.attrs, r.infoAt, r.infoLen, r.congAt, r.congLen) } : {}),
  };
}

function parseDump(name: string, v6: boolean): { rows: Parsed[]; bad: number } {
  const buf = bytes(`${name}.bin`);
  const rows: Parsed[] = [];
  let bad = 0;
  const row = newInetRow();
  parseInetDiag(buf, 0, buf.length, { stateMask: null }, row, (r) => (rows.push(copy(r, v6)), NEXT), () => bad++);
  return { rows, bad };
}

function parseProc(name: string, v6: boolean): Parsed[] {
  const buf = bytes(`self/net/${name}`);
  const rows: Parsed[] = [];
  parseInetLines(buf, 0, { v6, stateMask: null }, newInetRow(), (r) => (rows.push(copy(r, v6)), NEXT), () => {
    throw new Error('malformed /proc line');
  });
  return rows;
}

const key = (p: Parsed) => `${p.local} ${p.peer} ${stateName(p.row.state)}`;
const TABLES = [
  ['tcp', false],
  ['tcp6', true],
  ['udp', false],
  ['udp6', true],
] as const;

describe('parseInetDiag on captured dumps', () => {
  for (const [name, v6] of TABLES) {
    it(`${name}: the rows /proc/net/${name} showed right after, field for field (timer countdowns aside)`, () => {
      const { rows, bad } = parseDump(name, v6);
      expect(bad).toBe(0);
      const proc = new Map(parseProc(name, v6).map((p) => [key(p), p]));
      expect(rows.length).toBe(proc.size);
      expect(rows.length).toBeGreaterThan({ tcp: 40, tcp6: 10, udp: 4, udp6: 4 }[name]);
      for (const p of rows) {
        const q = proc.get(key(p));
        expect(q, key(p)).toBeDefined();
        const { timerTicks: a, backlogMax: _b, infoAt: _i, infoLen: _il, congAt: _c, congLen: _cl, ...mine } = p.row;
        const { timerTicks: b, backlogMax: _b2, infoAt: _i2, infoLen: _il2, congAt: _c2, congLen: _cl2, ...theirs } = q!.row;
        expect(mine, key(p)).toEqual(theirs);
        // The same countdown, /proc read a moment after the dump, in the same 1/100 s ticks.
        expect(a - b, key(p)).toBeGreaterThanOrEqual(0);
        expect(a - b, key(p)).toBeLessThanOrEqual(100);
      }
    });
  }

  it("a listener's Send-Q is 0 as /proc prints it, its backlog in backlogMax as ss shows it", () => {
    const listeners = [...parseDump('tcp', false).rows, ...parseDump('tcp6', true).rows].filter((p) => stateName(p.row.state) === 'LISTEN');
    const ss = new Map(parseSsInfo(text('ss-tlnH.txt')).map((r) => [r.local, r]));
    expect(listeners.length).toBe(ss.size);
    for (const p of listeners) {
      expect(p.row.txQueue).toBe(0);
      expect(p.row.backlogMax, p.local).toBe(ss.get(p.local)!.sendQ);
      expect(p.row.rxQueue, p.local).toBe(ss.get(p.local)!.recvQ);
    }
    const others = parseDump('tcp', false).rows.filter((p) => stateName(p.row.state) !== 'LISTEN');
    for (const p of others) expect(p.row.backlogMax).toBe(-1);
  });

  it('counts what netstat -tanuW listed per table and state', () => {
    const netstat = parseNetstatInet(text('netstat-tanuW.txt'));
    for (const [name] of TABLES) {
      const counts = new Float64Array(256);
      const buf = bytes(`${name}.bin`);
      countInetDiagStates(buf, buf.length, counts, () => {
        throw new Error('malformed');
      });
      const got: Record<string, number> = {};
      counts.forEach((c, n) => {
        if (c > 0) got[name.startsWith('udp') && n === 7 ? '' : stateName(n)] = c;
      });
      const want: Record<string, number> = {};
      for (const r of netstat.filter((x) => x.proto === name)) want[r.state] = (want[r.state] ?? 0) + 1;
      expect(got, name).toEqual(want);
    }
  });
});

describe('TCP_INFO of captured dumps against ss -tainH of the same moment', () => {
  const rows = [...parseDump('tcp', false).rows, ...parseDump('tcp6', true).rows];
  const ss = new Map<string, SsInfoRow>(parseSsInfo(text('ss-tainH.txt')).map((r) => [`${r.local} ${r.peer}`, r]));
  const withInfo = rows.filter((p) => p.info !== undefined);

  it('every full socket has TCP_INFO and the algorithm; TIME_WAIT and request sockets have none', () => {
    expect(withInfo.length).toBeGreaterThan(40);
    for (const p of rows) {
      const full = !['TIME_WAIT', 'SYN_RECV'].includes(stateName(p.row.state)) && !(p.row.inode === 0 && p.row.uid === 0 && p.row.timer === 3);
      expect(p.info !== undefined, key(p)).toBe(full);
    }
  });

  it('covers every tcp.info field', () => {
    expect(SS_COMPARED.sort()).toEqual(TCP_INFO_FIELDS.map((f) => f.name).filter((n) => n !== 'retransmits').sort());
  });

  it('equals ss on every value of an idle connection, as ss prints it (it leaves out zeros)', () => {
    for (const p of withInfo) {
      const s = ss.get(`${p.local} ${p.peer}`);
      expect(s, key(p)).toBeDefined();
      expect(tcpInfoMismatches(p.info!, s!), key(p)).toEqual([]);
    }
    expect(withInfo.some((p) => p.info!.ssthresh === undefined)).toBe(true);
  });
});

describe('writeTcpInfo', () => {
  it('writes exactly what tcpInfoObject reads, for every captured socket', () => {
    const out = new JsonBytes();
    let written = 0;
    for (const name of ['tcp', 'tcp6']) {
      const buf = bytes(`${name}.bin`);
      parseInetDiag(buf, 0, buf.length, { stateMask: null }, newInetRow(), (r) => {
        if (r.infoLen + r.congLen === 0) return NEXT;
        out.reset();
        writeTcpInfo(out, r.attrs, r.infoAt, r.infoLen, r.congAt, r.congLen);
        const json = JSON.parse(`{${out.bytes.toString('utf8', 1, out.length)}}`);
        expect(json).toEqual({ tcp: { info: tcpInfoObject(r.attrs, r.infoAt, r.infoLen, r.congAt, r.congLen) } });
        written++;
        return NEXT;
      }, () => {});
    }
    expect(written).toBeGreaterThan(40);
  });

  it('leaves out what a shorter (older) tcp_info lacks, and escapes an odd name', () => {
    const info = Buffer.alloc(104);
    info.writeUInt32LE(204000, 8); // rto
    info.writeUInt32LE(10, 80); // cwnd
    const name = Buffer.from('a"b\0');
    const buf = Buffer.concat([info, name]);
    const out = new JsonBytes();
    writeTcpInfo(out, buf, 0, info.length, info.length, 3);
    const json = JSON.parse(`{${out.bytes.toString('utf8', 1, out.length)}}`);
    expect(json.tcp.info.congestion).toBe('a"b');
    expect(json.tcp.info.rto).toBe(204);
    expect(json.tcp.info.cwnd).toBe(10);
    // bytes_acked (offset 120) and later fields are past 104 bytes.
    expect(json.tcp.info.bytes_acked).toBeUndefined();
    expect(json.tcp.info.min_rtt).toBeUndefined();
    expect(json.tcp.info.total_retrans).toBe(0);
    expect(Object.keys(json.tcp.info)).toEqual(Object.keys(tcpInfoObject(buf, 0, info.length, info.length, 3)));
  });
});

describe('parseInetDiag on damaged input', () => {
  const good = bytes('tcp.bin');
  const firstLen = good.readUInt32LE(0);

  it('a message cut short is reported, not parsed', () => {
    const cut = good.subarray(0, firstLen - 10);
    const bad: [number, number][] = [];
    let rows = 0;
    parseInetDiag(cut, 0, cut.length, { stateMask: null }, newInetRow(), () => (rows++, NEXT), (s, e) => bad.push([s, e]));
    expect(rows).toBe(0);
    expect(bad).toEqual([[0, cut.length]]);
  });

  it('an attribute running past its message makes the message malformed; the next one still parses', () => {
    const buf = Buffer.from(good);
    // The first attribute after the 16-byte header and the 72-byte inet_diag_msg.
    buf.writeUInt16LE(0x7fff, 16 + 72);
    const bad: [number, number][] = [];
    let rows = 0;
    parseInetDiag(buf, 0, buf.length, { stateMask: null }, newInetRow(), () => (rows++, NEXT), (s, e) => bad.push([s, e]));
    expect(bad).toEqual([[0, firstLen]]);
    expect(rows).toBe(parseDump('tcp', false).rows.length - 1);
  });

  it('a message shorter than inet_diag_msg, or of no inet family, is malformed', () => {
    const buf = Buffer.from(good.subarray(0, firstLen));
    buf[16] = 1; // AF_UNIX
    const bad: number[] = [];
    parseInetDiag(buf, 0, buf.length, { stateMask: null }, newInetRow(), () => NEXT, (s) => bad.push(s));
    const short = Buffer.from(good.subarray(0, 16 + 40));
    short.writeUInt32LE(short.length, 0);
    parseInetDiag(short, 0, short.length, { stateMask: null }, newInetRow(), () => NEXT, (s) => bad.push(s));
    expect(bad).toEqual([0, 0]);
  });

  it('pauses before or after a row and resumes where it said', () => {
    const seen: number[] = [];
    let calls = 0;
    const onRow = (r: InetRow) => {
      calls++;
      if (calls === 2) return PAUSE_BEFORE;
      seen.push(r.localPort);
      return calls === 4 ? PAUSE_AFTER : NEXT;
    };
    const row = newInetRow();
    let pos = 0;
    let steps = 0;
    while (pos < good.length) {
      pos = parseInetDiag(good, pos, good.length, { stateMask: null }, row, onRow, () => {
        throw new Error('malformed');
      });
      steps++;
    }
    expect(steps).toBe(3);
    expect(seen).toEqual(parseDump('tcp', false).rows.map((p) => p.row.localPort));
  });
});

describe('the dump request and its end', () => {
  it('asks for one family, protocol, state set and attribute set', () => {
    const req = inetDiagRequest(AF_INET6, 6, stateBits([10]), 2 | 8, 77);
    expect(req.length).toBe(72);
    expect(req.readUInt32LE(0)).toBe(72);
    expect(req.readUInt16LE(4)).toBe(20); // SOCK_DIAG_BY_FAMILY
    expect(req.readUInt16LE(6)).toBe(0x301); // NLM_F_REQUEST | NLM_F_DUMP
    expect(req.readUInt32LE(8)).toBe(77);
    expect([req[16], req[17], req[18]]).toEqual([10, 6, 10]);
    expect(req.readUInt32LE(20)).toBe(1 << 10);
    expect(req.subarray(24).every((b) => b === 0)).toBe(true);
    expect(stateBits([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]) | 1).toBe(ALL_STATES);
  });

  it('finds NLMSG_DONE and the errno of NLMSG_ERROR or a failed DONE', () => {
    const end: DumpEnd = { done: false, error: 0, end: 0 };
    const msg = (type: number, errno: number) => {
      const b = Buffer.alloc(20);
      b.writeUInt32LE(20, 0);
      b.writeUInt16LE(type, 4);
      b.writeInt32LE(errno, 16);
      return b;
    };
    const first = good();
    expect(readDumpEnd(first, 0, first.length, end)).toEqual({ done: false, error: 0, end: first.length });
    const withDone = Buffer.concat([first, msg(3, 0)]);
    expect(readDumpEnd(withDone, 0, withDone.length, end)).toEqual({ done: true, error: 0, end: first.length });
    expect(readDumpEnd(msg(2, -95), 0, 20, end)).toEqual({ done: true, error: -95, end: 0 });
    expect(readDumpEnd(msg(3, -1), 0, 20, end)).toEqual({ done: true, error: -1, end: 0 });
    function good() {
      const b = bytes('udp.bin');
      return b.subarray(0, b.readUInt32LE(0));
    }
  });
});

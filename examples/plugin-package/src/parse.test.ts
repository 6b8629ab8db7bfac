import { describe, expect, it } from 'vitest';
import { parseSoftnet } from './parse.js';

// Captured from a 2-CPU 6.x kernel (13 columns) and a 4.x kernel (11 columns).
const NEW = `00035e8a 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000
000474d4 00000002 00000001 00000000 00000000 00000000 00000000 00000000 00000003 00000004 00000005 00000006 00000001 00000000 00000000
`;
const OLD = `0000a1b2 00000000 00000010 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000
`;

describe('parseSoftnet', () => {
  it('reads the hex columns per CPU', () => {
    const { rows, bad } = parseSoftnet(NEW);
    expect(bad).toEqual([]);
    expect(rows).toEqual([
      { cpu: 0, processed: 0x35e8a, dropped: 0, time_squeeze: 0, cpu_collision: 0, received_rps: 0, flow_limit_count: 0, backlog_len: 0 },
      { cpu: 1, processed: 0x474d4, dropped: 2, time_squeeze: 1, cpu_collision: 3, received_rps: 4, flow_limit_count: 5, backlog_len: 6 },
    ]);
  });
  it('older kernels: 11 columns, CPU by position', () => {
    expect(parseSoftnet(OLD).rows).toEqual([
      { cpu: 0, processed: 0xa1b2, dropped: 0, time_squeeze: 16, cpu_collision: 0, received_rps: 0, flow_limit_count: 0 },
    ]);
  });
  it('reports lines it cannot read', () => {
    expect(parseSoftnet('garbage here\n').bad).toEqual(['garbage here']);
  });
});

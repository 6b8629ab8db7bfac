import { describe, expect, it } from 'vitest';
import { formatText } from './text.js';

describe('stdout text format', () => {
  it('shows time, dataset and the fields as key=value, leaving out the envelope', () => {
    const line = JSON.stringify({
      '@timestamp': '2026-01-01T00:00:00.000Z',
      event: { dataset: 'tcp.socket', kind: 'state', sequence: 3 },
      host: { name: 'h' }, agent: { name: 'netagent' }, labels: {},
      source: { ip: '10.0.0.1', port: 22 }, socket: { state: 'LISTEN', flags: ['ACC'] }, unix: { path: 'a b' },
    });
    expect(formatText(line)).toBe('2026-01-01T00:00:00.000Z tcp.socket source.ip=10.0.0.1 source.port=22 socket.state=LISTEN socket.flags=["ACC"] unix.path="a b"');
  });
});

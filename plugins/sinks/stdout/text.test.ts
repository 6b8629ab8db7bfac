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

  it('escapes terminal control characters in values and keys', () => {
    const line = JSON.stringify({
      '@timestamp': '2026-01-01T00:00:00.000Z',
      event: { dataset: 'exec.x', kind: 'state', sequence: 1 },
      title: '\u001b]2;owned\u0007', csi: 'a\u009b2Jb', del: 'x\u007f', list: ['\u001b[31m', '\u0085'], 'k\u001bey': 1,
    });
    const text = formatText(line);
    expect(text).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(text).toBe(
      '2026-01-01T00:00:00.000Z exec.x title="\\u001b]2;owned\\u0007" csi="a\\u009b2Jb" del="x\\u007f" list=["\\u001b[31m","\\u0085"] "k\\u001bey"=1',
    );
  });
});

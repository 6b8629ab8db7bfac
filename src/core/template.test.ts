import { describe, expect, it } from 'vitest';
import { makeEvent } from '../../test/helpers/kafka.js';
import { compileTemplate } from './template.js';

describe('sink templates', () => {
  const e = makeEvent(7, 'tcp.socket', { source: { ip: '10.0.0.1', port: 22 }, socket: { flags: ['ACC'] } });
  it('replaces placeholders by event fields; fallback for missing ones; JSON for objects', () => {
    expect(compileTemplate('netagent.{{event.dataset}}')(e)).toBe('netagent.tcp.socket');
    expect(compileTemplate('{{ source.ip }}:{{source.port}}')(e)).toBe('10.0.0.1:22');
    expect(compileTemplate('{{no.such|none}}-{{no.such}}')(e)).toBe('none-');
    expect(compileTemplate('{{socket.flags}}')(e)).toBe('["ACC"]');
    expect(compileTemplate('constant')(e)).toBe('constant');
  });
  it('rejects a malformed placeholder', () => {
    expect(() => compileTemplate('a.{{event.dataset')).toThrow(/malformed/);
  });
  it('formats the event timestamp for daily or hourly index names', () => {
    const ts = String(e.field('@timestamp'));
    expect(compileTemplate('netagent-{{+yyyy.MM.dd}}')(e)).toBe(`netagent-${ts.slice(0, 4)}.${ts.slice(5, 7)}.${ts.slice(8, 10)}`);
    expect(compileTemplate('h{{+HH}}')(e)).toBe(`h${ts.slice(11, 13)}`);
  });
  it('rejects an unclosed placeholder beside a valid one', () => {
    expect(() => compileTemplate('{{event.dataset}}.{{host.name')).toThrow(/malformed/);
  });
});

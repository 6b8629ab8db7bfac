import { describe, expect, it } from 'vitest';
import { makeEvent } from '../../../test/helpers/kafka.js';
import { compileTemplate, sanitizeTopic } from './template.js';

describe('kafka templates', () => {
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
  it('keeps topic names within what Kafka allows', () => {
    expect(sanitizeTopic('netagent.tcp.socket')).toBe('netagent.tcp.socket');
    expect(sanitizeTopic('a b/c:d')).toBe('a_b_c_d');
    expect(sanitizeTopic('')).toBe('netagent');
    expect(sanitizeTopic('x'.repeat(300))).toHaveLength(249);
  });
});

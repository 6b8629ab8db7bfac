import { describe, expect, it } from 'vitest';
import { sanitizeTopic } from './topic.js';

describe('kafka topic names', () => {
  it('keeps topic names within what Kafka allows', () => {
    expect(sanitizeTopic('netagent.tcp.socket')).toBe('netagent.tcp.socket');
    expect(sanitizeTopic('a b/c:d')).toBe('a_b_c_d');
    expect(sanitizeTopic('')).toBe('netagent');
    expect(sanitizeTopic('x'.repeat(300))).toHaveLength(249);
  });
});

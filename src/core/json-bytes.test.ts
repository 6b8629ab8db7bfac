/** JsonBytes: event fields written as UTF-8 JSON text, and the stamper taking them as bytes. */
import { describe, expect, it } from 'vitest';
import { EventStamper } from './envelope.js';
import { JsonBytes } from './json-bytes.js';

describe('JsonBytes', () => {
  it('writes numbers exactly as JSON.stringify does', () => {
    const out = new JsonBytes();
    const numbers = [0, 7, 10, 99, 100, 65535, 2 ** 32, Number.MAX_SAFE_INTEGER, 0.01, 1.5, 7200.37, -3, -0.5, 1e21, 2 ** 53 + 2, NaN, Infinity];
    const text = (n: number) => {
      out.reset();
      out.number(n);
      return out.bytes.toString('utf8', 0, out.length);
    };
    for (const n of numbers) expect(text(n), String(n)).toBe(JSON.stringify(n));
    for (let i = 0; i < 2000; i++) {
      const n = Math.floor(Math.random() * 2 ** 40) / (i % 3 === 0 ? 100 : 1);
      expect(text(n)).toBe(JSON.stringify(n));
    }
  });

  it('writes thousandths as the exact decimal, which is what JSON.stringify(n / 1000) gives below 2^40', () => {
    const out = new JsonBytes();
    const text = (n: number) => {
      out.reset();
      out.thousandths(n);
      return out.bytes.toString('utf8', 0, out.length);
    };
    /** The decimal n/1000 from its digits, trailing zeros dropped. */
    const exact = (n: number) => {
      const d = String(n).padStart(4, '0');
      const frac = d.slice(-3).replace(/0+$/, '');
      return d.slice(0, -3).replace(/^0+(?=\d)/, '') + (frac ? `.${frac}` : '');
    };
    for (const n of [0, 1, 29, 100, 1000, 1500, 2001, 204000, 999999]) expect(text(n), String(n)).toBe(JSON.stringify(n / 1000));
    for (let i = 0; i < 3000; i++) {
      const n = Math.floor(Math.random() * 2 ** (i % 2 === 0 ? 24 : 40));
      expect(text(n)).toBe(JSON.stringify(n / 1000));
      expect(text(n)).toBe(exact(n));
    }
    expect(text(Number.MAX_SAFE_INTEGER)).toBe(exact(Number.MAX_SAFE_INTEGER));
  });

  it('writes a UTF-8 byte range as the JSON string JSON.stringify gives of its decoded text', () => {
    const out = new JsonBytes();
    const samples = [
      Buffer.from('/run/netagent/srv.sock'),
      Buffer.from('@zoo-abstract@@'),
      Buffer.from('/tmp/with "quotes" and \\ back'),
      Buffer.from('/tmp/💩/ü\tx'),
      Buffer.from([0x2f, 0x74, 0xff, 0xc3, 0x28, 0x01, 0x7f, 0xe2, 0x82]), // invalid UTF-8, controls
      Buffer.alloc(0),
    ];
    for (const path of samples) {
      // Surrounded by other bytes: only [s, e) is the string.
      const src = Buffer.concat([Buffer.from('ab'), path, Buffer.from('"z')]);
      out.reset();
      out.utf8String(src, 2, 2 + path.length);
      expect(out.bytes.toString('utf8', 0, out.length), path.toString('hex')).toBe(JSON.stringify(path.toString('utf8')));
    }
  });

  it('grows without losing what it holds', () => {
    const out = new JsonBytes();
    const piece = Buffer.from('"ü":123,');
    let expected = '';
    for (let i = 0; i < 2000; i++) {
      out.raw(piece);
      out.uint(i);
      expected += `"ü":123,${i}`;
    }
    expect(out.bytes.toString('utf8', 0, out.length)).toBe(expected);
    expect(out.bytes.length).toBeGreaterThan(4096);
  });

  it('gives fields the stamper copies: the writer may be reused right after emit', () => {
    const stamper = new EventStamper({ hostName: 'h', agentVersion: '0', agentId: 'a', ephemeralId: 'e', labels: {} });
    const out = new JsonBytes();
    const events = ['ä', 'b'].map((v, i) => {
      out.reset();
      out.raw(Buffer.from(`"v":"${v}","n":`));
      out.uint(i);
      return stamper.stamp('x.y', 'state', out.fields(), 0).hold();
    });
    out.reset();
    out.raw(Buffer.from('"overwritten":true,"and":"more than before"'));
    expect(events.map((e) => JSON.parse(e.line) as Record<string, unknown>)).toMatchObject([{ v: 'ä', n: 0 }, { v: 'b', n: 1 }]);
    expect(events[0]!.field('v')).toBe('ä');
    expect(events[1]!.bytes.toString()).toBe(events[1]!.line);
  });
});

/** /proc hex addresses to text: the string decoders (route, igmp, iface) and the byte ones (tcp, udp). */
import { isIPv6 } from 'node:net';
import { describe, expect, it } from 'vitest';
import { formatIPv6Groups, hexToIPv4, hexToIPv4Number, hexToIPv6, maskToPrefix, procAddressText } from './inet-address.js';

describe('hexToIPv4', () => {
  it('reads the kernel u32 in host order', () => {
    expect(hexToIPv4('010000E0', true)).toBe('224.0.0.1');
    expect(hexToIPv4('E0000001', false)).toBe('224.0.0.1');
    expect(hexToIPv4('00FFFFFF', true)).toBe('255.255.255.0');
    expect(hexToIPv4('zz', true)).toBeNull();
    expect(hexToIPv4Number('00FFFFFF', true)).toBe(0xffffff00);
  });
  it('gives prefix lengths of contiguous masks only', () => {
    expect(maskToPrefix(0xffffff00)).toBe(24);
    expect(maskToPrefix(0)).toBe(0);
    expect(maskToPrefix(0xffffffff)).toBe(32);
    expect(maskToPrefix(0xff00ff00)).toBeNull();
  });
});

describe('hexToIPv6', () => {
  it('compresses like inet_ntop', () => {
    expect(hexToIPv6('00000000000000000000000000000000')).toBe('::');
    expect(hexToIPv6('00000000000000000000000000000001')).toBe('::1');
    expect(hexToIPv6('20010db8000000000000000000000010')).toBe('2001:db8::10');
    expect(hexToIPv6('fe80000000000000a49145fffe4eb4ce')).toBe('fe80::a491:45ff:fe4e:b4ce');
    expect(hexToIPv6('ff0200000000000000000001ff9de27b')).toBe('ff02::1:ff9d:e27b');
    expect(hexToIPv6('ff000000000000000000000000000000')).toBe('ff00::');
    expect(hexToIPv6('20010db8000000010000000000000000')).toBe('2001:db8:0:1::');
    expect(hexToIPv6('20010db8000100000001000000000001')).toBe('2001:db8:1:0:1::1');
    expect(hexToIPv6('00000000000000000000ffffc0000201')).toBe('::ffff:192.0.2.1');
    expect(hexToIPv6('xyz')).toBeNull();
  });
  it('always yields a valid IPv6 literal', () => {
    for (let n = 0; n < 500; n++) {
      const hex = Array.from({ length: 8 }, () =>
        Math.random() < 0.5 ? '0000' : Math.floor(Math.random() * 65536).toString(16).padStart(4, '0'),
      ).join('');
      expect(isIPv6(hexToIPv6(hex)!)).toBe(true);
    }
  });
});

describe('IPv6 text like inet_ntop', () => {
  const g = (s: string) => s.split(':').map((x) => parseInt(x, 16));
  it.each([
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['fe80:0:0:0:0:0:0:0', 'fe80::'],
    ['0:0:0:0:0:ffff:7f00:1', '::ffff:127.0.0.1'],
    ['0:0:0:0:0:0:a00:1', '::10.0.0.1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
  ])('%s → %s', (groups, text) => {
    expect(formatIPv6Groups(g(groups))).toBe(text);
  });
  it('reads the four native-order words of /proc', () => {
    // fe80::257:ff:fea7:e8ca is the bytes fe80 0000 | 0000 0000 | 0257 00ff | fea7 e8ca, each
    // 4-byte word printed as a little-endian integer.
    expect(procAddressText([0x000080fe, 0x00000000, 0xff005702, 0xcae8a7fe], true)).toBe('fe80::257:ff:fea7:e8ca');
    // netstat shows a v4-mapped address (::ffff:127.0.0.1) of a tcp6 socket as plain IPv4.
    expect(procAddressText([0, 0, 0xffff0000, 0x0100007f], true)).toBe('127.0.0.1');
    expect(procAddressText([0x0100007f], false)).toBe('127.0.0.1');
    expect(procAddressText([0xfffffffe], false)).toBe('254.255.255.255');
  });
});

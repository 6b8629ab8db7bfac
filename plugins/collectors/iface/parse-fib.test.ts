/**
 * IPv4 addresses from fib_trie + route, against `ip -4 -o addr` of the namespace they were
 * captured in (testdata/fib: primary and secondary addresses, a label, a /32, a noprefixroute
 * address, an address on a down interface (vd), one subnet on two interfaces, loopback extras, a
 * UTF-8 name, a longer user route beside a prefix route), and the same tables as kernels before
 * 4.1 (or any with policy rules) print them: Local apart from Main, another table between.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseIpv4Routes } from '../route/parse-route.js';
import { ipAddrs, unplaceable } from './oracle.test-util.js';
import { fibPrefixCount, parseFibTrieLocals, placeIpv4Addresses } from './parse-fib.js';

const text = (f: string) => readFileSync(fileURLToPath(new URL(`./testdata/${f}`, import.meta.url)), 'utf8');

for (const dir of ['fib', 'fib-split']) {
  describe(`IPv4 addresses from testdata/${dir}`, () => {
    const tool = ipAddrs(text(`${dir}/ip-4-o-addr.txt`));
    const fib = parseFibTrieLocals(text(`${dir}/fib_trie`));
    const placed = placeIpv4Addresses(fib, parseIpv4Routes(text(`${dir}/route`)).rows, 'lo');

    it('places every address that has its prefix route exactly as ip -4 -o addr shows it', () => {
      expect(fib.malformed.count).toBe(0);
      const missing = unplaceable(tool, new Set(['vd']));
      expect(missing.size).toBe(5);
      const want = tool.filter((a) => !missing.has(a.ip)).map((a) => `${a.iface} ${a.ip}/${a.len}`);
      expect(placed.rows.map((a) => `${a.iface} ${a.ip}/${a.prefix_length}`).sort()).toEqual(want.sort());
      expect(want).toEqual(expect.arrayContaining(['va 10.51.0.7/24', 'va 10.52.0.1/16', 'lo 127.0.0.9/8', '💩0 10.57.0.1/23']));
      expect(placed.unplaced.sort()).toEqual([...missing].sort());
    });

    it('reads the Local table only: another table\'s LOCAL routes are no addresses of the namespace', () => {
      expect(placed.rows.map((a) => a.ip)).not.toContain('203.0.113.7');
      expect(fib.addresses.length).toBe(tool.length);
    });
  });
}

describe('fib_trie odd lines and fib_triestat', () => {
  it('counts lines that fit no node, leaf or route shape, and keeps the rest', () => {
    const good = text('fib/fib_trie');
    const bad = good.replace('Local:\n', 'Local:\n  |-- 300.1.2.3\n     /32 host LOCAL\n  garbage here\n');
    const fib = parseFibTrieLocals(bad);
    expect(fib.malformed.count).toBe(3);
    expect(fib.addresses).toEqual(parseFibTrieLocals(good).addresses);
  });

  it('without a loopback device name, loopback addresses are unplaced rather than put elsewhere', () => {
    const fib = parseFibTrieLocals(text('fib/fib_trie'));
    const placed = placeIpv4Addresses(fib, parseIpv4Routes(text('fib/route')).rows, null);
    expect(placed.unplaced).toEqual(expect.arrayContaining(['127.0.0.1', '127.0.0.9']));
  });

  it('fib_triestat: the prefixes of every table together', () => {
    expect(fibPrefixCount(text('fib/fib_triestat'))).toBe(
      [...text('fib/fib_triestat').matchAll(/Prefixes:\s+(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0),
    );
    expect(fibPrefixCount(text('fib/fib_triestat'))).toBeGreaterThan(20);
    expect(fibPrefixCount('')).toBeNull();
  });
});

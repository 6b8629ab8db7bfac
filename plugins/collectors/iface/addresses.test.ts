/**
 * IPv4 addresses of iface.stats against `ip -4 -o addr`, in a namespace holding primary and
 * secondary addresses, a label, a /32, a noprefixroute address, interfaces down and without
 * carrier, one subnet on two interfaces, a UTF-8 name:
 * - read through a pid inside it (another namespace: fib_trie + route): every address that has
 *   its prefix route, exactly; the others left out and counted;
 * - read by an agent running inside it (its own namespace: getifaddrs too): every address of an
 *   interface that is up, /32 and noprefixroute ones included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { optionsWithDefaults } from '../../../src/collect/options-defaults.js';
import { BIN, tempDir, writeConfig } from '../../../test/helpers/cli.js';
import { collectOnce } from '../../../test/helpers/collect.js';
import { NetNamespace, requireNetnsTools } from '../../../test/helpers/netns.js';
import { namespaceProcFs, silentLogger } from '../../../test/helpers/view-procfs.js';
import { IfaceCollector } from './collector.js';
import { ifaceCollector } from './index.js';
import { ipAddrs, unplaceable, type IpAddr } from './oracle.test-util.js';

type Itf = { name: string; addresses?: { ip: string; prefix_length: number; scope?: string }[] };

/** `iface ip/len` of every IPv4 address in iface.stats interface objects. */
const v4Of = (itfs: Itf[]) =>
  itfs.flatMap((i) => (i.addresses ?? []).filter((a) => !a.ip.includes(':')).map((a) => `${i.name} ${a.ip}/${a.prefix_length}`)).sort();
const keyed = (addrs: IpAddr[]) => addrs.map((a) => `${a.iface} ${a.ip}/${a.len}`).sort();

/** Interfaces of `ip -o link` whose flags lack UP (down) or LOWER_UP (no carrier: not running). */
function linkStates(out: string): { down: Set<string>; notRunning: Set<string> } {
  const down = new Set<string>();
  const notRunning = new Set<string>();
  for (const line of out.split('\n')) {
    const m = /^\d+: (.+?)(?:@[^:]*)?: <([^>]*)>/.exec(line);
    if (!m) continue;
    const flags = m[2]!.split(',');
    if (!flags.includes('UP')) down.add(m[1]!);
    if (!flags.includes('UP') || !flags.includes('LOWER_UP')) notRunning.add(m[1]!);
  }
  return { down, notRunning };
}

describe('iface IPv4 addresses equal ip -4 -o addr', () => {
  let ns: NetNamespace;
  let pid: string;

  beforeAll(async () => {
    requireNetnsTools(['ip']);
    ns = NetNamespace.create('naaddr');
    const ip = (...a: string[]) => ns.exec('ip', a);
    ip('link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb');
    ip('link', 'add', 'vc', 'type', 'veth', 'peer', 'name', 'vd');
    ip('link', 'add', '💩0', 'type', 'veth', 'peer', 'name', 've');
    for (const i of ['va', 'vb', 'vc', '💩0', 've']) ip('link', 'set', i, 'up');
    ip('addr', 'add', '10.51.0.1/24', 'dev', 'va');
    ip('addr', 'add', '10.51.0.7/24', 'dev', 'va'); // secondary
    ip('addr', 'add', '10.52.0.1/16', 'dev', 'va', 'label', 'va:x');
    ip('addr', 'add', '192.0.2.9/32', 'dev', 'vb');
    ip('addr', 'add', '10.53.0.1/24', 'dev', 'vb', 'noprefixroute');
    ip('addr', 'add', '10.54.0.1/28', 'dev', 'vb');
    ip('addr', 'add', '10.55.0.1/24', 'dev', 'vc'); // up, no carrier (vd is down)
    ip('addr', 'add', '10.56.0.1/24', 'dev', 'vd'); // down
    ip('addr', 'add', '10.57.0.1/23', 'dev', '💩0');
    ip('addr', 'add', '10.58.0.1/24', 'dev', 've');
    ip('addr', 'add', '10.58.0.2/24', 'dev', '💩0'); // the same subnet on two interfaces
    ip('addr', 'add', '127.0.0.9/8', 'dev', 'lo');
    ip('route', 'add', '198.51.100.0/24', 'via', '10.51.0.254');
    pid = await ns.viewPid();
  });
  afterAll(() => ns?.destroy());

  it('through a pid inside it: every address with its prefix route; the rest left out and counted', async () => {
    const c = new IfaceCollector(optionsWithDefaults(ifaceCollector.options, { all: true }) as never, namespaceProcFs(pid), silentLogger());
    const { events, malformed } = await collectOnce(c);
    expect(malformed).toEqual([]);
    const tool = ipAddrs(ns.exec('ip', ['-4', '-o', 'addr']));
    const missing = unplaceable(tool, linkStates(ns.exec('ip', ['-o', 'link'])).down);
    expect([...missing].sort()).toEqual(['10.53.0.1', '10.56.0.1', '10.58.0.1', '10.58.0.2', '192.0.2.9']);
    expect(v4Of(events.map((e) => e.fields.interface as Itf))).toEqual(keyed(tool.filter((a) => !missing.has(a.ip))));
    expect(c.stats()).toEqual({ ipv4_unplaced: missing.size, fib_skipped: 0 });
  });

  it("by an agent inside it (its own namespace): every address of the running interfaces too, /32 and noprefixroute included", () => {
    const dir = tempDir();
    const file = writeConfig(dir, `agent: {state_dir: ${dir}/s}\ncollectors:\n  - {type: iface, options: {all: true}}\nsinks: [{type: stdout}]\n`);
    const out = ns.exec(process.execPath, [BIN, 'once', '-c', file]);
    const itfs = out.split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { interface: Itf }).interface);
    const tool = ipAddrs(ns.exec('ip', ['-4', '-o', 'addr']));
    const { down, notRunning } = linkStates(ns.exec('ip', ['-o', 'link']));
    const missing = unplaceable(tool, down);
    // getifaddrs (libuv) lists running interfaces only; the others keep what fib_trie places
    const lost = tool.filter((a) => missing.has(a.ip) && notRunning.has(a.iface));
    expect(lost.map((a) => a.ip)).toEqual(['10.56.0.1']);
    expect(v4Of(itfs)).toEqual(keyed(tool.filter((a) => !lost.includes(a))));
  });

  it('fib_max_prefixes: a namespace with more routes than that has no IPv4 addresses from /proc, counted', async () => {
    const options = optionsWithDefaults(ifaceCollector.options, { fib_max_prefixes: 5 }) as never;
    const c = new IfaceCollector(options, namespaceProcFs(pid), silentLogger());
    const { events } = await collectOnce(c);
    expect(v4Of(events.map((e) => e.fields.interface as Itf))).toEqual([]);
    expect(c.stats()).toEqual({ ipv4_unplaced: 0, fib_skipped: 1 });
    expect(events.some((e) => ((e.fields.interface as Itf).addresses ?? []).length > 0)).toBe(true); // IPv6 stays
  });
});

import { randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireNetnsTools } from '../../../test/helpers/netns.js';
import { collectOnce } from '../../../test/helpers/collect.js';
import { createTestNet, type TestNet } from '../../../test/helpers/host-testnet.js';
import { namespaceProcFs, silentLogger } from '../../../test/helpers/view-procfs.js';
import { IgmpCollector } from './collector.js';
import { groupKey, netstatGroups } from './oracle.test-util.js';

const joinScript = fileURLToPath(new URL('../../../test/helpers/join-groups.py', import.meta.url));

describe('igmp in a network namespace equals netstat -gn', () => {
  let net: TestNet;
  const joined: [string, string, number][] = [];
  beforeAll(async () => {
    requireNetnsTools(['ip', 'netstat', 'python3']);
    net = await createTestNet('naigmp');
    const r = () => randomInt(1, 255);
    const h = () => randomInt(1, 0xffff).toString(16);
    joined.push(
      [`239.${r()}.${r()}.${r()}`, 'nva', 1],
      [`239.${r()}.${r()}.${r()}`, 'nva', 3], // three sockets: users 3
      [`232.${r()}.${r()}.${r()}`, 'nvb', 2],
      [`ff05::${h()}:${h()}`, 'nva', 2],
      [`ff15::${h()}`, 'nvb', 1],
      [`ff02::${h()}:${h()}`, 'lo', 1],
    );
    await net.ns.spawnReady('python3', [joinScript, JSON.stringify(joined)]);
  });
  afterAll(() => net?.ns.destroy());

  it('every membership with its users count, v4 and v6, none missing, none extra', async () => {
    const c = new IgmpCollector(
      { ipv4: true, ipv6: true, names: false, name_cache_ttl: 3600, include: [], exclude: [] },
      namespaceProcFs(net.pid, { network: { namespace: 'test' } }),
      silentLogger(),
    );
    const { events, malformed } = await collectOnce(c);
    expect(malformed).toEqual([]);
    type Ev = { network: { type: string; namespace: string }; interface: { name: string }; igmp: { group: string; users: number } };
    const ev = events.map((e) => e.fields as unknown as Ev);
    const tool = netstatGroups(net.ns.exec('netstat', ['-gn']));
    expect(ev.map((e) => groupKey({ iface: e.interface.name, users: e.igmp.users, group: e.igmp.group })).sort()).toEqual(
      tool.map(groupKey).sort(),
    );
    // the random groups are there with their socket counts
    for (const [group, iface, users] of joined) {
      expect(ev.filter((e) => e.igmp.group === group && e.interface.name === iface).map((e) => e.igmp.users)).toEqual([users]);
    }
    expect(ev.every((e) => e.network.namespace === 'test')).toBe(true);
  });
});

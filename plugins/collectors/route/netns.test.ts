import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireNetnsTools } from '../../../test/helpers/netns.js';
import { collectOnce } from '../../../test/helpers/collect.js';
import { createTestNet, type TestNet } from '../../../test/helpers/host-testnet.js';
import { namespaceProcFs, silentLogger } from '../../../test/helpers/view-procfs.js';
import { RouteCollector } from './collector.js';
import { netstatRoutes4, netstatRoutes6, routeTuples4, routeTuples6 } from './oracle.test-util.js';

describe('route in a network namespace equals netstat -rn / -rn -A inet6', () => {
  let net: TestNet;
  beforeAll(async () => {
    requireNetnsTools(['ip', 'netstat']);
    net = await createTestNet('naroute');
  });
  afterAll(() => net?.ns.destroy());

  it('every route, none missing, none extra', async () => {
    const c = new RouteCollector({ ipv4: true, ipv6: true, include: [], exclude: [] }, namespaceProcFs(net.pid), silentLogger());
    const { events, malformed } = await collectOnce(c);
    expect(malformed).toEqual([]);
    const v4 = events.filter((e) => (e.fields.network as { type: string }).type === 'ipv4').map((e) => e.fields);
    const v6 = events.filter((e) => (e.fields.network as { type: string }).type === 'ipv6').map((e) => e.fields);

    const tool4 = netstatRoutes4(net.ns.exec('netstat', ['-rn']));
    expect(tool4.some((t) => t.flags.startsWith('!'))).toBe(true); // the reject routes are there
    expect(routeTuples4(v4)).toEqual(tool4.map((t) => `${t.destination} ${t.gateway} ${t.flags} ${t.iface}`).sort());
    // genmask, MSS, window, irtt of non-reject routes too
    const full4 = (r: Record<string, unknown>) => `${String(r.destination).split('/')[0]} ${r.genmask} ${r.mss} ${r.window} ${r.irtt}`;
    expect(v4.map((e) => e.route as Record<string, unknown>).filter((r) => !String(r.flags).startsWith('!')).map(full4).sort()).toEqual(
      tool4.filter((t) => !t.flags.startsWith('!')).map((t) => `${t.destination} ${t.genmask} ${t.mss} ${t.window} ${t.irtt}`).sort(),
    );

    const tool6 = netstatRoutes6(net.ns.exec('netstat', ['-rn', '-A', 'inet6']));
    expect(routeTuples6(v6)).toEqual(tool6.map((t) => `${t.destination} ${t.gateway} ${t.flags} ${t.iface}`).sort());
    const metric6 = (r: Record<string, unknown>, i: unknown) => `${r.destination} ${i} ${r.metric}`;
    expect(v6.map((e) => metric6(e.route as Record<string, unknown>, (e.interface as { name: string }).name)).sort()).toEqual(
      tool6.map((t) => `${t.destination} ${t.iface} ${t.metric}`).sort(),
    );
    expect(v6.some((e) => (e.route as { destination: string }).destination === net.v6.net)).toBe(true);
  });
});

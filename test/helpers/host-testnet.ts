/**
 * A namespace shaped like a small host, for the host collectors' tests: a veth pair with both
 * ends inside, random IPv4 and IPv6 addresses, gateway, host, metric and reject routes.
 */
import { randomInt } from 'node:crypto';
import { NetNamespace } from './netns.js';

export interface TestNet {
  ns: NetNamespace;
  /** A pid inside the namespace, for reading its /proc/<pid>/net view. */
  pid: string;
  v4: { a: string; b: string; gw: string; net: string };
  v6: { a: string; b: string; gw: string; net: string };
}

export async function createTestNet(prefix = 'nahost'): Promise<TestNet> {
  const ns = NetNamespace.create(prefix);
  try {
    const x = randomInt(1, 250);
    const y = randomInt(1, 250);
    const h = randomInt(0x100, 0xffff).toString(16);
    const v4 = { a: `10.${x}.${y}.1`, b: `10.${x}.${y}.2`, gw: `10.${x}.${y}.99`, net: `10.${x}.${y}.0/24` };
    const v6 = { a: `fd00:${h}::1`, b: `fd00:${h}::2`, gw: `fd00:${h}::99`, net: `fd00:${h}::/64` };
    const ip = (...args: string[]) => ns.exec('ip', args);
    ip('link', 'add', 'nva', 'type', 'veth', 'peer', 'name', 'nvb');
    ip('link', 'set', 'nva', 'mtu', String(randomInt(1280, 1500)));
    ip('link', 'set', 'nva', 'up');
    ip('link', 'set', 'nvb', 'up');
    ip('addr', 'add', `${v4.a}/24`, 'dev', 'nva');
    ip('addr', 'add', `${v4.b}/24`, 'dev', 'nvb');
    ip('-6', 'addr', 'add', `${v6.a}/64`, 'dev', 'nva', 'nodad');
    ip('-6', 'addr', 'add', `${v6.b}/64`, 'dev', 'nvb', 'nodad');
    ip('route', 'add', 'default', 'via', v4.gw, 'dev', 'nva');
    ip('route', 'add', `198.51.${randomInt(0, 255)}.0/24`, 'via', v4.gw, 'dev', 'nva', 'metric', String(randomInt(1, 500)));
    ip('route', 'add', `192.0.2.${randomInt(1, 254)}/32`, 'dev', 'nvb');
    ip('route', 'add', 'unreachable', `203.0.113.0/24`);
    ip('route', 'add', 'blackhole', `192.0.2.0/28`);
    ip('-6', 'route', 'add', 'default', 'via', v6.gw, 'dev', 'nva', 'metric', '1024');
    ip('-6', 'route', 'add', `2001:db8:${randomInt(1, 0xffff).toString(16)}::/48`, 'via', v6.gw, 'dev', 'nva', 'metric', String(randomInt(1, 500)));
    ip('-6', 'route', 'add', 'unreachable', '2001:db8:dead::/48');
    const pid = await ns.viewPid();
    return { ns, pid, v4, v6 };
  } catch (err) {
    ns.destroy();
    throw err;
  }
}

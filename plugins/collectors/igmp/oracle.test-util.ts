/** Parser of `netstat -g[n]` output: the oracle of the igmp tests. */
import { tableRows } from '../../../test/helpers/netstat-oracle.js';

export interface NetstatGroup {
  iface: string;
  users: number;
  group: string;
}

export function netstatGroups(out: string): NetstatGroup[] {
  return tableRows(out, '-----', 'netstat -g').map(([iface, users, group]) => ({ iface: iface!, users: Number(users), group: group! }));
}

export const groupKey = (g: { iface: string; users: number; group: string }) => `${g.iface} ${g.users} ${g.group}`;

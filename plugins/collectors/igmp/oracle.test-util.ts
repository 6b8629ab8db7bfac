/** Parser of `netstat -g[n]` output: the oracle of the igmp tests. */
export interface NetstatGroup {
  iface: string;
  users: number;
  group: string;
}

export function netstatGroups(out: string): NetstatGroup[] {
  const lines = out.split('\n');
  const sep = lines.findIndex((l) => l.startsWith('-----'));
  if (sep < 0) throw new Error(`unexpected netstat -g output:\n${out}`);
  return lines.slice(sep + 1).filter((l) => l.trim() !== '').map((l) => {
    const [iface, users, group] = l.trim().split(/\s+/);
    return { iface: iface!, users: Number(users), group: group! };
  });
}

export const groupKey = (g: { iface: string; users: number; group: string }) => `${g.iface} ${g.users} ${g.group}`;

/**
 * Reads /sys/class/net/<if>/ for the iface collector. sysfs shows the network namespace of the
 * process that mounted it, not the reader's, so each NetView needs its own sysfs:
 * - the agent's own namespace (`self`): the `sys_root` option (default `/sys`);
 * - another namespace, seen through a pid: `<proc_root>/<pid>/root/sys`, i.e. the /sys mounted
 *   in that process's mount namespace. Containers and `ip netns exec` mount a sysfs of their own
 *   network namespace there.
 * A candidate is used only when it matches the namespace: its class/net holds exactly the
 * interfaces of that namespace's net/dev (and the ifindexes known from if_inet6 agree).
 * Otherwise MTU, flags and the rest are left out for that view (see README).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export async function readSysText(path: string): Promise<string | null> {
  try {
    return (await readFile(path, 'latin1')).trim();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENODEV' || code === 'EINVAL' || code === 'EACCES') return null;
    throw err;
  }
}

/** Entries of class/net that are not interfaces. */
const NOT_INTERFACES = new Set(['bonding_masters']);

/**
 * True when `<sysRoot>/class/net` lists exactly `names` and every ifindex in `ifindexes` matches.
 */
export async function sysfsMatches(
  sysRoot: string,
  names: readonly string[],
  ifindexes: ReadonlyMap<string, number>,
): Promise<boolean> {
  let entries: string[];
  try {
    entries = (await readdir(join(sysRoot, 'class', 'net'))).filter((e) => !NOT_INTERFACES.has(e));
  } catch {
    return false;
  }
  if (entries.length !== names.length) return false;
  const set = new Set(entries);
  if (!names.every((n) => set.has(n))) return false;
  for (const [name, idx] of ifindexes) {
    const text = await readSysText(join(sysRoot, 'class', 'net', name, 'ifindex'));
    if (text !== null && Number(text) !== idx) return false;
  }
  return true;
}

export interface SysInfo {
  mtu?: number;
  flags?: number;
  operstate?: string;
  address?: string;
  ifindex?: number;
  txqueuelen?: number;
  type?: number;
}

const FILES = ['mtu', 'flags', 'operstate', 'address', 'ifindex', 'tx_queue_len', 'type'] as const;

/** The attributes of one interface; those unreadable (interface gone meanwhile) are left out. */
export async function readSysInfo(sysRoot: string, name: string): Promise<SysInfo> {
  const dir = join(sysRoot, 'class', 'net', name);
  const [mtu, flags, operstate, address, ifindex, txq, type] = await Promise.all(FILES.map((f) => readSysText(join(dir, f))));
  const num = (s: string | null) => (s !== null && /^(0x[0-9a-fA-F]+|\d+)$/.test(s) ? Number(s) : undefined);
  const info: SysInfo = {};
  if (num(mtu) !== undefined) info.mtu = num(mtu);
  if (num(flags) !== undefined) info.flags = num(flags);
  if (operstate) info.operstate = operstate;
  if (address) info.address = address;
  if (num(ifindex) !== undefined) info.ifindex = num(ifindex);
  if (num(txq) !== undefined) info.txqueuelen = num(txq);
  if (num(type) !== undefined) info.type = num(type);
  return info;
}

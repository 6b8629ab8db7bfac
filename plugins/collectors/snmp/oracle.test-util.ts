/** Parsers of `nstat` and `netstat -s` output: the oracles of the snmp tests. */

/** `nstat -az`: `#kernel` then `Name value rate` lines. */
export function nstatCounters(out: string): Map<string, bigint> {
  const m = new Map<string, bigint>();
  for (const line of out.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const [name, value] = line.trim().split(/\s+/);
    m.set(name!, BigInt(value!));
  }
  return m;
}

/**
 * The `Key: value` lines of `netstat -s` (printed untranslated, under a `Section:` header):
 * nstat's name is Section+Key, e.g. `TcpExt:` / `TCPOrigDataSent: 6` → TcpExtTCPOrigDataSent.
 */
export function netstatSKeyValues(out: string): Map<string, number> {
  const m = new Map<string, number>();
  let section = '';
  for (const line of out.split('\n')) {
    const sec = /^(\w+):\s*$/.exec(line);
    if (sec) {
      section = sec[1]!;
      continue;
    }
    const kv = /^\s{4}(\w+): (\d+)\s*$/.exec(line);
    if (kv && section) m.set(section + kv[1], Number(kv[2]));
  }
  return m;
}

/** Parsers of what `conntrack -L` and `conntrack -S` print, and entries printed the same way: the oracles of the tests. */

export type Endpoint = { ip: string; port?: number };
export type Tuple = { icmp?: { type: number; code: number; id: number }; packets?: number; bytes?: number };
export type Entry = {
  network: { type: string; transport: string; iana_number: string };
  source: Endpoint;
  destination: Endpoint;
  conntrack: { state?: string; flags: string[]; mark?: number; original: Tuple; reply: Tuple & { source: Endpoint; destination: Endpoint } };
};

/** An entry as `conntrack -L` prints it, without the timeout, `use=` (ours counts our own read) and `zone=` (it omits zone 0). */
export function asConntrackLine(e: Entry): string {
  const tuple = (s: Endpoint, d: Endpoint, t: Tuple) => [
    `src=${s.ip}`, `dst=${d.ip}`,
    ...(t.icmp ? [`type=${t.icmp.type}`, `code=${t.icmp.code}`, `id=${t.icmp.id}`] : [`sport=${s.port}`, `dport=${d.port}`]),
    ...(t.packets !== undefined ? [`packets=${t.packets}`, `bytes=${t.bytes}`] : []),
  ];
  const c = e.conntrack;
  return [
    e.network.transport, e.network.iana_number, ...(c.state ? [c.state] : []),
    ...tuple(e.source, e.destination, c.original),
    ...(c.flags.includes('UNREPLIED') ? ['[UNREPLIED]'] : []),
    ...tuple(c.reply.source, c.reply.destination, c.reply),
    ...c.flags.filter((f) => f !== 'UNREPLIED').map((f) => `[${f}]`),
    ...(c.mark !== undefined ? [`mark=${c.mark}`] : []),
  ].join(' ');
}

/** `conntrack -L` lines, timeout (3rd field), use= and zone= dropped. */
export function conntrackList(out: string): string[] {
  return out.split('\n').filter((l) => /^\S+ +\d+ +\d+ /.test(l)).map((l) => {
    const t = l.trim().split(/ +/);
    return [t[0], t[1], ...t.slice(3).filter((x) => !/^(use|zone)=/.test(x))].join(' ');
  });
}

/** `conntrack -S` per CPU, under the names /proc/net/stat/nf_conntrack gives the same counters. */
const PROC_NAME: Record<string, string> = { error: 'icmp_error', clash_resolve: 'clashres', chaintoolong: 'chainlength' };
export function conntrackStats(out: string): Record<string, number>[] {
  return out.split('\n').filter((l) => l.startsWith('cpu=')).map((l) =>
    Object.fromEntries(l.trim().split(/\s+/).slice(1).map((kv) => {
      const [k, v] = kv.split('=');
      return [PROC_NAME[k!] ?? k!, Number(v)];
    })),
  );
}


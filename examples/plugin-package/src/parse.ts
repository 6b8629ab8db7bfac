/**
 * Parses /proc/net/softnet_stat: one line per CPU, columns in hex. Pure (no I/O), so it is tested
 * on captured text. Columns (net/core/net-procfs.c): 0 processed, 1 dropped, 2 time_squeeze,
 * 8 cpu_collision, 9 received_rps, 10 flow_limit_count, 11 backlog_len and 12 cpu (kernel 5.10+).
 */
export interface SoftnetRow {
  cpu: number;
  processed: number;
  dropped: number;
  time_squeeze: number;
  cpu_collision: number;
  received_rps: number;
  flow_limit_count: number;
  backlog_len?: number;
}

export interface ParseResult {
  rows: SoftnetRow[];
  /** Lines that are not 11 or more hex columns. */
  bad: string[];
}

export function parseSoftnet(text: string): ParseResult {
  const rows: SoftnetRow[] = [];
  const bad: string[] = [];
  let index = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const cols = line.trim().split(/\s+/);
    if (cols.length < 11 || !cols.every((c) => /^[0-9a-f]+$/i.test(c))) {
      bad.push(line);
      continue;
    }
    const n = cols.map((c) => parseInt(c, 16));
    const row: SoftnetRow = {
      // Offline CPUs have no line; the 13th column, where present, says which CPU a line is.
      cpu: n.length >= 13 ? n[12]! : index,
      processed: n[0]!,
      dropped: n[1]!,
      time_squeeze: n[2]!,
      cpu_collision: n[8]!,
      received_rps: n[9]!,
      flow_limit_count: n[10]!,
    };
    if (n.length >= 12) row.backlog_len = n[11]!;
    rows.push(row);
    index++;
  }
  return { rows, bad };
}

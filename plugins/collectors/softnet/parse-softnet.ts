/**
 * /proc/net/softnet_stat: one line per CPU of the per-CPU packet-receive state (struct
 * softnet_data), every value `%08x` (u32, hex). Which columns there are depends on the kernel
 * that wrote the file (net/core/net-procfs.c, softnet_seq_show; before 3.10 net/core/dev.c):
 *
 * | columns | kernels          | adds                                                        |
 * |---------|------------------|-------------------------------------------------------------|
 * | 9       | 2.6.23 – 2.6.34  | processed dropped time_squeeze 0 0 0 0 0 cpu_collision     |
 * | 10      | 2.6.35 – 3.10    | received_rps                                                |
 * | 11      | 3.11 – 5.9       | flow_limit_count                                            |
 * | 13      | 5.10 – 6.3       | backlog_len, cpu (the CPU's id; cpu_collision is 0 from now on) |
 * | 15      | 6.4 –            | input_qlen, process_qlen (backlog_len is their sum)         |
 *
 * Columns 4-8 were fastroute counters and are always 0; they are not reported. Offline CPUs have
 * no line, so before 5.10 (no cpu column) a line's position is its CPU's only among online CPUs.
 * A line of a width no kernel wrote is read by the widest known layout it holds, and its extra
 * columns are counted. Pure functions, no I/O.
 */
import { MalformedTally } from '../../../src/collect/malformed.js';
import { blankFields } from '../../../src/collect/proc-text.js';

/** Counters (monotonic, u32: they wrap at 2^32) by column index, per layout width. */
const COUNTERS: Record<number, readonly (readonly [string, number])[]> = {
  9: [['processed', 0], ['dropped', 1], ['time_squeeze', 2], ['cpu_collision', 8]],
  10: [['processed', 0], ['dropped', 1], ['time_squeeze', 2], ['cpu_collision', 8], ['received_rps', 9]],
  11: [['processed', 0], ['dropped', 1], ['time_squeeze', 2], ['cpu_collision', 8], ['received_rps', 9], ['flow_limit_count', 10]],
  13: [['processed', 0], ['dropped', 1], ['time_squeeze', 2], ['received_rps', 9], ['flow_limit_count', 10]],
  15: [['processed', 0], ['dropped', 1], ['time_squeeze', 2], ['received_rps', 9], ['flow_limit_count', 10]],
};
/** Gauges (queue lengths now) by column index, per layout width. */
const GAUGES: Record<number, readonly (readonly [string, number])[]> = {
  9: [], 10: [], 11: [],
  13: [['backlog_len', 11]],
  15: [['backlog_len', 11], ['input_qlen', 13], ['process_qlen', 14]],
};
const CPU_COLUMN = 12;
const WIDTHS = [15, 13, 11, 10, 9];

export interface SoftnetRow {
  /** The CPU's id (the `cpu` column), or before 5.10 the line's position. */
  cpu: number;
  /** Counter name → value, in the kernel's column order. */
  counters: [string, number][];
  /** Gauge name → value (queue lengths), empty before 5.10. */
  gauges: [string, number][];
}

export interface ParsedSoftnet {
  rows: SoftnetRow[];
  /** The columns per line the kernel wrote (of the first good line), 0 when none. */
  width: number;
  /** Columns beyond the widest known layout, summed over the lines. */
  unknownColumns: number;
  malformed: MalformedTally;
}

const HEX8 = /^[0-9a-fA-F]{1,8}$/;

export function parseSoftnet(text: string): ParsedSoftnet {
  const malformed = new MalformedTally();
  const rows: SoftnetRow[] = [];
  let width = 0;
  let unknownColumns = 0;
  let position = 0;
  for (const line of text.split('\n')) {
    const f = blankFields(line);
    if (f.length === 0) continue;
    const layout = WIDTHS.find((w) => w <= f.length);
    if (layout === undefined || !f.every((v) => HEX8.test(v))) {
      malformed.add(line);
      position++; // still a CPU's line
      continue;
    }
    if (width === 0) width = f.length;
    unknownColumns += f.length - layout;
    const v = f.map((h) => parseInt(h, 16));
    rows.push({
      cpu: layout >= 13 ? v[CPU_COLUMN]! : position,
      counters: COUNTERS[layout]!.map(([name, i]) => [name, v[i]!]),
      gauges: GAUGES[layout]!.map(([name, i]) => [name, v[i]!]),
    });
    position++;
  }
  return { rows, width, unknownColumns, malformed };
}

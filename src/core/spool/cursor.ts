/**
 * The spool's ledger: one line "v1 <seg> <offset> <sentSeg> <sentOffset> <crc>" padded to 64 bytes
 * in the file `cursor`, rewritten in place. `commit` is the position up to which the destination
 * acknowledged everything; `sent` the position up to which records were handed to it. What lies
 * between the two is sent again after a restart and counted as possible duplicates.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Serial } from '../serial.js';
import { crc32c } from './frames.js';

export interface Pos {
  seg: number;
  off: number;
}

export function posLE(a: Pos, b: Pos): boolean {
  return a.seg < b.seg || (a.seg === b.seg && a.off <= b.off);
}

const CURSOR_SIZE = 64;

export class Cursor {
  private fd: fsp.FileHandle | null = null;
  /** Writes are serialized; each writes the positions current when it runs. */
  private readonly writes = new Serial();

  constructor(
    private readonly file: string,
    private readonly mode: number,
  ) {}

  static in(dir: string, mode: number): Cursor {
    return new Cursor(path.join(dir, 'cursor'), mode);
  }

  /**
   * Opens (creating) the file. Returns the positions it holds, `empty` for a new spool, or
   * `damaged` when the line is unreadable: the caller then starts at its oldest segment (re-sends,
   * never losses).
   */
  async open(): Promise<{ commit: Pos; sent: Pos } | 'empty' | 'damaged'> {
    await (await fsp.open(this.file, 'a', this.mode)).close();
    this.fd = await fsp.open(this.file, 'r+');
    const text = await fsp.readFile(this.file, 'utf8');
    if (text.length === 0) return 'empty';
    const m = /^v1 (\d+) (\d+) (\d+) (\d+) (\d+)/.exec(text);
    if (!m || crc32c(Buffer.from(`v1 ${m[1]} ${m[2]} ${m[3]} ${m[4]}`)) !== Number(m[5])) return 'damaged';
    return { commit: { seg: Number(m[1]), off: Number(m[2]) }, sent: { seg: Number(m[3]), off: Number(m[4]) } };
  }

  /** Rewrites the line; `positions` is read when the write runs, so a later state wins. */
  write(positions: () => { commit: Pos; sent: Pos }, sync: boolean): Promise<void> {
    return this.writes.run(async () => {
      const fd = this.fd;
      if (!fd) return;
      const { commit, sent } = positions();
      const body = `v1 ${commit.seg} ${commit.off} ${sent.seg} ${sent.off}`;
      const line = `${body} ${crc32c(Buffer.from(body))}`.padEnd(CURSOR_SIZE - 1) + '\n';
      await fd.write(Buffer.from(line), 0, CURSOR_SIZE, 0);
      if (sync) await fd.datasync();
    });
  }

  async close(): Promise<void> {
    await this.writes.idle();
    await this.fd?.close().catch(() => {});
    this.fd = null;
  }
}

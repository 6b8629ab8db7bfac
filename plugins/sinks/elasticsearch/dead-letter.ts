/**
 * The dead-letter file: events the node rejected for good (a mapping conflict, an invalid value),
 * one JSON object per line with why, where they were going and the event itself, so that nothing
 * is dropped silently and an operator can fix the mapping and re-send them (`_bulk` of the
 * `event` members). Private to the agent's user; renamed to `<path>.1` at max_size.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { BulkItemError } from './bulk.js';

export interface DeadLetter {
  readonly destination: string;
  readonly status: number;
  readonly error: BulkItemError;
  /** The event as it was sent: one line of JSON. */
  readonly event: string | Buffer;
}

export class DeadLetterFile {
  private fd: fsp.FileHandle | null = null;
  private size = 0;
  /** Appends are serialized; a failing one leaves the next to try again. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly maxBytes: number,
  ) {}

  /** Appends the letters; resolves once they are written (not fsynced: they are rare). */
  write(letters: readonly DeadLetter[]): Promise<void> {
    const run = this.chain.then(() => this.append(letters));
    this.chain = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.chain;
    await this.fd?.close().catch(() => {});
    this.fd = null;
  }

  private async append(letters: readonly DeadLetter[]): Promise<void> {
    const at = new Date().toISOString();
    const lines = letters.map((l) => {
      const head = JSON.stringify({ '@timestamp': at, destination: l.destination, status: l.status, error: l.error });
      return `${head.slice(0, -1)},"event":${String(l.event)}}\n`;
    });
    const data = Buffer.from(lines.join(''));
    if (!this.fd) await this.open();
    if (this.size > 0 && this.size + data.length > this.maxBytes) {
      await this.fd!.close();
      this.fd = null;
      await fsp.rename(this.file, `${this.file}.1`);
      await this.open();
    }
    await this.fd!.write(data);
    this.size += data.length;
  }

  private async open(): Promise<void> {
    await fsp.mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    this.fd = await fsp.open(this.file, 'a', 0o600);
    this.size = (await this.fd.stat()).size;
  }
}

import { createReadStream, createWriteStream, fsyncSync, writeSync } from 'node:fs';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { Logger } from 'pino';
import { inject, injectable } from 'tsyringe';
import { SinkError } from '../../../src/core/errors.js';
import { LineBuffer } from '../../../src/core/line-buffer.js';
import type { Sink, SinkEvent } from '../../../src/core/plugin.js';
import { TOKENS } from '../../../src/core/tokens.js';
import { parseSize } from '../../../src/core/units.js';
import type { FileSinkOptions } from './index.js';

/** Errors that an operator can fix while the agent keeps running (a full disk, a wrong mode). */
const RETRIABLE = new Set(['ENOSPC', 'EACCES', 'EPERM', 'EROFS', 'ENOENT', 'EIO', 'EDQUOT', 'EMFILE', 'ENFILE']);

@injectable()
export class FileSink implements Sink {
  private handle: FileHandle | null = null;
  private size = 0;
  private readonly maxSize: number;
  private compressing: Promise<void> = Promise.resolve();
  /** Only regular files rotate: never rename /dev/null or a named pipe. */
  private rotates = true;
  private readonly lines = new LineBuffer();

  constructor(
    @inject(TOKENS.PluginOptions) private readonly options: FileSinkOptions,
    @inject(TOKENS.Logger) private readonly logger: Logger,
  ) {
    this.maxSize = parseSize(options.max_size)!;
  }

  async open(): Promise<void> {
    try {
      await mkdir(dirname(this.options.path), { recursive: true });
      this.handle = await open(this.options.path, 'a', parseInt(this.options.mode, 8));
      const stat = await this.handle.stat();
      this.size = stat.size;
      this.rotates = stat.isFile();
    } catch (err) {
      throw this.error('cannot open for appending', err);
    }
  }

  /**
   * Writes whole lines only, and rotates between lines so that no file grows past max_size
   * (a single line longer than max_size gets a file of its own). Lines are copied straight into
   * one reused buffer: no joined batch string, no copy of it.
   */
  async write(batch: readonly SinkEvent[]): Promise<void> {
    const lines = this.lines;
    lines.clear();
    for (const event of batch) {
      const line = event.bytes;
      if (!lines.fits(line)) {
        await this.append(lines.length);
        lines.clear();
      }
      const start = lines.push(line);
      if (this.rotates && this.size + lines.length > this.maxSize && this.size + start > 0) {
        await this.append(start);
        await this.rotate();
        lines.dropBefore(start);
      }
    }
    await this.append(lines.length);
  }

  async close(): Promise<void> {
    await this.compressing;
    await this.handle?.close();
    this.handle = null;
  }

  /**
   * Writes the first `length` bytes of the line buffer. Synchronously, as pino does: a batch to a local
   * file takes milliseconds, and its events then die young instead of outliving several garbage
   * collections while an asynchronous write is pending (at 100k events a cycle that halves the CPU).
   */
  private async append(length: number): Promise<void> {
    if (length === 0) return;
    if (!this.handle) await this.open();
    try {
      let offset = 0;
      while (offset < length) offset += writeSync(this.handle!.fd, this.lines.bytes, offset, length - offset);
      if (this.options.fsync === 'batch') fsyncSync(this.handle!.fd);
    } catch (err) {
      // Cut off a partly written chunk, so that the retried batch does not follow a torn line.
      await this.handle!.truncate(this.size).catch(() => undefined);
      throw this.error('write failed', err);
    }
    this.size += length;
  }

  /** path → path.1 → path.2 …, dropping what is past max_files. */
  private async rotate(): Promise<void> {
    await this.compressing;
    await this.handle?.close();
    this.handle = null;
    const { path, max_files: keep, compress } = this.options;
    const suffix = compress ? '.gz' : '';
    await rm(`${path}.${keep}${suffix}`, { force: true });
    for (let n = keep - 1; n >= 1; n--) await rename(`${path}.${n}${suffix}`, `${path}.${n + 1}${suffix}`).catch(ignoreMissing);
    if (keep === 0) await rm(path, { force: true });
    else if (compress) {
      await rename(path, `${path}.1`).catch(ignoreMissing);
      this.compressing = gzipAndRemove(`${path}.1`).catch((err) => this.logger.error({ err, path }, 'compressing rotated file failed'));
    } else await rename(path, `${path}.1`).catch(ignoreMissing);
    await this.open();
  }

  private error(what: string, err: unknown): SinkError {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    return new SinkError(`${this.options.path}: ${what}: ${(err as Error).message}`, RETRIABLE.has(code), { cause: err });
  }
}

function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}

async function gzipAndRemove(file: string): Promise<void> {
  await pipeline(createReadStream(file), createGzip(), createWriteStream(`${file}.gz.tmp`));
  await rename(`${file}.gz.tmp`, `${file}.gz`);
  await rm(file);
}

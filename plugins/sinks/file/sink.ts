import { constants, createWriteStream, fsyncSync, statSync, writeSync, type Stats } from 'node:fs';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { Logger } from 'pino';
import { inject, injectable } from 'tsyringe';
import { StampedEvent } from '../../../src/core/envelope.js';
import { SinkError } from '../../../src/core/errors.js';
import { LineBuffer } from '../../../src/core/line-buffer.js';
import type { Sink, SinkEvent } from '../../../src/core/plugin.js';
import { TOKENS } from '../../../src/core/tokens.js';
import { parseSize } from '../../../src/core/units.js';
import type { FileSinkOptions } from './index.js';

const NEWLINE = 0x0a;

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
  /** The file open, to tell when the path no longer leads to it (removed, replaced). */
  private opened: Stats | null = null;
  private readonly lines = new LineBuffer();
  private readonly mode: number;

  constructor(
    @inject(TOKENS.PluginOptions) private readonly options: FileSinkOptions,
    @inject(TOKENS.Logger) private readonly logger: Logger,
  ) {
    this.maxSize = parseSize(options.max_size)!;
    this.mode = parseInt(options.mode, 8);
  }

  async open(): Promise<void> {
    try {
      // A directory it creates: its files' mode, searchable where readable (0600 → 0700, 0640 → 0750).
      await mkdir(dirname(this.options.path), { recursive: true, mode: this.mode | ((this.mode & 0o444) >> 2) });
      this.handle = await openNoFollow(this.options.path, this.mode);
      this.opened = await this.handle.stat();
      this.size = this.opened.size;
      this.rotates = this.opened.isFile();
    } catch (err) {
      throw this.error('cannot open for appending', err);
    }
  }

  /**
   * Writes whole lines only, as the pipeline encoded them (mostly views of its blocks, no copy:
   * StampedEvent.ndjsonChunks).
   */
  async write(batch: readonly SinkEvent[]): Promise<void> {
    await this.reopenIfGone();
    for (const chunk of StampedEvent.ndjsonChunks(batch, this.lines)) await this.appendLines(chunk);
  }

  /**
   * Once a batch: a file whose path now leads elsewhere or nowhere (its directory removed, the file
   * deleted or moved by hand) would take the events into a deleted inode. It is reopened at its
   * path instead, creating the directory again.
   */
  private async reopenIfGone(): Promise<void> {
    if (!this.handle || !this.rotates || !this.opened) return;
    let now: Stats | null = null;
    try {
      now = statSync(this.options.path);
    } catch {
      // gone: reopened below
    }
    if (now && now.ino === this.opened.ino && now.dev === this.opened.dev) return;
    this.logger.warn({ path: this.options.path }, now ? 'file sink: the path leads to another file now; reopening it' : 'file sink: the file (or its directory) was removed; creating it again');
    await this.handle.close().catch(() => undefined);
    this.handle = null;
    await this.open();
  }

  async close(): Promise<void> {
    await this.compressing;
    await this.handle?.close();
    this.handle = null;
  }

  /**
   * Appends `lines` (whole lines, the last one ending with its newline), rotating between lines so
   * that no file grows past max_size; a single line longer than max_size gets a file of its own.
   */
  private async appendLines(lines: Buffer): Promise<void> {
    let rest = lines;
    while (rest.length > 0) {
      if (!this.rotates || this.size + rest.length <= this.maxSize) return this.append(rest);
      // The whole lines that fit; none: a fresh file, unless this one is empty and the line longer
      // than max_size.
      const room = this.maxSize - this.size;
      const fit = room > 0 ? rest.lastIndexOf(NEWLINE, room - 1) + 1 : 0;
      const take = fit > 0 ? fit : this.size === 0 ? rest.indexOf(NEWLINE) + 1 : 0;
      if (take === 0) await this.rotate();
      else {
        await this.append(rest.subarray(0, take));
        rest = rest.subarray(take);
      }
    }
  }

  /**
   * Writes `bytes`. Synchronously, as pino does: a batch to a local file takes milliseconds, and its
   * events then die young instead of outliving several garbage collections while an asynchronous
   * write is pending (at 100k events a cycle that halves the CPU).
   */
  private async append(bytes: Buffer): Promise<void> {
    if (!this.handle) await this.open();
    try {
      let offset = 0;
      while (offset < bytes.length) offset += writeSync(this.handle!.fd, bytes, offset, bytes.length - offset);
      if (this.options.fsync === 'batch') fsyncSync(this.handle!.fd);
    } catch (err) {
      // Cut off a partly written chunk, so that the retried batch does not follow a torn line.
      await this.handle!.truncate(this.size).catch(() => undefined);
      throw this.error('write failed', err);
    }
    this.size += bytes.length;
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
      this.compressing = gzipAndRemove(`${path}.1`, this.mode).catch((err) => this.logger.error({ err, path }, 'compressing rotated file failed'));
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

/**
 * Opens `path` for appending, creating it with `mode`, without following a symbolic link planted
 * there (one to a root-owned file would have the agent write into it). A link to what is no
 * regular file (`/dev/stdout`, a pipe) is followed: that is what such a path is for. The link's
 * target is checked on the descriptor opened, so it cannot be swapped in between.
 */
async function openNoFollow(path: string, mode: number): Promise<FileHandle> {
  try {
    return await open(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ELOOP') throw err;
  }
  // Without O_CREAT: a dangling link creates nothing.
  const handle = await open(path, constants.O_WRONLY | constants.O_APPEND);
  if ((await handle.stat()).isFile()) {
    await handle.close();
    throw Object.assign(new Error('is a symbolic link to a regular file; the file sink follows no link to a file (give the real path)'), { code: 'ELOOP' });
  }
  return handle;
}

/** gzips a rotated file into `file.gz` with the sink's mode, neither reading nor writing through a planted link. */
async function gzipAndRemove(file: string, mode: number): Promise<void> {
  const tmp = `${file}.gz.tmp`;
  await rm(tmp, { force: true });
  const source = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  await pipeline(source.createReadStream(), createGzip(), createWriteStream(tmp, { flags: 'wx', mode }));
  await rename(tmp, `${file}.gz`);
  await rm(file);
}

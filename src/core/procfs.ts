/**
 * The one reader of /proc for every collector: it honours `agent.proc_root` (a host /proc mounted
 * into a container) and knows which network namespaces to read `net/` files from.
 */
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventFields } from './plugin.js';

/** A network namespace, read through the `/proc/<pid>/net/` of one process inside it. */
export interface NetView {
  /** `self` for the agent's own namespace, otherwise a pid inside the namespace. */
  readonly pid: string;
  /** Added to every event read through this view (namespace, container id); empty for `self`. */
  readonly fields: EventFields;
}

export interface ProcFs {
  /** The proc root, e.g. `/proc` or `/host/proc`. */
  readonly root: string;
  /** The namespaces to read this cycle, each exactly once. */
  netViews(): Promise<readonly NetView[]>;
  /** The whole of `<root>/<pid>/net/<file>`, or null when it does not exist (e.g. IPv6 disabled). */
  readNet(view: NetView, file: string): Promise<Buffer | null>;
  /** The whole of `<root>/<relativePath>`, or null when it does not exist. */
  read(relativePath: string): Promise<Buffer | null>;
  /**
   * `<root>/<pid>/net/<file>` as a stream of chunks that each hold whole lines only (the last
   * chunk may end without a newline when the file does), or null when the file does not exist.
   * For big files (/proc/net/tcp at 100k sockets is 15 MB): no whole-file buffer, no string.
   * A chunk is a view of a reused buffer, valid only until the next iteration step or the end of
   * the stream: copy out what you keep. Optional so that test doubles may omit it: use
   * `netLineChunks()`, which falls back to `readNet()`.
   */
  readNetLines?(view: NetView, file: string, chunkSize?: number): Promise<AsyncIterable<Buffer> | null>;
}

/** Default read size of readNetLines: few syscalls, small enough to stay out of RSS figures. */
export const NET_CHUNK_SIZE = 256 * 1024;

/** `procfs.readNetLines()` where implemented, else the whole `readNet()` buffer as one chunk. */
export async function netLineChunks(
  procfs: ProcFs,
  view: NetView,
  file: string,
  chunkSize?: number,
): Promise<AsyncIterable<Buffer> | null> {
  if (procfs.readNetLines) return procfs.readNetLines(view, file, chunkSize);
  const whole = await procfs.readNet(view, file);
  return whole === null ? null : [whole] as unknown as AsyncIterable<Buffer>;
}

/**
 * The read buffers of finished streams, for the next ones. A fresh buffer per file and cycle lived
 * through several young-generation collections while the file was read, so each was moved to the
 * old generation, and outside V8's heap their memory piled up, 256 KiB a cycle, until a full
 * collection a minute or two later: 20–30 MB of a running agent's RSS.
 */
const spareBuffers: Buffer[] = [];
const SPARE_BUFFERS = 4;

/**
 * Streams a file in chunks ending on a line boundary, through one reused buffer that grows only
 * when a single line is longer than it. Null when the file does not exist.
 *
 * The reads are synchronous on purpose: for /proc/net files the kernel generates the text inside
 * read(), and measured at 100k sockets a readSync loop costs what `cat` costs while the
 * thread-pool reads of fs/promises cost twice as much CPU. A chunk is a whole buffer's worth:
 * the kernel hands out /proc text one page per read(), and yielding each page (27 sockets) made
 * the per-chunk work of the readers and of the sink workers behind them (~3,700 times per 100k
 * sockets) cost more than the parsing. Filling 256 KiB blocks for a few ms at most; the
 * generator lets the event loop run between chunks.
 */
export async function readLinesIfExists(
  path: string,
  chunkSize = NET_CHUNK_SIZE,
): Promise<AsyncIterable<Buffer> | null> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw err;
  }
  async function* chunks(): AsyncGenerator<Buffer> {
    let buf = (chunkSize === NET_CHUNK_SIZE ? spareBuffers.pop() : undefined) ?? Buffer.allocUnsafe(chunkSize);
    let filled = 0; // bytes held in buf (a carried partial line, then new data)
    try {
      for (;;) {
        if (filled === buf.length) {
          const bigger = Buffer.allocUnsafe(buf.length * 2);
          buf.copy(bigger, 0, 0, filled);
          buf = bigger;
        }
        const bytesRead = readSync(fd, buf, filled, buf.length - filled, null);
        if (bytesRead === 0) {
          if (filled > 0) yield buf.subarray(0, filled);
          return;
        }
        filled += bytesRead;
        if (filled < buf.length) continue;
        const lastNl = buf.lastIndexOf(10, filled - 1);
        if (lastNl < 0) continue; // no complete line yet: the buffer grows
        yield buf.subarray(0, lastNl + 1);
        buf.copy(buf, 0, lastNl + 1, filled);
        filled -= lastNl + 1;
      }
    } finally {
      closeSync(fd);
      // The last chunk is valid until the next step, and there is none: the buffer may serve another file.
      if (buf.length === NET_CHUNK_SIZE && spareBuffers.length < SPARE_BUFFERS) spareBuffers.push(buf);
    }
  }
  return chunks();
}

/** The pids under a proc root (its all-digit entries), ascending. */
export function listPids(root: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync(root)) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const pid = Number(name);
    if (Number.isSafeInteger(pid)) pids.push(pid);
  }
  return pids.sort((a, b) => a - b);
}

export const SELF_VIEW: NetView = Object.freeze({ pid: 'self', fields: Object.freeze({}) });

/** A missing file is "no data", not an error: IPv6 or a protocol may simply be absent. */
export async function readIfExists(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw err;
  }
}

/** Reads the agent's own network namespace under `root`. */
export class SelfProcFs implements ProcFs {
  constructor(readonly root: string) {}

  async netViews(): Promise<readonly NetView[]> {
    return [SELF_VIEW];
  }

  readNet(view: NetView, file: string): Promise<Buffer | null> {
    return readIfExists(join(this.root, view.pid, 'net', file));
  }

  readNetLines(view: NetView, file: string, chunkSize?: number): Promise<AsyncIterable<Buffer> | null> {
    return readLinesIfExists(join(this.root, view.pid, 'net', file), chunkSize);
  }

  read(relativePath: string): Promise<Buffer | null> {
    return readIfExists(join(this.root, relativePath));
  }
}

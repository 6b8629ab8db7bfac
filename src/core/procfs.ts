/**
 * The one reader of /proc for every collector: it honours `agent.proc_root` (a host /proc mounted
 * into a container) and knows which network namespaces to read `net/` files from.
 */
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

  read(relativePath: string): Promise<Buffer | null> {
    return readIfExists(join(this.root, relativePath));
  }
}

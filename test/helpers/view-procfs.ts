/**
 * ProcFs doubles for collector tests: a fixture directory standing in for `/proc/<pid>/net/`,
 * and the real /proc read through one pid inside a test network namespace.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import type { EventFields } from '../../src/core/plugin.js';
import { readIfExists, SelfProcFs, type NetView, type ProcFs } from '../../src/core/procfs.js';

/** net/<file> reads come from `dir/<file>`; a file absent there reads as null (as in /proc). */
export function fixtureProcFs(dir: string, fields: EventFields = {}): ProcFs {
  const view: NetView = { pid: 'fixture', fields };
  return {
    root: dir,
    netViews: async () => [view],
    readNet: (_view, file) => readIfExists(join(dir, file)),
    read: (rel) => readIfExists(join(dir, rel)),
  };
}

/** The real /proc, reading net/ through `pid` (a process inside a test namespace). */
export function namespaceProcFs(pid: string, fields: EventFields = {}): ProcFs {
  const base = new SelfProcFs('/proc');
  const view: NetView = { pid, fields };
  return {
    root: '/proc',
    netViews: async () => [view],
    readNet: (v, file) => base.readNet(v, file),
    read: (rel) => base.read(rel),
  };
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

export async function readText(path: string): Promise<string> {
  return readFile(path, 'utf8');
}
